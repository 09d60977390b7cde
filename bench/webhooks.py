"""`python -m bench.webhooks [--quick]` (also `python -m bench webhooks`, part of `make bench`):
the webhook benchmarks of issue 16, each with its baseline measured in the same run.

- ingest (bench/webhook_ingest.py): callbacks stored for an account with one endpoint
  against one with none, rounds interleaved, through the seed path's group-commit statement
  (batches of 100) and through HTTP (`wxgate serve` under wrk). Target: ratio >= 0.85.
- dispatch: one dispatcher delivering queued webhooks to a bare aiohttp receiver (its own
  process), against a plain aiohttp client loop posting the same bodies to the same receiver
  with the same concurrency (16, the per-endpoint cap). Target: ratio >= 0.7.

Not measured here: callback-to-receipt latency at 500 callbacks/s through `wxgate serve`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from typing import Any

import aiohttp
import asyncpg
import pydantic
import uvloop

from bench import common, webhook_ingest
from gateway import settings as settings_mod
from gateway.store import inbound, webhooks
from scheduler import webhook_start
from scheduler import webhooks as dispatch


async def _account(pool: asyncpg.Pool, endpoint_url: str | None) -> None:
    await pool.execute(
        "INSERT INTO accounts (id, kind, app_id, app_secret, token, oauth_signing_key)"
        " VALUES ('bench', 'service', 'wxbench', 's', 't', 'k')"
    )
    if endpoint_url is not None:
        await webhooks.create_endpoint(
            pool,
            "bench",
            url=endpoint_url,
            description=None,
            event_types=None,
            disabled=False,
            rate_limit=None,
        )


def _cpu() -> float:
    """CPU seconds (user + system) this process used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _dispatch(
    server: common.Server, url: str, receiver: str, count: int
) -> tuple[float, float, float]:
    """Webhooks delivered per second by one dispatcher (claim to recorded outcome), and the
    CPU seconds of this process and of Postgres meanwhile."""
    pool = await webhook_start.open_pool(url)  # as the worker process has it
    try:
        await _account(pool, receiver)
        records = [webhook_ingest.record("bench", n) for n in range(1, count + 1)]
        async with pool.acquire() as conn:
            for i in range(0, count, 500):
                await inbound.store_batch(conn, records[i : i + 500])
        settings = settings_mod.Settings(
            database_url=url, api_token=pydantic.SecretStr("b"), webhook_allow_private=True
        )
        async with aiohttp.ClientSession() as session:
            d = dispatch.Dispatcher(settings, pool, session, worker_id="bench", batch=200)
            pg_started = common.postgres_cpu_seconds(server) or 0.0
            cpu_started, started = _cpu(), time.perf_counter()
            runner = asyncio.create_task(d.run(tick=0.2))
            try:
                while True:  # polling the rows the dispatcher task finishes (a cheap probe)
                    left = await pool.fetchval(
                        "SELECT EXISTS (SELECT 1 FROM webhook_deliveries WHERE status = 'pending')"
                    )
                    if not left:
                        break
                    await asyncio.sleep(0.05)
                elapsed = time.perf_counter() - started
                cpu = _cpu() - cpu_started
                pg = (common.postgres_cpu_seconds(server) or 0.0) - pg_started
            finally:
                d.stopping.set()
                await runner
        return count / elapsed, cpu, pg
    finally:
        await pool.close()


async def _baseline(receiver: str, count: int, concurrency: int = 16) -> tuple[float, float]:
    """A plain aiohttp client loop: the same bodies, 16 in flight, no database. Requests per
    second and the CPU seconds it used."""
    body = json.dumps({"id": "evt_x", "type": "message.text", "data": {"content": "x" * 300}})
    queue = iter(range(count))
    async with aiohttp.ClientSession() as session:

        async def lane() -> None:
            for _ in queue:
                async with session.post(
                    receiver, data=body, headers={"Content-Type": "application/json"}
                ) as resp:
                    await resp.content.read(1024)

        cpu_started, started = _cpu(), time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(concurrency)))
        return count / (time.perf_counter() - started), _cpu() - cpu_started


def run(quick: bool, only: str | None = None, deliveries: int | None = None) -> dict[str, Any]:
    with common.postgres() as server:
        return measure(
            server,
            callbacks=2_000 if quick else 10_000,
            rounds=3 if quick else 5,
            deliveries=deliveries or (1_000 if quick else 10_000),
            http_seconds=3 if quick else 5,
            only=only,
        )


