"""Ingest: signed callbacks from wrk (64 connections, one thread, on the same machine) against
the gateway, every one committed before its `success`, with two baselines measured in the
same run, round by round: a bare aiohttp app (no verification, no storage) and WeRoBot 1.13
under gunicorn with 2 sync workers (no storage).

`run(..., gateways=2)` serves the gateway from two processes on one port (SO_REUSEPORT);
the scale benchmark uses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import time
from collections.abc import Iterator
from typing import Any

import asyncpg

from bench import common, profile
from gateway.wechat import signature

TOKEN = "benchtoken"
SCRIPT = common.ROOT / "bench" / "callbacks.lua"
STATIC = common.ROOT / "bench" / "static_body.lua"
# Requests callbacks.lua builds before each run starts: above what any server here answers
# in a second (bare aiohttp ~31,000/s with one static body), times the run's seconds.
PREBUILT_PER_SECOND = 45_000
ROUND_OFFSET = 1_000_000  # distinct pushes per wrk run (a run sends well under a million)


async def _prepare(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "INSERT INTO accounts (id, kind, app_id, app_secret, token, oauth_signing_key)"
            " VALUES ('bench', 'service', 'wxbench000000000', 'x', $1, 'k')",
            TOKEN,
        )
    finally:
        await conn.close()


async def _stored(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(
            await conn.fetchval("SELECT count(*) FROM inbound_events WHERE account_id = 'bench'")
        )
    finally:
        await conn.close()


@contextlib.contextmanager
def _servers(
    db: common.Database, gateways: int, baselines: bool
) -> Iterator[tuple[dict[str, int], dict[str, list[int]]]]:
    """Start the servers; yields their ports and their (main) processes' pids."""
    ports = {"gateway": common.free_port()}
    if baselines:
        ports["bare"] = common.free_port()
        ports["werobot"] = common.free_port()
    with contextlib.ExitStack() as stack:
        pids: dict[str, list[int]] = {"gateway": []}
        for i in range(gateways):
            proc = stack.enter_context(
                common.process(
                    common.serve_args(reuse_port=gateways > 1),
                    common.gateway_env(db, ports["gateway"]),
                    f"http://127.0.0.1:{ports['gateway']}/healthz",
                    name=f"gateway {i + 1}",
                )
            )
            pids["gateway"].append(proc.pid)
            # Each process must have bound the port before the next one starts listening.
            time.sleep(0.5)
        if baselines:
            bare = stack.enter_context(
                common.process(
                    [str(common.BIN / "python"), "-m", "bench.bare_app", str(ports["bare"])],
                    common.env(),
                    f"http://127.0.0.1:{ports['bare']}/",
                    name="bare aiohttp",
                )
            )
            pids["bare"] = [bare.pid]
            stack.enter_context(
                common.process(
                    [
                        str(common.BIN / "gunicorn"),
                        "-w",
                        "2",
                        "-b",
                        f"127.0.0.1:{ports['werobot']}",
                        "--chdir",
                        str(common.ROOT / "bench"),
                        "--log-level",
                        "warning",
                        "werobot_app:application",
                    ],
                    common.env(WX_TOKEN=TOKEN),
                    f"http://127.0.0.1:{ports['werobot']}/",
                    name="werobot",
                )
            )
        yield ports, pids


