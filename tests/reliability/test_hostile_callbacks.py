"""Hostile callbacks against a `wxgate serve` subprocess, beyond tests/api/test_callbacks.py
(bad bodies, billion laughs, XXE, 10 MB, forged signatures, tampered or foreign ciphertext):
slow-loris uploads, replays, hypothesis-built fields through the whole handler, a flood of all of
them with the server's memory measured before and after, and a bounded account cache."""

from __future__ import annotations

import asyncio
import io
import random
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import hypothesis
import pytest
from hypothesis import strategies as st

from gateway.api import account_cache, callbacks
from gateway.wechat import crypto, signature, xmlcodec
from tests import wx
from tests.reliability import stack

BILLION_LAUGHS = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<xml><ToUserName>a</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&lol3;</Content><MsgId>1</MsgId></xml>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>a</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>"""


@pytest.fixture
async def gw(db_url: str, pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[stack.Gateway]:
    await wx.insert_account(pool, "acme", aes=True)
    async with stack.gateway(db_url, tmp_path / "serve.log") as gateway:
        yield gateway


async def _events(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM inbound_events"))


# -- slow-loris ------------------------------------------------------------------------------


async def _slow_upload(gw: stack.Gateway, stop: asyncio.Event) -> tuple[bytes, float, float]:
    """Headers promising 4000 bytes, 100 of them, then a byte every 0.3 s. Returns the answer,
    when it came and when the server closed the connection (seconds from the start)."""
    port = int(gw.base.rsplit(":", 1)[1])
    query, body = wx.callback(wx.text(create_time=int(time.time())))
    target = "/wechat/acme?" + "&".join(f"{k}={v}" for k, v in query.items())
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    writer.write(
        f"POST {target} HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
        f"Content-Length: 4000\r\n\r\n".encode()
        + body[:100]
    )

    async def trickle() -> None:
        for byte in body[100:]:
            if stop.is_set() or writer.is_closing():
                return
            writer.write(bytes([byte]))
            await asyncio.sleep(0.3)

    dripping = asyncio.create_task(trickle())
    try:
        answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 15)
        answered = time.monotonic() - started
        try:
            while await asyncio.wait_for(reader.read(65536), 15):
                pass
        except (ConnectionResetError, BrokenPipeError):
            pass
        closed = time.monotonic() - started
    finally:
        dripping.cancel()
        writer.close()
    return answer, answered, closed


@pytest.mark.slow
async def test_slow_loris_uploads_are_cut_off_while_others_are_served(
    gw: stack.Gateway, pool: asyncpg.Pool
) -> None:
    stop = asyncio.Event()
    lorises = [asyncio.create_task(_slow_upload(gw, stop)) for _ in range(50)]
    await asyncio.sleep(0.5)
    try:
        # WeChat's callbacks are served at once meanwhile.
        for n in range(10):
            fields = wx.text(f"ok{n}", create_time=int(time.time()), msg_id=900 + n)
            status, took = await gw.callback("acme", fields)
            assert status == 200 and took < 3.0
        results = await asyncio.gather(*lorises)
    finally:
        stop.set()
    for answer, answered, closed in results:
        assert answer.startswith(b"HTTP/1.1 408")
        assert callbacks.READ_TIMEOUT <= answered < callbacks.READ_TIMEOUT + 2
        assert closed - answered < 1.0  # disconnected, not left to linger
    assert await _events(pool) == 10


# -- replays ---------------------------------------------------------------------------------


async def _post(gw: stack.Gateway, query: dict[str, str], body: bytes) -> int:
    async with gw.session.post(f"{gw.base}/wechat/acme", params=query, data=body) as resp:
        await resp.read()
        return resp.status


async def test_replays(gw: stack.Gateway, pool: asyncpg.Pool) -> None:
    openid = "oReplay0000000000000000000001"
    now = int(time.time())
    subscribe = wx.callback(wx.event("subscribe", "", openid=openid, create_time=now - 60))
    unsubscribe = wx.callback(wx.event("unsubscribe", "", openid=openid, create_time=now - 30))
    assert await _post(gw, *subscribe) == 200
    assert await _post(gw, *unsubscribe) == 200
    stored = await _events(pool)

    # The same request again is WeChat's retry as far as anyone can tell: `success`, and
    # nothing changes (the follower who left does not come back).
    assert await _post(gw, *subscribe) == 200
    assert await _events(pool) == stored
    row = await pool.fetchrow("SELECT subscribed FROM followers WHERE openid = $1", openid)
    assert row is not None and row["subscribed"] is False

    # A capture replayed hours later (or stamped hours ahead): refused, nothing stored.
    for skew in (-2 * callbacks.MAX_SKEW, 2 * callbacks.MAX_SKEW):
        query = wx.signed_query(timestamp=str(now + skew))
        body = xmlcodec.build(wx.event("subscribe", "", openid=openid, create_time=now)).encode()
        assert await _post(gw, query, body) == 403
    for stamp in ("", "abc", "1e9", "-1", "9" * 40, "١٧٠٠٠٠٠٠٠٠"):
        query = wx.signed_query()
        query["timestamp"] = stamp
        query["signature"] = signature.sign(wx.TOKEN, stamp, query["nonce"])
        assert await _post(gw, query, subscribe[1]) == 403

    # Safe mode: a captured signed query cannot carry another ciphertext.
    first = wx.callback(wx.text("a", openid=openid, create_time=now), mode="safe")
    second = wx.callback(wx.text("b", openid=openid, create_time=now), mode="safe")
    assert await _post(gw, first[0], second[1]) == 403
    assert await _events(pool) == stored


# -- fuzzed fields through the whole handler -------------------------------------------------

JUNK = [
    "",
    " ",
    "0",
    "-1",
    "+1",
    "1_0",
    "1e9",
    "9" * 30,
    "٣",
    "\u202e",
    "o" * 200,
    "<b>",
    "&amp;",
    "'; DROP TABLE inbound_events; --",
    "\U0001f600" * 50,
    str(2**63),
    str(2**64),
    "4294967296",
]
KINDS = [
    "text",
    "image",
    "voice",
    "video",
    "shortvideo",
    "location",
    "link",
    "event",
    "file",
    "",
    "TEXT",
]
EVENTS = [
    "subscribe",
    "unsubscribe",
    "SCAN",
    "CLICK",
    "VIEW",
    "LOCATION",
    "TEMPLATESENDJOBFINISH",
    "MASSSENDJOBFINISH",
    "scancode_push",
    "",
    "Subscribe",
]
OPTIONAL = [
    "Content",
    "MsgId",
    "MsgID",
    "Event",
    "EventKey",
    "Ticket",
    "Latitude",
    "Longitude",
    "Precision",
    "PicUrl",
    "MediaId",
    "Status",
    "TotalCount",
    "SentCount",
    "ErrorCount",
    "Location_X",
    "Scale",
    "Label",
    "Url",
    "Title",
]
values = st.one_of(
    st.sampled_from(JUNK + EVENTS + KINDS),
    st.text(max_size=300),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)


ORIGINAL_ID = "gh_0123456789ab"  # tests.wx.insert_account's


@st.composite
def callbacks_fields(draw: st.DrawFn) -> dict[str, Any]:
    """Half: a valid message or event with a field or two gone wrong; half: anything."""
    now = int(time.time())
    openid = draw(st.sampled_from([wx.OPENID, "oFuzz0000000000000000000001"]) | values)
    if draw(st.booleans()):
        fields: dict[str, Any] = draw(
            st.sampled_from(
                [
                    wx.text(
                        "hi", openid=openid, create_time=now, msg_id=draw(st.integers(0, 10**9))
                    ),
                    wx.event(
                        draw(st.sampled_from(EVENTS)), draw(values), openid=openid, create_time=now
                    ),
                ]
            )
        )
        for name in draw(st.lists(st.sampled_from(sorted(fields)), max_size=2, unique=True)):
            fields[name] = draw(values)
        return fields
    fields = {
        "ToUserName": draw(values),
        "FromUserName": openid,
        "CreateTime": draw(st.sampled_from([str(now), *JUNK]) | values),
        "MsgType": draw(st.sampled_from(KINDS) | values),
    }
    for name in draw(st.lists(st.sampled_from(OPTIONAL), max_size=8, unique=True)):
        fields[name] = draw(values)
    return fields


@pytest.mark.slow
async def test_fuzzed_callbacks_are_stored_or_refused_never_a_500(
    gw: stack.Gateway, pool: asyncpg.Pool
) -> None:
    answers: dict[int, int] = {}

    @hypothesis.settings(
        max_examples=300,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    @hypothesis.given(
        fields=callbacks_fields(), mode=st.sampled_from(["plain", "safe", "compatible"])
    )
    def examples(fields: dict[str, Any], mode: str) -> None:
        try:
            query, body = wx.callback(fields, mode=mode)
        except (ValueError, crypto.CryptoError, xmlcodec.XmlError):
            hypothesis.reject()  # not even expressible as XML
        status = asyncio.run_coroutine_threadsafe(_post(gw, query, body), loop).result(30)
        answers[status] = answers.get(status, 0) + 1
        # Addressed to another account: refused (SPEC 2.2; an empty ToUserName is allowed
        # for MASSSENDJOBFINISH alone).
        to_user = str(fields.get("ToUserName", ""))
        allowed = (
            (200, 400) if to_user == ORIGINAL_ID else (200, 400, 403) if not to_user else (400, 403)
        )
        assert status in allowed, (status, fields, mode)

    # Hypothesis drives a synchronous function: run it in a thread, the requests on this loop.
    loop = asyncio.get_running_loop()
    await asyncio.to_thread(examples)
    assert answers.get(200, 0) > 20 and answers.get(400, 0) > 20, answers
    assert gw.proc.returncode is None
    assert (await gw.callback("acme", wx.text(create_time=int(time.time()))))[0] == 200


# -- memory under a hostile flood ------------------------------------------------------------


def _hostile_requests(n: int) -> list[tuple[dict[str, str], bytes | io.BytesIO, str]]:
    now = int(time.time())
    good_query, good_body = wx.callback(wx.text(create_time=now))
    out: list[tuple[dict[str, str], bytes | io.BytesIO, str]] = []
    for i in range(n):
        kind = i % 9
        if kind == 0:
            out.append(
                (wx.callback(wx.text(create_time=now), token="forged")[0], good_body, "acme")
            )
        elif kind == 1:
            out.append((wx.signed_query(), BILLION_LAUGHS, "acme"))
        elif kind == 2:
            out.append((wx.signed_query(), XXE, "acme"))
        elif kind == 3:
            out.append((wx.signed_query(), b"<xml><a>" * 4000, "acme"))
        elif kind == 4:
            query, body = wx.callback(
                wx.text(create_time=now), mode="safe", app_id="wxffffffffffffffff"
            )
            out.append((query, body, "acme"))
        elif kind == 5:
            encrypt = "A" * 64 + str(i)
            query = wx.signed_query()
            query["encrypt_type"] = "aes"
            query["msg_signature"] = signature.sign(
                wx.TOKEN, query["timestamp"], query["nonce"], encrypt
            )
            body = f"<xml><ToUserName>gh</ToUserName><Encrypt>{encrypt}</Encrypt></xml>".encode()
            out.append((query, body, "acme"))
        elif kind == 6:
            out.append((good_query, good_body, f"ghost{i}"))  # unknown accounts
        elif kind == 7:
            out.append((wx.signed_query(timestamp=str(now - 86400)), good_body, "acme"))
        else:
            out.append((wx.signed_query(), bytes(rng_bytes(i)), "acme"))
    return out


def rng_bytes(seed: int) -> bytes:
    return random.Random(seed).randbytes(2000)


async def _flood(gw: stack.Gateway, n: int, *, big: int) -> dict[int, int]:
    requests = _hostile_requests(n)
    statuses: dict[int, int] = {}
    limit = asyncio.Semaphore(32)

    async def one(query: dict[str, str], body: bytes | io.BytesIO, account: str) -> None:
        async with (
            limit,
            gw.session.post(f"{gw.base}/wechat/{account}", params=query, data=body) as resp,
        ):
            await resp.read()
            statuses[resp.status] = statuses.get(resp.status, 0) + 1

    await asyncio.gather(*(one(*r) for r in requests))
    for _ in range(big):  # 10 MB bodies, with and without a Content-Length
        await one(wx.signed_query(), io.BytesIO(b"x" * (10 * 1024 * 1024)), "acme")

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(160):
                yield b"x" * 65536

        try:
            await one(wx.signed_query(), chunks(), "acme")  # type: ignore[arg-type]
        except aiohttp.ClientError:
            statuses[-1] = statuses.get(-1, 0) + 1  # the server stopped reading: fine
    return statuses


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_memory_stays_flat_under_a_hostile_flood(
    gw: stack.Gateway, pool: asyncpg.Pool
) -> None:
    await _flood(gw, 1800, big=5)  # warm: caches, pools and allocator arenas fill up
    before = stack.rss_kib(gw.pid)
    fds_before = stack.open_fds(gw.pid)
    statuses = await _flood(gw, 9000, big=25)
    after = stack.rss_kib(gw.pid)
    assert set(statuses) <= {400, 403, 404, 413, -1}, statuses
    assert statuses[403] > 3000 and statuses[400] > 2000 and statuses[404] > 900
    assert await _events(pool) == 0
    growth_mib = (after - before) / 1024
    assert growth_mib < 10, f"RSS grew {growth_mib:.1f} MiB over 9,000 hostile requests"
    assert stack.open_fds(gw.pid) <= fds_before + 5
    assert (await gw.callback("acme", wx.text(create_time=int(time.time()))))[0] == 200


async def test_made_up_account_ids_do_not_grow_the_account_cache(pool: asyncpg.Pool) -> None:
    """Every callback URL names an account id; unknown ones are cached briefly (1 s) so a
    retry storm does not hit the database each time, but only so many are kept."""
    await wx.insert_account(pool, "acme")
    cache = account_cache.AccountCache(pool, max_entries=500)
    assert await cache.get("acme") is not None
    for n in range(2000):
        assert await cache.get(f"ghost{n}") is None
        if n % 100 == 0:
            assert await cache.get("acme") is not None  # in use: kept
    assert len(cache) == 500
    assert account_cache.MAX_ENTRIES <= 100_000