def measure(
    server: common.Server,
    callbacks: int = 10_000,
    rounds: int = 5,
    deliveries: int = 10_000,
    http_seconds: int = 5,
    only: str | None = None,
) -> dict[str, Any]:
    """Both webhook benchmarks on one Postgres server (`python -m bench webhooks` runs this)."""
    summary: dict[str, Any] = {"machine": common.machine()}
    if only in (None, "ingest"):
        summary["ingest"] = webhook_ingest.statement(server, callbacks, rounds)
        summary["ingest_http"] = webhook_ingest.http(
            server, seconds=http_seconds, rounds=rounds, connections=64
        )
    if only in (None, "dispatch"):
        summary["dispatch"] = _dispatch_run(server, deliveries)
    return summary


def _dispatch_run(server: common.Server, deliveries: int) -> dict[str, Any]:
    port = common.free_port()
    receiver = f"http://127.0.0.1:{port}/wechat/hook"
    args = [sys.executable, "-m", "bench.bare_app", str(port)]
    with common.process(args, common.env(), receiver, "receiver"):
        # both on uvloop, as the worker process runs its dispatcher (scheduler/__main__.py)
        base, base_cpu = uvloop.run(_baseline(receiver, deliveries))
        with common.database(server, "wh_dispatch") as db:
            rate, cpu, pg = uvloop.run(_dispatch(server, db.url, receiver, deliveries))
    us = 1e6 / deliveries
    return {
        "deliveries": deliveries,
        "per_second_dispatcher": round(rate),
        "per_second_plain_client": round(base),
        "ratio": round(rate / base, 3),
        # CPU per delivery: steadier than the rates on a shared machine
        "cpu_us_per_delivery": {
            "dispatcher": round(cpu * us),
            "dispatcher_postgres": round(pg * us),
            "plain_client": round(base_cpu * us),
        },
        "cpu_ratio": round(base_cpu / cpu, 3),
        "cpu_ratio_with_postgres": round(base_cpu / (cpu + pg), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.webhooks")
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--only", choices=("ingest", "dispatch"), help="one benchmark only")
    parser.add_argument("--deliveries", type=int, help="webhooks queued for the dispatch run")
    args = parser.parse_args()
    summary = run(args.quick, args.only, args.deliveries)
    common.save("webhooks" if args.only is None else f"webhooks-{args.only}", summary)
    print(report(summary))


def report(summary: dict[str, Any]) -> str:
    lines = []
    for key, how in (("ingest", "seed statement"), ("ingest_http", "HTTP (wrk)")):
        if key in summary:
            m = summary[key]
            lines.append(
                f"webhooks ingest, {how}: {m['per_second_one_endpoint']}/s with one endpoint"
                f" vs {m['per_second_no_endpoint']}/s without: ratio {m['ratio']}"
                f" (target 0.85; medians of {m['rounds']} interleaved rounds; paired"
                f" {m['ratio_paired_median']})"
            )
            if "backend_cpu_us_per_callback" in m:
                cpu = m["backend_cpu_us_per_callback"]
                lines.append(
                    f"  Postgres backend CPU per callback: {cpu['one']} us with one endpoint,"
                    f" {cpu['none']} us without: ratio {cpu['none'] / cpu['one']:.3f}"
                )
            if "cpu_us_per_callback" in m:
                one, none = m["cpu_us_per_callback"]["one"], m["cpu_us_per_callback"]["none"]
                total_one, total_none = sum(one.values()), sum(none.values())
                lines.append(
                    f"  CPU per callback (gateway + Postgres): {one['gateway']} + "
                    f"{one['postgres']} us with one endpoint, {none['gateway']} + "
                    f"{none['postgres']} us without: ratio {total_none / total_one:.3f}"
                )
    if "dispatch" in summary:
        disp = summary["dispatch"]
        lines.append(
            f"webhooks dispatch: {disp['per_second_dispatcher']}/s vs plain aiohttp client "
            f"{disp['per_second_plain_client']}/s: ratio {disp['ratio']} (target 0.7)"
        )
        cpu = disp["cpu_us_per_delivery"]
        lines.append(
            f"  CPU per delivery: dispatcher {cpu['dispatcher']} us (+ Postgres"
            f" {cpu['dispatcher_postgres']} us) vs plain client {cpu['plain_client']} us:"
            f" ratio {disp['cpu_ratio']} ({disp['cpu_ratio_with_postgres']} with Postgres)"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
