"""A worker killed mid-batch loses its leases to another; a worker stopped cleanly puts back
what it had not started. Template and mass sends are never repeated; customer-service sends
repeat only rows whose lease the killed worker held, and at most once each."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import datetime as dt
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg

from scheduler import lifecycle, ratelimit
from tests.integration import sched_helpers as h

ROOT = Path(__file__).resolve().parents[2]
CUSTOM = "/cgi-bin/message/custom/send"
TEMPLATE = "/cgi-bin/message/template/send"
MASS = "/cgi-bin/message/mass/send"
SENDS = (CUSTOM, TEMPLATE, MASS)


async def _start(db_url: str, api_base: str, log: Path) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WXGATE_")}
    env |= {
        "WXGATE_DATABASE_URL": db_url,
        "WXGATE_WECHAT_API_BASE": api_base,
        "WXGATE_LOG_LEVEL": "INFO",
        "XDG_RUNTIME_DIR": env.get("XDG_RUNTIME_DIR", "/tmp"),
    }
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "scheduler",
            "--lease-seconds=2",
            "--calls-per-second=1000",
            "--concurrency=8",
            "--tick-seconds=0.2",
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )


async def _until(check: Any, what: str, within: float) -> None:
    """Poll the database for a condition another process brings about, bounded."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {within}s")
        await asyncio.sleep(0.02)


async def _count(pool: asyncpg.Pool, status: str) -> int:
    n: int = await pool.fetchval("SELECT count(*) FROM deliveries WHERE status = $1", status)
    return n


async def test_killed_worker_is_taken_over_without_repeating_idempotent_sends(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory, tmp_path: Path
) -> None:
    now = dt.datetime.now(dt.UTC)
    followers = [f"u{i}" for i in range(100)]
    async with h.platform(aiohttp_server) as (mock, _client, sink):
        # One account per kind of send, so that each has calls in flight at the kill.
        for account in ("cs", "tpl", "mass"):
            await h.add_account(pool, account, "service")
            await mock.register(account, "service", sink)
            await mock.act_many(account, followers, "subscribe")
            await h.add_followers(
                pool, account, followers, window_ends_at=now + dt.timedelta(hours=40)
            )
        cs = [[o] for _ in range(2) for o in followers]
        await h.add_messages(
            pool, "cs", "customer_service", cs, at=now, contents=[_text(i) for i in range(len(cs))]
        )
        await h.add_messages(pool, "tpl", "template", [[o] for o in followers], at=now)
        groups = [followers[i : i + 4] for i in range(0, 100, 4)]  # 25 mass messages
        await h.add_messages(
            pool,
            "mass",
            "mass",
            groups,
            at=now,
            audience={"openids": followers},
            contents=[_text(f"mass-{i}") for i in range(len(groups))],
        )
        total = await pool.fetchval("SELECT count(*) FROM deliveries")
        for path in SENDS:  # slow WeChat: calls are in flight when the worker dies
            await mock.fault(path=path, latency_ms=300, rate=1)
        log = tmp_path / "worker.log"

        first = await _start(db_url, mock.base, log)
        try:
            await _until(lambda: _progress(pool), "sends under way", 30)
            await _until(lambda: _caught(pool, mock, first), "a call carried out, unrecorded", 30)
        finally:
            first.kill()
            await first.wait()
        # The customer-service rows leased at the kill: the only ones a take-over may repeat.
        leased = await pool.fetch(
            "SELECT m.content->'text'->>'content' AS text FROM deliveries d"
            " JOIN messages m ON m.account_id = d.account_id AND m.id = d.message_id"
            " WHERE d.status = 'sending' AND d.account_id = 'cs'"
        )
        in_flight = {r["text"] for r in leased}
        await mock.clear_faults()

        second = await _start(db_url, mock.base, log)
        try:
            await _until(lambda: _all_sent(pool, total), "every delivery sent", 60)
            second.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(second.wait(), 10) == 0  # a clean, prompt stop
        finally:
            if second.returncode is None:
                second.kill()
                await second.wait()
        assert "took over" in log.read_text()

        # customer service: at least once; a repeat only of a row leased at the kill (a call
        # in flight, or answered but its result not yet committed: the group commit writes
        # results after the call's slot is free, so there can be more than --concurrency=8),
        # and only once (the take-over's call)
        cs_log = [r for r in await mock.sent("cs") if r["delivered"]]
        texts = collections.Counter(r["body"]["text"]["content"] for r in cs_log)
        assert set(texts) == {f"m{i}" for i in range(len(cs))}
        repeated = {text for text, n in texts.items() if n > 1}
        assert repeated <= in_flight
        assert max(texts.values()) <= 2

        # templates: exactly once per recipient; the repeat of a call in flight at the kill
        # is answered by the platform's client_msg_id dedupe (the mock flags it)
        tpl_log = await mock.sent("tpl")
        templates = collections.Counter(r["body"]["touser"] for r in tpl_log if r["delivered"])
        assert templates == {o: 1 for o in followers}
        assert any(r["verdict"].startswith("duplicate") for r in tpl_log)

        # mass: every follower got each of its mass messages exactly once; repeats of a batch
        # in flight at the kill were refused by clientmsgid (45065) and counted as done
        mass_log = await mock.sent("mass")
        received = collections.Counter(
            (o, r["body"]["text"]["content"])
            for r in mass_log
            if r["delivered"]
            for o in r["body"]["touser"]
        )
        assert len(received) == 100 and set(received.values()) == {1}
        assert any(r["errcode"] == 45065 for r in mass_log)
        assert await pool.fetchval("SELECT max(used) FROM follower_mass_usage") == 1


