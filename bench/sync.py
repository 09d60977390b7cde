"""Follower sync: an account whose 1,000,000 followers exist only on the (mock) platform,
seeded there without callbacks; `POST .../followers/sync` through the API; the time until
the worker has paged `user/get`, fetched every profile with `user/info/batchget` and
committed them, the rate, and the worker's peak memory.

Baseline in the same run: a plain aiohttp client loop paging the same mock the same way
(user/get pages, batchget in 100s, the same 8 calls at a time) and storing nothing. The
ratio is the sync's rate over the baseline's (target at least 0.5); the worker's peak RSS
target is under 250 MB.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import asyncpg

from bench import common, world

ACCOUNT = "syn"
CONCURRENCY = 8  # scheduler.syncs.FollowerSync's default


async def _baseline(mock: str, followers: int) -> dict[str, Any]:
    """Page the mock as the sync does, keeping nothing: the floor of the sync's time."""
    async with aiohttp.ClientSession() as session:
        token = await world.mock_token(session, mock, ACCOUNT)
        gate = asyncio.Semaphore(CONCURRENCY)
        seen, pages, cursor = 0, 0, ""
        started = time.monotonic()

        async def batch(openids: list[str]) -> int:
            body = {"user_list": [{"openid": o, "lang": "zh_CN"} for o in openids]}
            async with (
                gate,
                session.post(
                    f"{mock}/cgi-bin/user/info/batchget", params={"access_token": token}, json=body
                ) as resp,
            ):
                return len((await resp.json())["user_info_list"])

        while True:
            params = {"access_token": token, "next_openid": cursor}
            async with session.get(f"{mock}/cgi-bin/user/get", params=params) as resp:
                page = await resp.json()
            openids = (page.get("data") or {}).get("openid") or []
            if not openids:
                break
            chunks = [openids[i : i + 100] for i in range(0, len(openids), 100)]
            seen += sum(await asyncio.gather(*(batch(c) for c in chunks)))
            pages += 1
            cursor = page["next_openid"]
        seconds = time.monotonic() - started
    return {
        "baseline_seconds": round(seconds, 2),
        "baseline_followers": seen,
        "baseline_pages": pages,
        "baseline_rate": round(seen / seconds),
    }


async def _scenario(
    db: common.Database, gateway: str, followers: int, limit: float
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {common.API_TOKEN}"}
    async with aiohttp.ClientSession() as session:
        started = time.monotonic()
        async with session.post(
            f"{gateway}/api/v1/accounts/{ACCOUNT}/followers/sync", headers=headers, json={}
        ) as resp:
            if resp.status != 202:
                raise RuntimeError(f"sync refused: {resp.status} {await resp.text()}")
            sync_id = (await resp.json())["id"]
        conn = await asyncpg.connect(db.admin_url)
        try:
            deadline = time.monotonic() + limit
            while time.monotonic() < deadline:
                row = await conn.fetchrow(
                    "SELECT status, pages, followers_seen, error FROM follower_syncs"
                    " WHERE account_id = $1 AND id = $2",
                    ACCOUNT,
                    sync_id,
                )
                assert row is not None
                if row["status"] != "running":
                    break
                await asyncio.sleep(0.2)
            seconds = time.monotonic() - started
            stored = int(
                await conn.fetchval(
                    "SELECT count(*) FROM followers WHERE account_id = $1 AND subscribed",
                    ACCOUNT,
                )
            )
        finally:
            await conn.close()
    return {
        "status": row["status"],
        "error": row["error"],
        "pages": row["pages"],
        "followers_seen": row["followers_seen"],
        "followers_stored": stored,
        "sync_seconds": round(seconds, 2),
        "sync_rate": round(row["followers_seen"] / seconds),
        "complete": row["status"] == "completed" and stored == followers,
    }


async def _prepare(db: common.Database, mock: str, followers: int) -> None:
    conn = await asyncpg.connect(db.admin_url)
    try:
        await world.sql_account(conn, ACCOUNT)
    finally:
        await conn.close()
    async with aiohttp.ClientSession() as session:
        await world.register_mock(session, mock, ACCOUNT, "http://127.0.0.1:9/wechat", "service")
        path = f"{mock}/_mock/accounts/{world.app_id(ACCOUNT)}/followers/seed"
        async with session.post(path, json={"count": followers, "prefix": "osync_"}) as resp:
            resp.raise_for_status()


def run(server: common.Server, followers: int = 1_000_000, timeout: float = 900) -> dict[str, Any]:
    gateway_port, mock_port = common.free_port(), common.free_port()
    gateway, mock = f"http://127.0.0.1:{gateway_port}", f"http://127.0.0.1:{mock_port}"
    summary: dict[str, Any] = {"benchmark": "sync", "followers": followers}
    with (
        common.database(server, "sync") as db,
        common.process(common.mock_args(mock_port), common.env(), f"{mock}/_mock/accounts", "mock"),
    ):
        asyncio.run(_prepare(db, mock, followers))
        summary.update(asyncio.run(_baseline(mock, followers)))
        common.log(f"sync: baseline paged {followers} followers")
        with (
            common.process(
                common.serve_args(),
                common.gateway_env(db, gateway_port, WXGATE_WECHAT_API_BASE=mock),
                f"{gateway}/healthz",
                "gateway",
            ),
            common.process(
                common.worker_args(),
                common.gateway_env(db, 8080, WXGATE_WECHAT_API_BASE=mock),
                common.listeners(db, 1),
                "worker",
            ) as worker,
        ):
            rss_start = common.peak_rss_mb(worker.pid)
            summary.update(asyncio.run(_scenario(db, gateway, followers, timeout)))
            summary["worker_peak_rss_mb"] = round(common.peak_rss_mb(worker.pid), 1)
            summary["worker_rss_at_start_mb"] = round(rss_start, 1)
    summary["ratio_to_baseline"] = round(summary["sync_rate"] / summary["baseline_rate"], 2)
    return summary


def report(summary: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"sync: {summary['followers']} followers from the platform's list",
            f"  synced in {summary['sync_seconds']} s ({summary['sync_rate']}/s,"
            f" {summary['pages']} pages, {summary['status']})",
            f"  baseline (a client paging the same mock, storing nothing):"
            f" {summary['baseline_seconds']} s ({summary['baseline_rate']}/s);"
            f" ratio {summary['ratio_to_baseline']} (target >= 0.5)",
            f"  worker peak RSS {summary['worker_peak_rss_mb']} MB (target < 250)",
        ]
    )
