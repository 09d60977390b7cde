"""Drain: customer-service messages queued with SQL (100,000 to 10,000 followers with open
windows), released by worker processes (`python -m scheduler`) against the mock platform in
its own process on loopback: messages/s, Postgres statements per delivered message
(pg_stat_statements), the workers' CPU per message, and whether anything was sent twice.

Baseline in the same run: a plain aiohttp client loop making the same calls to the same mock
(the ceiling of an HTTP client on this machine).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import time
from typing import Any

import aiohttp
import asyncpg

from bench import common, profile, world

ACCOUNT = "drain"
PREFIX = "odrain"
CUSTOM = "/cgi-bin/message/custom/send"


async def _seed(db: common.Database, mock: str, messages: int, followers: int) -> dict[str, float]:
    conn = await asyncpg.connect(db.admin_url)
    try:
        await world.sql_account(conn, ACCOUNT)
        await world.sql_followers(conn, ACCOUNT, PREFIX, followers)
        start = time.monotonic()
        # One message, one delivery and one `queued` transition each, as the API writes them.
        await conn.execute(
            """
            WITH m AS (
                INSERT INTO messages (account_id, type, recipient, content, status, release_at,
                                      expires_at, recipients_total)
                SELECT $1, 'customer_service', $2 || lpad((g % $4)::text, $5, '0'),
                       jsonb_build_object('msgtype', 'text',
                                          'text', jsonb_build_object('content', 'd' || g)),
                       'queued', now(), now() + interval '7 days', 1
                  FROM generate_series(0, $3 - 1) AS g
                RETURNING account_id, id, recipient
            ), d AS (
                INSERT INTO deliveries (account_id, message_id, openid, status, release_at)
                SELECT account_id, id, recipient, 'queued', now() FROM m
            )
            INSERT INTO message_transitions (account_id, message_id, status, detail)
            SELECT account_id, id, 'queued', '{"recipients": 1}' FROM m
            """,
            ACCOUNT,
            PREFIX,
            messages,
            followers,
            world.DIGITS,
        )
        await conn.execute("VACUUM ANALYZE")
        seeded = time.monotonic() - start
    finally:
        await conn.close()
    async with aiohttp.ClientSession() as session:
        await world.register_mock(session, mock, ACCOUNT, "http://127.0.0.1:9/unused", "service")
        await world.mock_followers(session, mock, ACCOUNT, PREFIX, followers)
    return {"seed_seconds": round(seeded, 2)}


def _baseline(mock: str, followers: int, calls: int, concurrency: int, seconds: float) -> Any:
    async def token() -> str:
        async with aiohttp.ClientSession() as session:
            return await world.mock_token(session, mock, ACCOUNT)

    out = subprocess.run(
        [
            str(common.BIN / "python"),
            "-m",
            "bench.http_client",
            mock,
            asyncio.run(token()),
            PREFIX,
            str(followers),
            str(calls),
            str(concurrency),
            str(seconds),
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
        cwd=common.ROOT,
    )
    return json.loads(out.stdout)


async def _pending(db: common.Database) -> bool:
    """Whether any delivery is still queued, held or being sent (two probes of the partial
    indexes the scheduler uses: polling must not cost what it measures)."""
    conn = await asyncpg.connect(db.admin_url)
    try:
        return bool(
            await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM deliveries WHERE status IN ('queued', 'held')"
                "                  AND release_at IS NOT NULL)"
                "    OR EXISTS (SELECT 1 FROM deliveries WHERE status = 'sending')"
            )
        )
    finally:
        await conn.close()


async def _sent(db: common.Database) -> int:
    conn = await asyncpg.connect(db.admin_url)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM deliveries WHERE account_id = $1 AND status = 'sent'",
                ACCOUNT,
            )
        )
    finally:
        await conn.close()


async def _mock_log(mock: str) -> list[list[Any]]:
    async with aiohttp.ClientSession() as session:
        log = world.SentLog(session, mock, ACCOUNT)
        await log.fetch()
        return log.entries


def run(
    server: common.Server,
    messages: int = 100_000,
    followers: int = 10_000,
    workers: int = 1,
    timeout: float = 300,
    baseline_seconds: float = 10,
    concurrency: int = 64,
    worker_flags: tuple[str, ...] = (),
    profile_seconds: int = 0,
) -> dict[str, Any]:
    mock_port = common.free_port()
    mock = f"http://127.0.0.1:{mock_port}"
    flags = (
        "--calls-per-second",
        "100000",
        "--concurrency",
        str(concurrency),
        *worker_flags,
    )
    summary: dict[str, Any] = {
        "benchmark": "drain",
        "messages": messages,
        "followers": followers,
        "workers": workers,
        "worker_flags": list(flags),
    }
    with (
        common.database(server, f"drain{workers}") as db,
        common.process(
            common.mock_args(mock_port), common.env(), f"{mock}/_mock/accounts", "mock"
        ) as mock_proc,
    ):
        summary.update(asyncio.run(_seed(db, mock, messages, followers)))
        common.log(f"drain: {messages} messages queued")
        if baseline_seconds:
            base = _baseline(mock, followers, messages, concurrency, baseline_seconds)
            summary["baseline_http_client"] = base
            common.log(f"drain baseline: plain aiohttp client {base['rps']:.0f} calls/s")
        asyncio.run(common.reset_statements(db))
        environ = common.gateway_env(db, 8080, WXGATE_WECHAT_API_BASE=mock)
        with contextlib.ExitStack() as stack:
            started = time.monotonic()
            procs = [
                stack.enter_context(
                    common.process(
                        common.worker_args(*flags),
                        environ,
                        common.listeners(db, i + 1),
                        f"worker {i + 1}",
                    )
                )
                for i in range(workers)
            ]
            ready = time.monotonic()
            cpu_before = [common.cpu_seconds(p.pid) for p in procs]
            mock_before = common.cpu_seconds(mock_proc.pid)
            pg_before = common.postgres_cpu_seconds(server)
            spy = (
                profile.record(procs[0].pid, profile_seconds, f"drain-worker{workers}")
                if profile_seconds
                else contextlib.nullcontext(None)
            )
            with spy as recorder:
                while time.monotonic() - ready < timeout:
                    if not asyncio.run(_pending(db)):
                        break
                    time.sleep(0.5)
            finished = time.monotonic()
            cpu = sum(common.cpu_seconds(p.pid) - b for p, b in zip(procs, cpu_before, strict=True))
            mock_cpu = common.cpu_seconds(mock_proc.pid) - mock_before
            pg_after = common.postgres_cpu_seconds(server)
            rss = [round(common.peak_rss_mb(p.pid), 1) for p in procs]
        sent = asyncio.run(_sent(db))
        stmts = asyncio.run(common.statements(db))
        summary["top_statements"] = asyncio.run(common.top_statements(db))
        entries = asyncio.run(_mock_log(mock))
    sends = [e for e in entries if e[1] == CUSTOM and str(e[4]).startswith("d")]
    ok = [e for e in sends if e[2] == 0]
    times = sorted(e[0] for e in ok)
    keys = [e[4] for e in ok]
    span = times[-1] - times[0] if len(times) > 1 else float("nan")
    summary.update(
        {
            "delivered": sent,
            "complete": sent >= messages,
            "mock_received": len(sends),
            "mock_refused": len(sends) - len(ok),
            "duplicates": len(keys) - len(set(keys)),
            # First to last send the mock received; the wall figure adds start-up and polling.
            "rate_msgs_per_s": round((len(times) - 1) / span, 1) if len(times) > 1 else 0.0,
            "wall_seconds": round(finished - ready, 2),
            "startup_seconds": round(ready - started, 2),
            "worker_cpu_us_per_msg": round(1e6 * cpu / max(sent, 1), 1),
            "mock_cpu_us_per_msg": round(1e6 * mock_cpu / max(sent, 1), 1),
            # The harness polls too, but a count every 0.5 s is noise next to the drain.
            "postgres_cpu_us_per_msg": None
            if pg_before is None or pg_after is None
            else round(1e6 * (pg_after - pg_before) / max(sent, 1), 1),
            "worker_peak_rss_mb": rss,
        }
    )
    if stmts is not None and sent:
        summary["statements"] = stmts
        summary["statements_per_msg"] = round(stmts["all"] / sent, 3)
        summary["statements_per_msg_without_tx_control"] = round(
            stmts["without_tx_control"] / sent, 3
        )
    else:
        summary["statements_per_msg"] = None
    if "baseline_http_client" in summary:
        summary["ratio_to_http_client"] = round(
            summary["rate_msgs_per_s"] / summary["baseline_http_client"]["rps"], 3
        )
    if profile_seconds and recorder is not None:
        summary["profile"] = {"worker": recorder.summary()}
    return summary


def report(summary: dict[str, Any]) -> str:
    lines = [
        f"drain: {summary['messages']} messages, {summary['followers']} followers,"
        f" {summary['workers']} worker(s)",
        f"  rate: {summary['rate_msgs_per_s']} msg/s (wall {summary['wall_seconds']} s),"
        f" delivered {summary['delivered']}, duplicates {summary['duplicates']}",
        f"  statements per message: {summary['statements_per_msg']}",
        f"  CPU per message: worker {summary['worker_cpu_us_per_msg']} us,"
        f" mock {summary['mock_cpu_us_per_msg']} us,"
        f" Postgres {summary['postgres_cpu_us_per_msg']} us;"
        f" worker peak RSS {summary['worker_peak_rss_mb']} MB",
    ]
    if "baseline_http_client" in summary:
        base = summary["baseline_http_client"]
        lines.append(
            f"  plain aiohttp client: {base['rps']:.0f} calls/s;"
            f" ratio {summary['ratio_to_http_client']}"
        )
    return "\n".join(lines)