async def _progress(pool: asyncpg.Pool) -> bool:
    """Every account has sent something and still has calls to make."""
    rows = await pool.fetch(
        "SELECT account_id, count(*) FILTER (WHERE status = 'sent') AS sent,"
        " count(*) FILTER (WHERE status = 'sending') AS sending"
        " FROM deliveries GROUP BY account_id"
    )
    return len(rows) == 3 and all(r["sent"] >= 4 and r["sending"] > 0 for r in rows)


async def _caught(pool: asyncpg.Pool, mock: h.Mock, worker: asyncio.subprocess.Process) -> bool:
    """Freeze the worker (SIGSTOP) at a moment when the platform has carried out a template
    call and a mass call whose results the worker has not recorded: the take-over repeats
    them, and the platform's deduplication must catch that. (A kill between two passes, every
    result recorded and the leftovers being put back, would test nothing.) Otherwise it goes
    on."""
    if not await _unrecorded(pool, mock):
        return False
    worker.send_signal(signal.SIGSTOP)
    if await _unrecorded(pool, mock):
        return True
    worker.send_signal(signal.SIGCONT)
    return False


async def _unrecorded(pool: asyncpg.Pool, mock: h.Mock) -> bool:
    for account in ("tpl", "mass"):
        # the platform's log first: what it shows carried out was done before the count
        carried = [r for r in await mock.sent(account) if r["delivered"]]
        recipients = sum(len(r["body"]["touser"]) if account == "mass" else 1 for r in carried)
        sent = await pool.fetchval(
            "SELECT count(*) FROM deliveries WHERE account_id = $1 AND status = 'sent'", account
        )
        if recipients <= sent:
            return False
    return True


async def _all_sent(pool: asyncpg.Pool, total: int) -> bool:
    return await _count(pool, "sent") == total


async def test_clean_stop_puts_back_what_never_started(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    now = dt.datetime.now(dt.UTC)
    followers = [f"u{i}" for i in range(100)]
    async with h.platform(aiohttp_server) as (mock, client, sink):
        await h.add_account(pool, "svc", "service")
        await mock.register("svc", "service", sink)
        await mock.act_many("svc", followers, "subscribe")
        await h.add_followers(pool, "svc", followers, window_ends_at=now + dt.timedelta(hours=40))
        await h.add_messages(pool, "svc", "customer_service", [[o] for o in followers], at=now)
        await mock.fault(path=CUSTOM, latency_ms=300, rate=1)
        opts = dataclasses.replace(
            h.FAST, limits=ratelimit.Limits(calls_per_second=1000, concurrency_per_account=4)
        )
        handle = await lifecycle.start_worker(
            h.settings(db_url, mock.base), pool, client=client, options=opts, worker_id="w1"
        )
        try:
            await mock.wait_sent("svc", 4, path=CUSTOM, within=10)
        finally:
            started = time.monotonic()
            await handle.stop()
            stopped_in = time.monotonic() - started
        assert stopped_in < 10
        statuses = await h.delivery_statuses(pool, "svc")
        assert "sending" not in statuses
        assert statuses["queued"] > 0 and statuses["sent"] == len(
            [r for r in await mock.sent("svc") if r["delivered"]]
        )
        put_back = await pool.fetch(
            "SELECT attempts, leased_by, release_at FROM deliveries WHERE status = 'queued'"
        )
        assert {(r["attempts"], r["leased_by"]) for r in put_back} == {(0, None)}


def _text(n: int | str) -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": n if isinstance(n, str) else f"m{n}"}}
