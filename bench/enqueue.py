"""The store's enqueue alone, without HTTP: `python -m bench.enqueue [COUNT]`.

Times `gateway.store.messages.enqueue_message` for COUNT customer-service messages (default
1,000, after 100 to warm up), one after another on a private Postgres, and prints the wall
time, the client's CPU and Postgres's CPU per enqueue, with the statements it ran.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
import time

import asyncpg

from bench import common, world
from gateway.store import messages
from gateway.store import pool as pool_mod

ACCOUNT = "bench-enqueue"
PREFIX = "oENQ__"
FOLLOWERS = 1000


def _message(i: int) -> messages.NewMessage:
    openid = world.openid(PREFIX, i % FOLLOWERS)
    return messages.NewMessage(
        type="customer_service",
        recipient=openid,
        audience=None,
        content=world.text(f"m{i}"),
        template=None,
        outside_window="hold",
        not_before=None,
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
        idempotency_key=None,
        request_hash=None,
        openids=[openid],
    )


async def _run(db: common.Database, count: int) -> None:
    conn = await asyncpg.connect(db.admin_url)
    try:
        await world.sql_account(conn, ACCOUNT)
        await world.sql_followers(conn, ACCOUNT, PREFIX, FOLLOWERS)
    finally:
        await conn.close()
    pool = await pool_mod.create(db.url)
    try:
        for i in range(100):
            await messages.enqueue_message(pool, ACCOUNT, _message(i))
        await common.reset_statements(db)
        pg_before = common.postgres_cpu_seconds(db.server)
        cpu_before, wall_before = time.process_time(), time.perf_counter()
        for i in range(count):
            await messages.enqueue_message(pool, ACCOUNT, _message(i))
        wall = time.perf_counter() - wall_before
        cpu = time.process_time() - cpu_before
        pg_after = common.postgres_cpu_seconds(db.server)
        top = await common.top_statements(db, 12)
    finally:
        await pool.close()
    pg = (
        "n/a"
        if pg_before is None or pg_after is None
        else f"{1e6 * (pg_after - pg_before) / count:.0f} us"
    )
    print(f"enqueue, {count} messages one after another, per message:")
    per = f"wall {1e6 * wall / count:.0f} us, client CPU {1e6 * cpu / count:.0f} us"
    print(f"  {per}, Postgres CPU {pg}")
    for statement in top:
        print(f"  {statement['calls']:>6} x {statement['query']}")


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with common.postgres() as server, common.database(server, "enqueue") as db:
        asyncio.run(_run(db, count))


if __name__ == "__main__":
    main()
