"""The console's endpoint, delivery and follower sync pages over HTTP (SPEC 7, 9, 10): no page
without a session, no POST without the CSRF token, another account's pages are 404 for a
scoped token, `read` cannot retry or replay (403), `send` cannot start a sync, and hostile
values in every new filter and form field are escaped or a 4xx, never a 5xx."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import asyncpg
import pytest

from tests.api.apihelp import Client
from tests.api.conftest import API_TOKEN
from tests.console import data
from tests.console import webhook_data as wd


@pytest.fixture
async def seeded(client: Client, pool: asyncpg.Pool) -> dict[str, Any]:
    ids = await data.seed(client, pool, "acme")
    await data.seed(client, pool, "other")
    ep = await wd.failing_endpoint(pool, "acme")
    other = await wd.failing_endpoint(pool, "other")
    return {**ids, "ep": ep.id, "other_ep": other.id}


def pages(s: dict[str, Any]) -> list[str]:
    return [
        "/console/accounts/acme/endpoints",
        f"/console/accounts/acme/endpoints/{s['ep']}",
        f"/console/accounts/acme/endpoints/{s['ep']}?status=failed",
        "/console/accounts/acme/syncs",
    ]


def posts(s: dict[str, Any], delivery: int) -> list[tuple[str, dict[str, str]]]:
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    base = f"/console/accounts/acme/endpoints/{s['ep']}"
    return [
        (f"{base}/deliveries/{delivery}/retry", {}),
        (f"{base}/replay", {"since": since}),
        ("/console/accounts/acme/syncs", {}),
    ]


async def _first_delivery(pool: asyncpg.Pool, account_id: str, eid: str) -> int:
    return int((await wd.deliveries(pool, account_id, eid))[0]["id"])


async def test_no_page_or_post_without_a_session_or_its_csrf(
    client: Client, pool: asyncpg.Pool, seeded: dict[str, Any]
) -> None:
    did = await _first_delivery(pool, "acme", seeded["ep"])
    for page in pages(seeded):
        resp = await client.get(page, allow_redirects=False)
        assert resp.status == 303 and resp.headers["Location"] == "/console/sign-in", page
    for url, form in posts(seeded, did):
        assert (await client.post(url, data=form, allow_redirects=False)).status == 403, url
    csrf = await data.sign_in(client, API_TOKEN)
    for url, form in posts(seeded, did):
        for bad in [{}, {"csrf": ""}, {"csrf": "forged"}, {"csrf": csrf + "x"}]:
            resp = await client.post(url, data={**form, **bad}, allow_redirects=False)
            assert resp.status == 403, (url, bad)
    # Nothing happened: the same deliveries, still failed; no sync.
    rows = await wd.deliveries(pool, "acme", seeded["ep"])
    assert [r["status"] for r in rows] == ["failed"] * 3
    assert await pool.fetchval("SELECT count(*) FROM follower_syncs") == 0


async def test_the_pages_show_endpoints_deliveries_and_attempts(
    client: Client, pool: asyncpg.Pool, seeded: dict[str, Any]
) -> None:
    await data.sign_in(client, API_TOKEN)
    for page in pages(seeded):
        resp = await client.get(page)
        assert resp.status == 200, page
        assert "<script>" not in await resp.text()
    listing = await (await client.get("/console/accounts/acme/endpoints")).text()
    assert "https://hooks.example/in?a=&lt;b&gt;" in listing and "every type" in listing
    assert "failing since 2 hours &lt;i&gt;" in listing and seeded["other_ep"] not in listing
    page = await (await client.get(f"/console/accounts/acme/endpoints/{seeded['ep']}")).text()
    assert page.count('class="card delivery"') == 3 and page.count('class="retry"') == 3
    assert page.count("&lt;script&gt;alert(&#39;answer&#39;)&lt;/script&gt;") == 3
    # Only the first 1 KiB of the answer is kept and shown.
    answer = re.search(r'<pre class="answer">([^<]*)</pre>', page)
    assert answer is not None and len(answer.group(1).replace("&lt;", "<")) < 1100
    assert "<td>500</td>" in page and "<td>12 ms</td>" in page
    assert 'id="replay"' in page
    pending = f"/console/accounts/acme/endpoints/{seeded['ep']}?status=pending"
    assert "No deliveries match." in await (await client.get(pending)).text()
    home = await (await client.get("/console/")).text()
    assert home.count("Endpoints failing: <b>1</b>") == 2
    account = await (await client.get("/console/accounts/acme")).text()
    assert account.count("<svg") == 3
    assert "Webhook deliveries per minute: 3 in the last hour" in account
    events = await (await client.get("/console/accounts/acme/events")).text()
    assert events.count(f'>{seeded["ep"]}</a> <span class="tag failed">failed</span>') == 3


async def test_retry_and_replay_from_the_console(
    client: Client, pool: asyncpg.Pool, seeded: dict[str, Any]
) -> None:
    csrf = await data.sign_in(client, API_TOKEN)
    did = await _first_delivery(pool, "acme", seeded["ep"])
    base = f"/console/accounts/acme/endpoints/{seeded['ep']}"
    resp = await client.post(
        f"{base}/deliveries/{did}/retry", data={"csrf": csrf}, allow_redirects=False
    )
    assert resp.status == 303 and resp.headers["Location"] == f"{base}?retried={did}"
    row = (await wd.deliveries(pool, "acme", seeded["ep"]))[0]
    assert row["status"] == "pending" and row["attempts"] == 1
    assert abs((row["next_attempt_at"] - dt.datetime.now(dt.UTC)).total_seconds()) < 60
    page = await (await client.get(resp.headers["Location"])).text()
    assert f"Delivery {did} is due again." in page
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    form = {"csrf": csrf, "since": since, "until": "", "event_types": "event.*"}
    resp = await client.post(f"{base}/replay", data=form, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == f"{base}?replayed=2"
    assert len(await wd.deliveries(pool, "acme", seeded["ep"])) == 5
    page = await (await client.get(resp.headers["Location"])).text()
    assert "2 deliveries queued by the replay." in page
    audit = await pool.fetch(
        "SELECT summary, status FROM audit_log WHERE via = 'console' ORDER BY id"
    )
    summaries = [(r["summary"], r["status"]) for r in audit]
    assert (f"retry delivery {did} of {seeded['ep']}", 303) in summaries
    assert (f"replay 2 events to {seeded['ep']}", 303) in summaries
    # Retry of a delivery of another endpoint or account: 404, nothing changed.
    theirs = await _first_delivery(pool, "other", seeded["other_ep"])
    resp = await client.post(f"{base}/deliveries/{theirs}/retry", data={"csrf": csrf})
    assert resp.status == 404
    assert (await wd.deliveries(pool, "other", seeded["other_ep"]))[0]["status"] == "failed"


async def test_scopes_and_other_accounts(
    client: Client, pool: asyncpg.Pool, seeded: dict[str, Any]
) -> None:
    did = await _first_delivery(pool, "acme", seeded["ep"])
    other_did = await _first_delivery(pool, "other", seeded["other_ep"])
    reader = await data.token(client, ["acme"], ["read"])
    csrf = await data.sign_in(client, reader["token"])
    for page in pages(seeded):
        assert (await client.get(page)).status == 200, page
    other_pages = [
        "/console/accounts/other/endpoints",
        f"/console/accounts/other/endpoints/{seeded['other_ep']}",
        "/console/accounts/other/syncs",
    ]
    for page in other_pages:
        resp = await client.get(page)
        assert resp.status == 404, page
        assert "no account &#39;other&#39;" in await resp.text()
    page = await (await client.get(f"/console/accounts/acme/endpoints/{seeded['ep']}")).text()
    assert 'class="retry"' not in page and 'id="replay"' not in page
    syncs = await (await client.get("/console/accounts/acme/syncs")).text()
    assert 'id="start-sync"' not in syncs
    for url, form in posts(seeded, did):
        resp = await client.post(url, data={**form, "csrf": csrf}, allow_redirects=False)
        assert resp.status == 403, url
    other_base = f"/console/accounts/other/endpoints/{seeded['other_ep']}"
    for url in [f"{other_base}/deliveries/{other_did}/retry", f"{other_base}/replay"]:
        resp = await client.post(url, data={"csrf": csrf, "since": "2026-01-01T00:00"})
        assert resp.status == 404, url
    assert [r["status"] for r in await wd.deliveries(pool, "acme", seeded["ep"])] == ["failed"] * 3
    await client.post("/console/sign-out", data={"csrf": csrf})
    # send may retry and replay but not start a sync (manage).
    sender = await data.token(client, ["acme"], ["send"], name="sender")
    csrf = await data.sign_in(client, sender["token"])
    retry, replay, sync = posts(seeded, did)
    for url, form in (retry, replay):
        resp = await client.post(url, data={**form, "csrf": csrf}, allow_redirects=False)
        assert resp.status == 303, url
    resp = await client.post(sync[0], data={"csrf": csrf}, allow_redirects=False)
    assert resp.status == 403
    assert await pool.fetchval("SELECT count(*) FROM follower_syncs") == 0
    theirs = "/console/accounts/other/syncs"
    assert (await client.post(theirs, data={"csrf": csrf})).status == 404


async def test_the_sync_page_and_its_start_button(
    client: Client, pool: asyncpg.Pool, seeded: dict[str, Any]
) -> None:
    await wd.finished_sync(pool, "acme", "45009 <b>reach max api daily quota limit</b>")
    await wd.finished_sync(pool, "acme", None)
    await wd.finished_sync(pool, "other", None)
    csrf = await data.sign_in(client, API_TOKEN)
    page = await (await client.get("/console/accounts/acme/syncs")).text()
    assert page.count('<tr class="sync">') == 2 and "25000 of 25000" in page
    assert "45009 &lt;b&gt;reach max api daily quota limit&lt;/b&gt;" in page
    assert page.index("completed") < page.index("failed")  # newest first
    resp = await client.post("/console/accounts/acme/syncs", data={"csrf": csrf})
    assert resp.status == 200 and resp.url.path == "/console/accounts/acme/syncs"
    page = await resp.text()
    assert page.count('<tr class="sync">') == 3 and "running" in page
    assert 'id="start-sync" disabled' in page
    again = await client.post("/console/accounts/acme/syncs", data={"csrf": csrf})
    assert again.status == 409 and "running" in await again.text()
    running = "SELECT count(*) FROM follower_syncs WHERE status = 'running'"
    assert await pool.fetchval(running) == 1


async def test_deliveries_and_syncs_come_in_keyset_pages(
    client: Client, pool: asyncpg.Pool, seeded: dict[str, Any]
) -> None:
    now = dt.datetime.now(dt.UTC)
    from gateway.store import webhook_log

    for _ in range(9):  # 3 + 27 deliveries
        await webhook_log.replay(pool, "acme", seeded["ep"], now - dt.timedelta(hours=1), now, None)
    for _ in range(30):
        await wd.finished_sync(pool, "acme", None)
    await data.sign_in(client, API_TOKEN)
    for path, item in [
        (f"/console/accounts/acme/endpoints/{seeded['ep']}", r'id="delivery-(\d+)"'),
        ("/console/accounts/acme/syncs", r'<tr class="sync"><td>(\d+)</td>'),
    ]:
        page = await (await client.get(path)).text()
        seen = re.findall(item, page)
        assert len(seen) == 25
        more = re.search(r'class="more" href="\?cursor=([^"&]+)', page)
        assert more is not None
        rest = await (await client.get(f"{path}?cursor={more.group(1)}")).text()
        later = re.findall(item, rest)
        assert len(later) == 5 and not set(later) & set(seen)
        assert max(map(int, later)) < min(map(int, seen))


HOSTILE_VALUES = [
    "<script>alert(1)</script>",
    '"><svg onload=alert(1)>',
    "' OR 1=1 --",
    "%00",
    "%ED%A0%80",
    "x" * 5000,
    "../../etc/passwd",
    "-1",
    "9" * 30,
    "2026-13-45T99:99",
    "%E2%80%AE",
]


def _ok(status: int, body: str) -> None:
    assert status < 500, body[:300]
    assert "<script>alert" not in body and "<svg onload" not in body


async def test_hostile_values_in_every_new_filter_and_form_field(
    client: Client, pool: asyncpg.Pool, seeded: dict[str, Any]
) -> None:
    csrf = await data.sign_in(client, API_TOKEN)
    did = await _first_delivery(pool, "acme", seeded["ep"])
    base = f"/console/accounts/acme/endpoints/{seeded['ep']}"
    filters = [
        ("/console/accounts/acme/endpoints", "cursor"),
        (base, "status"),
        (base, "cursor"),
        (base, "replayed"),
        (base, "retried"),
        (base, "nope"),
        ("/console/accounts/acme/syncs", "cursor"),
    ]
    for path, name in filters:
        for value in HOSTILE_VALUES:
            resp = await client.get(f"{path}?{name}={value}")
            _ok(resp.status, await resp.text())
            assert 400 <= resp.status < 500, (path, name, value)
        dup = await client.get(f"{path}?{name}=a&{name}=b")
        assert 400 <= dup.status < 500
    for value in HOSTILE_VALUES:
        for path in [
            f"/console/accounts/acme/endpoints/{value}",
            f"/console/accounts/{value}/endpoints",
            f"/console/accounts/{value}/syncs",
        ]:
            resp = await client.get(path)
            _ok(resp.status, await resp.text())
            assert 400 <= resp.status < 500, path
        for url in [
            f"{base}/deliveries/{value}/retry",
            f"/console/accounts/acme/endpoints/{value}/deliveries/{did}/retry",
            f"/console/accounts/acme/endpoints/{value}/replay",
        ]:
            resp = await client.post(url, data={"csrf": csrf, "extra": value})
            _ok(resp.status, await resp.text())
            assert 400 <= resp.status < 500, url
        for field in ["since", "until", "event_types"]:
            form = {"csrf": csrf, "since": "2026-01-01T00:00", field: value}
            resp = await client.post(f"{base}/replay", data=form)
            _ok(resp.status, await resp.text())
            assert 400 <= resp.status < 500, (field, value)
    now = dt.datetime.now(dt.UTC)
    hour = (now - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    periods = [
        {"since": hour, "until": (now - dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")},
        {"since": hour, "until": hour},
        {"since": "0001-01-01T00:00", "until": "9999-12-31T23:59"},
        {"since": "1970-01-01T00:00"},
        {"since": hour, "until": "2999-01-01T00:00"},
        {"since": (now + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")},
        {"since": hour, "event_types": "message.*, nope.*"},
        {"since": hour, "event_types": ",".join(["message.text"] * 65)},
        {"since": hour + "+99:00"},
        {},
    ]
    for period in periods:
        resp = await client.post(f"{base}/replay", data={"csrf": csrf, **period})
        body = await resp.text()
        _ok(resp.status, body)
        assert resp.status == 422, (period, resp.status)
    assert len(await wd.deliveries(pool, "acme", seeded["ep"])) == 3
    assert [r["status"] for r in await wd.deliveries(pool, "acme", seeded["ep"])] == ["failed"] * 3
    big = await client.post(f"{base}/replay", data={"csrf": csrf, "event_types": "x" * 100_000})
    assert big.status == 413
    multipart = await client.post(
        f"{base}/replay",
        data=b"--b\r\nbroken",
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    _ok(multipart.status, await multipart.text())
    assert (await client.get("/console/", allow_redirects=False)).status == 200
