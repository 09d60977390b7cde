"""The webhook ingest benchmark of issue 16: callbacks stored for an account with one endpoint
against an account with none, in the same run, rounds interleaved (none, one, none, one, ...)
so that load from elsewhere on the machine falls on both sides alike; medians are compared.

- statement: the seed path's group-commit statement alone (`inbound.store_batch`, batches
  of 100, as the group committer forms them under load), one connection.
- http: signed callbacks from wrk (bench/callbacks.lua, one thread) through `wxgate serve`,
  each committed before its `success`; the path names the account (`/wechat/bench` without
  an endpoint, `/wechat/bench_ep` with one). No worker runs: the deliveries stay queued.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

import asyncpg

from bench import common
from gateway.domain import kinds, window
from gateway.store import inbound, webhooks
from gateway.store import pool as pool_mod
from gateway.wechat import signature

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
TOKEN = "benchtoken"
SCRIPT = common.ROOT / "bench" / "callbacks.lua"
ACCOUNTS = {"none": "bench", "one": "bench_ep"}  # side -> account id
ENDPOINT_URL = "https://hooks.example.com/x"


def record(account_id: str, n: int) -> inbound.EventRecord:
    """Callback `n` of a benchmark: a text message from one of 5,000 followers."""
    openid = f"oBench{n % 5000:06d}"
    fields = {
        "ToUserName": "gh_bench",
        "FromUserName": openid,
        "CreateTime": "1772366400",
        "MsgType": "text",
        "Content": f"hello {n}",
        "MsgId": str(n),
    }
    return inbound.EventRecord(
        account_id=account_id,
        kind=kinds.AccountKind.SERVICE,
        profile=window.RuleProfile.SEED,
        dedupe_key=f"m:{n}:{openid}",
        openid=openid,
        msg_type="text",
        event=None,
        event_key=None,
        msg_id=n,
        create_time=T0,
        received_at=dt.datetime.now(dt.UTC),
        fields=fields,
        scene=None,
    )


async def prepare(db: asyncpg.Pool) -> None:
    """Both accounts; `bench_ep` gets one endpoint taking every event type."""
    for n, account_id in enumerate(ACCOUNTS.values()):
        await db.execute(
            "INSERT INTO accounts (id, kind, app_id, app_secret, token, oauth_signing_key)"
            " VALUES ($1, 'service', $2, 's', $3, 'k')",
            account_id,
            f"wxbench{n:09d}",
            TOKEN,
        )
    await webhooks.create_endpoint(
        db,
        ACCOUNTS["one"],
        url=ENDPOINT_URL,
        description=None,
        event_types=None,
        disabled=False,
        rate_limit=None,
    )


def _ratio(per_side: dict[str, list[float]]) -> dict[str, Any]:
    none, one = common.median(per_side["none"]), common.median(per_side["one"])
    pairs = [o / z for o, z in zip(per_side["one"], per_side["none"], strict=True)]
    return {
        "per_second_no_endpoint": round(none),
        "per_second_one_endpoint": round(one),
        "ratio": round(one / none, 3),
        # Each round's "one" against the "none" just before it: less exposed to load swings.
        "ratio_paired_median": round(common.median(pairs), 3),
        "rounds_raw": {side: [round(v) for v in vs] for side, vs in per_side.items()},
    }


def statement(server: common.Server, callbacks: int, rounds: int) -> dict[str, Any]:
    """Callbacks stored per second through the seed statement, batches of 100."""
    with common.database(server, "wh_ingest") as db:
        per_side: dict[str, list[float]] = {"none": [], "one": []}
        out = asyncio.run(_statement_sides(db.url, callbacks, rounds, per_side))
        out.update(_ratio(per_side))
        return out


async def _statement_sides(
    url: str, callbacks: int, rounds: int, per_side: dict[str, list[float]]
) -> dict[str, Any]:
    db = await pool_mod.create(url, size=2)
    try:
        await prepare(db)
        n = 0
        cpu = {side: 0.0 for side in ACCOUNTS}
        async with db.acquire() as conn:
            backend = int(await conn.fetchval("SELECT pg_backend_pid()"))
            for _ in range(rounds):
                for side, account_id in ACCOUNTS.items():
                    records = [record(account_id, n + i) for i in range(1, callbacks + 1)]
                    n += callbacks
                    started, cpu_before = time.perf_counter(), common.cpu_seconds(backend)
                    for i in range(0, callbacks, 100):
                        await inbound.store_batch(conn, records[i : i + 100])
                    per_side[side].append(callbacks / (time.perf_counter() - started))
                    cpu[side] += common.cpu_seconds(backend) - cpu_before
        stored = int(await db.fetchval("SELECT count(*) FROM webhook_deliveries"))
    finally:
        await db.close()
    return {
        "callbacks_per_round": callbacks,
        "rounds": rounds,
        "deliveries": stored,
        # CPU of the Postgres backend running the statements, per callback: the part of the
        # cost that other load on the machine does not change.
        "backend_cpu_us_per_callback": {
            side: round(1e6 * seconds / (callbacks * rounds), 1) for side, seconds in cpu.items()
        },
    }


def http(server: common.Server, seconds: int, rounds: int, connections: int) -> dict[str, Any]:
    """Callbacks answered per second through `wxgate serve` (wrk), both accounts."""
    timestamp, nonce = str(int(time.time())), "415670741"
    query = (
        f"signature={signature.sign(TOKEN, timestamp, nonce)}&timestamp={timestamp}&nonce={nonce}"
    )
    per_side: dict[str, list[float]] = {"none": [], "one": []}
    cpu = {side: {"gateway": 0.0, "postgres": 0.0} for side in ACCOUNTS}
    requests = {side: 0 for side in ACCOUNTS}
    errors = 0
    with common.database(server, "wh_ingest_http") as db:

        async def setup() -> None:
            pool = await asyncpg.create_pool(db.url, min_size=1, max_size=1)
            try:
                await prepare(pool)
            finally:
                await pool.close()

        asyncio.run(setup())
        port = common.free_port()
        with common.process(
            common.serve_args(),
            common.gateway_env(db, port),
            f"http://127.0.0.1:{port}/healthz",
            name="gateway",
        ) as gateway:
            offset = 0
            for r in range(rounds):
                for side, account_id in ACCOUNTS.items():
                    offset += 1_000_000
                    lua_env = common.env(
                        WX_PATH=f"/wechat/{account_id}?{query}",
                        WX_BASE_TIME=timestamp,
                        WX_OFFSET=str(offset),
                    )
                    before = common.gateway_cpu_seconds(server, gateway.pid)
                    res = common.wrk(
                        f"http://127.0.0.1:{port}", seconds, connections, SCRIPT, lua_env
                    )
                    after = common.gateway_cpu_seconds(server, gateway.pid)
                    for key in cpu[side]:
                        cpu[side][key] += after[key] - before[key]
                    requests[side] += res.requests
                    errors += res.errors
                    per_side[side].append(res.rps)
                    common.log(
                        f"webhook ingest http round {r + 1}/{rounds} {side}: {res.rps:.0f} req/s"
                        f" p99 {res.p99_ms:.1f} ms errors {res.errors}"
                    )

        async def count() -> int:
            conn = await asyncpg.connect(db.admin_url)
            try:
                return int(await conn.fetchval("SELECT count(*) FROM webhook_deliveries"))
            finally:
                await conn.close()

        deliveries = asyncio.run(count())
    out: dict[str, Any] = {
        "seconds": seconds,
        "rounds": rounds,
        "connections": connections,
        "errors": errors,
        "deliveries": deliveries,
        # CPU per request of the gateway process and of the private Postgres cluster: what
        # an endpoint adds, whatever else runs on the machine.
        "cpu_us_per_callback": {
            side: {k: round(1e6 * v / max(requests[side], 1), 1) for k, v in c.items()}
            for side, c in cpu.items()
        },
    }
    out.update(_ratio(per_side))
    return out