def run(
    server: common.Server,
    seconds: int = 10,
    rounds: int = 3,
    connections: int = 64,
    gateways: int = 1,
    baselines: bool = True,
    profile_seconds: int = 0,
) -> dict[str, Any]:
    timestamp, nonce = str(int(time.time())), "415670741"
    query = (
        f"signature={signature.sign(TOKEN, timestamp, nonce)}&timestamp={timestamp}&nonce={nonce}"
    )
    names = ["bare", "gateway", "werobot"] if baselines else ["gateway"]
    results: dict[str, list[common.WrkResult]] = {name: [] for name in names}
    profiles: dict[str, Any] = {}
    cpu: dict[str, list[dict[str, float | None]]] = {"gateway": [], "bare": []}
    offset = 0
    with common.database(server, f"ingest{gateways}") as db:
        asyncio.run(_prepare(db.admin_url))
        with _servers(db, gateways, baselines) as (ports, pids):
            for r in range(rounds):
                for name in names:
                    offset += ROUND_OFFSET
                    lua_env = common.env(
                        WX_PATH=f"/wechat/bench?{query}",
                        WX_BASE_TIME=timestamp,
                        WX_OFFSET=str(offset),
                        WX_PREBUILT=str(PREBUILT_PER_SECOND * seconds),
                    )
                    target = f"http://127.0.0.1:{ports[name]}"
                    spy = (
                        profile.record(
                            pids["gateway"][0], min(profile_seconds, seconds - 1), "ingest-gateway"
                        )
                        if name == "gateway" and r == 0 and profile_seconds
                        else contextlib.nullcontext(None)
                    )
                    before = _cpu(server, pids.get(name, []))
                    with spy as recorder:
                        res = common.wrk(target, seconds, connections, SCRIPT, lua_env)
                    if name in cpu:
                        cpu[name].append(_per_request(before, _cpu(server, pids[name]), res))
                    if recorder is not None:
                        profiles["gateway"] = recorder.summary()
                    results[name].append(res)
                    procs = gateways if name == "gateway" else 1
                    common.log(
                        f"ingest round {r + 1}/{rounds} {name} x{procs}: {res.rps:.0f} req/s"
                        f" p99 {res.p99_ms:.1f} ms errors {res.errors}"
                    )
            if baselines:
                # The generator's ceiling: one static body, against the same bare app.
                static = common.wrk(
                    f"http://127.0.0.1:{ports['bare']}",
                    seconds,
                    connections,
                    STATIC,
                    common.env(WX_PATH=f"/wechat/bench?{query}"),
                )
                common.log(f"ingest bare aiohttp, one static body: {static.rps:.0f} req/s")
        stored = asyncio.run(_stored(db.admin_url))
    answered = sum(r.requests - r.errors for r in results["gateway"])
    med = {
        name: {
            "rps": common.median([r.rps for r in rs]),
            "p50_ms": common.median([r.p50_ms for r in rs]),
            "p99_ms": common.median([r.p99_ms for r in rs]),
            "errors": sum(r.errors for r in rs),
        }
        for name, rs in results.items()
    }
    summary: dict[str, Any] = {
        "benchmark": "ingest",
        "gateways": gateways,
        "seconds": seconds,
        "rounds": rounds,
        "connections": connections,
        "median": med,
        # wrk does not count requests still in flight when it stops; those are stored too.
        "gateway_answered_success": answered,
        "gateway_rows_stored": stored,
        "durable": stored >= answered,
        "rounds_raw": {name: [r.row() for r in rs] for name, rs in results.items()},
    }
    if baselines:
        summary["ratio_gateway_to_bare"] = round(med["gateway"]["rps"] / med["bare"]["rps"], 3)
        summary["ratio_gateway_to_werobot"] = round(
            med["gateway"]["rps"] / med["werobot"]["rps"], 3
        )
    if baselines:
        summary["bare_static_body_rps"] = round(static.rps)
        summary["ratio_bare_to_static_body"] = round(med["bare"]["rps"] / static.rps, 3)
    summary["requests_built_during_runs"] = sum(r.built_late for rs in results.values() for r in rs)
    if profiles:
        summary["profile"] = profiles
    summary["cpu_us_per_request"] = {
        name: {
            key: common.median([v for c in rows if (v := c[key]) is not None] or [float("nan")])
            for key in ("server", "postgres", "wrk")
        }
        for name, rows in cpu.items()
        if rows
    }
    return summary


def _cpu(server: common.Server, pids: list[int]) -> dict[str, float | None]:
    """CPU seconds so far: the server's processes, Postgres, and finished children (wrk)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "server": sum(common.cpu_seconds(pid) for pid in pids),
        "postgres": common.postgres_cpu_seconds(server),
        "wrk": children.ru_utime + children.ru_stime,
    }


def _per_request(
    before: dict[str, float | None], after: dict[str, float | None], res: common.WrkResult
) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for key, value in after.items():
        start = before[key]
        out[key] = (
            None
            if value is None or start is None
            else round(1e6 * (value - start) / max(res.requests, 1), 1)
        )
    return out


def report(summary: dict[str, Any]) -> str:
    med = summary["median"]
    lines = [
        f"ingest: wrk -t1 -c{summary['connections']},"
        f" {summary['rounds']} x {summary['seconds']} s, medians",
        f"{'server':<10} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}",
    ]
    for name, m in med.items():
        lines.append(
            f"{name:<10} {m['rps']:>9.0f} {m['p50_ms']:>8.2f} {m['p99_ms']:>8.2f} {m['errors']:>7}"
        )
    if "ratio_gateway_to_bare" in summary:
        lines.append(f"gateway / bare aiohttp: {summary['ratio_gateway_to_bare']:.2f}")
        lines.append(f"gateway / WeRoBot:      {summary['ratio_gateway_to_werobot']:.2f}")
    if "ratio_bare_to_static_body" in summary:
        lines.append(
            f"bare aiohttp with the distinct bodies / with one static body:"
            f" {summary['ratio_bare_to_static_body']:.2f}"
            f" (static {summary['bare_static_body_rps']} req/s; requests built during the"
            f" runs: {summary['requests_built_during_runs']})"
        )
    lines.append(
        f"durability: {summary['gateway_answered_success']} answered success, "
        f"{summary['gateway_rows_stored']} rows stored"
    )
    for name, c in summary.get("cpu_us_per_request", {}).items():
        lines.append(
            f"CPU per request, {name}: server {c['server']:.0f} us,"
            f" Postgres {c['postgres']:.0f} us, wrk {c['wrk']:.0f} us"
        )
    return "\n".join(lines)
