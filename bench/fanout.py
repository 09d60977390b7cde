"""Fan-out: a service account with 1,000,000 subscribed followers (inserted with SQL); one
mass message `audience: {"all": true}` through the API; the time until every follower's
delivery is decided, their quota unit consumed and every openid-list batch submitted to the
mock (100 mass/send calls of 10,000 openids), and the worker's peak memory.

Baseline in the same run: the database's own floor, the time to INSERT ... SELECT the same
number of rows into a table shaped like `deliveries` (same columns and indexes).

The fan-out is one `mass_batches` row per mass/send call (issue 19): the worker expands the
audience into batches, taking every recipient's quota unit in the same statement, then sends
and records batch by batch; "decided, consumed, submitted" is the same end point as before
(the message no longer queued or sending, every recipient counted `sent`, every openid in an
accepted call).

Worker flags for this benchmark: `--mass-calls-per-minute 6000` (the scheduler's own
per-account mass rate, 60 calls a minute like the platform's, would make 100 calls take
over a minute by itself; the mock has no mass rate limit) and `--mass-rows-per-pass 20000`
(kept from the delivery path; a pass claims at least 8 batches). The mock does not hold a
million followers (it would need ~1 GB): it accepts the batches and its verdict names the
recipients it does not know; its job-finish pushes are delayed past the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import aiohttp
import asyncpg

from bench import common, profile, world

ACCOUNT = "fan"
PREFIX = "ofanio"
MASS = "/cgi-bin/message/mass/send"


async def _seed(db: common.Database, followers: int) -> dict[str, float]:
    conn = await asyncpg.connect(db.admin_url)
    try:
        await world.sql_account(conn, ACCOUNT)
        seeded = await world.sql_followers(conn, ACCOUNT, PREFIX, followers)
        await conn.execute("VACUUM ANALYZE followers")
        # The floor: the same number of rows written as the fan-out writes its deliveries.
        await conn.execute("CREATE TABLE bench_floor (LIKE deliveries INCLUDING ALL)")
        start = time.monotonic()
        await conn.execute(
            "INSERT INTO bench_floor (account_id, message_id, openid, status, release_at)"
            " SELECT f.account_id, 1, f.openid, 'queued', now()"
            "   FROM followers f WHERE f.account_id = $1 AND f.subscribed",
            ACCOUNT,
        )
        floor = time.monotonic() - start
        await conn.execute("DROP TABLE bench_floor")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()
    return {"seed_followers_seconds": round(seeded, 2), "floor_insert_seconds": round(floor, 2)}


async def _scenario(
    db: common.Database, gateway: str, mock: str, followers: int, limit: float
) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session:
        await world.register_mock(session, mock, ACCOUNT, f"{gateway}/wechat/{ACCOUNT}", "service")
        api = world.Api(session, gateway)
        log = world.SentLog(session, mock, ACCOUNT)
        body = {"type": "mass", "audience": {"all": True}, "content": world.text("fan-out")}
        started = time.time()
        status, message = await api.enqueue(ACCOUNT, body)
        accepted = time.time()
        if status != 202:
            raise RuntimeError(f"mass message refused: {status} {message}")
        conn = await asyncpg.connect(db.admin_url)
        try:
            deadline = time.monotonic() + limit
            state = "queued"
            while time.monotonic() < deadline:
                state = str(
                    await conn.fetchval(
                        "SELECT status FROM messages WHERE account_id = $1 AND id = $2",
                        ACCOUNT,
                        message["id"],
                    )
                )
                if state not in ("queued", "held", "sending"):
                    break
                await asyncio.sleep(0.2)
            decided = time.time()
            # Recipients by status: a service `all` mass keeps them in its batches (one row
            # per mass/send call), a lone one in a delivery.
            counts = {
                r["status"]: int(r["n"])
                for r in await conn.fetch(
                    "SELECT status, sum(n) AS n FROM ("
                    " SELECT status, count(*) AS n FROM deliveries"
                    "  WHERE account_id = $1 AND message_id = $2 GROUP BY status"
                    " UNION ALL SELECT status, sum(recipients) FROM mass_batches"
                    "  WHERE account_id = $1 AND message_id = $2 GROUP BY status) c"
                    " GROUP BY status",
                    ACCOUNT,
                    message["id"],
                )
            }
            units = int(
                await conn.fetchval(
                    "SELECT coalesce(sum(used), 0) FROM follower_mass_usage WHERE account_id = $1",
                    ACCOUNT,
                )
            )
        finally:
            await conn.close()
        await log.fetch()
    calls = [e for e in log.entries if e[1] == MASS]
    submitted = sum(int(e[3]) for e in calls if e[2] == 0)
    last_call = max((e[0] for e in calls), default=decided)
    return {
        "message_status": state,
        "api_seconds": round(accepted - started, 2),
        "total_seconds": round(max(decided, last_call) - started, 2),
        "mass_calls": len(calls),
        "openids_submitted": submitted,
        "deliveries": counts,
        "quota_units_used": units,
        "complete": submitted == followers and counts.get("sent", 0) == followers,
    }


def run(
    server: common.Server,
    followers: int = 1_000_000,
    timeout: float = 600,
    mass_rows_per_pass: int = 20_000,
    profile_seconds: int = 0,
) -> dict[str, Any]:
    gateway_port, mock_port = common.free_port(), common.free_port()
    gateway, mock = f"http://127.0.0.1:{gateway_port}", f"http://127.0.0.1:{mock_port}"
    summary: dict[str, Any] = {"benchmark": "fanout", "followers": followers}
    with common.database(server, "fanout") as db:
        summary.update(asyncio.run(_seed(db, followers)))
        common.log(f"fanout: {followers} followers seeded")
        flags = (
            "--calls-per-second",
            "1000",
            "--mass-calls-per-minute",
            "6000",
            "--mass-rows-per-pass",
            str(mass_rows_per_pass),
        )
        with (
            common.process(
                common.mock_args(mock_port, job_finish_delay=3600),
                common.env(),
                f"{mock}/_mock/accounts",
                "mock",
            ),
            common.process(
                common.serve_args(),
                common.gateway_env(db, gateway_port, WXGATE_WECHAT_API_BASE=mock),
                f"{gateway}/healthz",
                "gateway",
            ),
            common.process(
                common.worker_args(*flags),
                common.gateway_env(db, 8080, WXGATE_WECHAT_API_BASE=mock),
                common.listeners(db, 1),
                "worker",
            ) as worker,
        ):
            rss_start = common.peak_rss_mb(worker.pid)
            spy = (
                profile.record(worker.pid, profile_seconds, "fanout-worker")
                if profile_seconds
                else contextlib.nullcontext(None)
            )
            asyncio.run(common.reset_statements(db))
            with spy as recorder:
                summary.update(asyncio.run(_scenario(db, gateway, mock, followers, timeout)))
            summary["top_statements"] = asyncio.run(common.top_statements(db))
            summary["worker_peak_rss_mb"] = round(common.peak_rss_mb(worker.pid), 1)
            summary["worker_rss_at_start_mb"] = round(rss_start, 1)
        summary["worker_flags"] = list(flags)
    summary["ratio_to_floor"] = round(summary["total_seconds"] / summary["floor_insert_seconds"], 1)
    if profile_seconds and recorder is not None:
        summary["profile"] = {"worker": recorder.summary()}
    return summary


def report(summary: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"fanout: {summary['followers']} followers, one mass message to all",
            f"  decided and submitted in {summary['total_seconds']} s"
            f" (API answered in {summary['api_seconds']} s); {summary['mass_calls']} mass calls,"
            f" {summary['openids_submitted']} openids",
            f"  floor (INSERT ... SELECT of the same rows): {summary['floor_insert_seconds']} s;"
            f" ratio {summary['ratio_to_floor']}x",
            f"  worker peak RSS {summary['worker_peak_rss_mb']} MB",
        ]
    )
