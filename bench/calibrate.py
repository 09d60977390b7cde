"""The machine's own costs, measured in the same run, to read the other figures by: a
Postgres round trip (`SELECT 1`) and a one-row commit, in wall time and in CPU of the client
and of the server. A benchmark that makes N round trips and M commits per message can go no
faster than these allow on this machine."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg
import uvloop

from bench import common


async def _measure(server: common.Server, db: common.Database, n: int) -> dict[str, Any]:
    conn = await asyncpg.connect(db.url)
    out: dict[str, Any] = {}
    try:
        await conn.execute("CREATE TABLE bench_calibrate (id bigserial PRIMARY KEY, v text)")
        cases = (
            ("select_1", "SELECT 1", n),
            ("insert_commit", "INSERT INTO bench_calibrate (v) VALUES ('x')", n // 2),
        )
        for name, sql, count in cases:
            pg_before = common.postgres_cpu_seconds(server)
            cpu, start = time.process_time(), time.monotonic()
            for _ in range(count):
                await conn.execute(sql)
            wall, cpu = time.monotonic() - start, time.process_time() - cpu
            pg_after = common.postgres_cpu_seconds(server)
            out[name] = {
                "wall_us": round(1e6 * wall / count, 1),
                "client_cpu_us": round(1e6 * cpu / count, 1),
                "postgres_cpu_us": None
                if pg_before is None or pg_after is None
                else round(1e6 * (pg_after - pg_before) / count, 1),
            }
    finally:
        await conn.close()
    return out


def run(server: common.Server, statements: int = 4000) -> dict[str, Any]:
    with common.database(server, "calibrate") as db:
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        try:
            measured = asyncio.run(_measure(server, db, statements))
        finally:
            asyncio.set_event_loop_policy(None)
    return {"benchmark": "calibrate", "statements": statements, **measured}


def report(summary: dict[str, Any]) -> str:
    s, c = summary["select_1"], summary["insert_commit"]
    return (
        f"calibrate: SELECT 1 round trip {s['wall_us']} us (client CPU {s['client_cpu_us']} us,"
        f" Postgres CPU {s['postgres_cpu_us']} us); one-row commit {c['wall_us']} us"
        f" (Postgres CPU {c['postgres_cpu_us']} us)"
    )
