"""Ingest: signed callbacks from wrk (64 connections) against the gateway, every one committed
before its `success`, against two baselines measured in the same run: a bare aiohttp app
(no verification, no storage) and WeRoBot 1.13 under gunicorn with 2 workers (no storage)."""

from __future__ import annotations

import asyncio
import json
import time

import asyncpg

from bench import common
from gateway.wechat import signature

TOKEN = "benchtoken"
SCRIPT = common.ROOT / "bench" / "callbacks.lua"


async def _prepare(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DELETE FROM accounts WHERE id = 'bench'")
        await conn.execute(
            "INSERT INTO accounts (id, kind, app_id, app_secret, token, oauth_signing_key)"
            " VALUES ('bench', 'service', 'wxbench000000000', 'x', $1, 'k')",
            TOKEN,
        )
        await conn.execute("DELETE FROM inbound_events WHERE account_id = 'bench'")
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


def run(seconds: int = 10, rounds: int = 3, connections: int = 64) -> dict[str, object]:
    timestamp, nonce = str(int(time.time())), "415670741"
    query = (
        f"signature={signature.sign(TOKEN, timestamp, nonce)}&timestamp={timestamp}&nonce={nonce}"
    )
    lua_env = common.env(WX_PATH=f"/wechat/bench?{query}", WX_BASE_TIME=timestamp)
    results: dict[str, list[common.WrkResult]] = {"bare": [], "gateway": [], "werobot": []}
    with common.postgres() as url:
        subprocess_env = common.env(WXGATE_DATABASE_URL=url, WXGATE_LOG_LEVEL="WARNING")
        import subprocess

        subprocess.run(
            [str(common.BIN / "wxgate"), "migrate"],
            env=subprocess_env,
            check=True,
            capture_output=True,
        )
        asyncio.run(_prepare(url))
        ports = {name: common.free_port() for name in results}
        servers = {
            "bare": [str(common.BIN / "python"), "-m", "bench.bare_app", str(ports["bare"])],
            "gateway": [str(common.BIN / "wxgate"), "serve"],
            "werobot": [
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
        }
        gateway_env = {**subprocess_env, "WXGATE_PORT": str(ports["gateway"])}
        with (
            common.process(servers["bare"], common.env(), f"http://127.0.0.1:{ports['bare']}/"),
            common.process(
                servers["gateway"], gateway_env, f"http://127.0.0.1:{ports['gateway']}/healthz"
            ),
            common.process(
                servers["werobot"],
                common.env(WX_TOKEN=TOKEN),
                f"http://127.0.0.1:{ports['werobot']}/",
            ),
        ):
            for _ in range(rounds):
                for name in results:
                    target = f"http://127.0.0.1:{ports[name]}"
                    results[name].append(common.wrk(target, seconds, connections, SCRIPT, lua_env))
        stored = asyncio.run(_stored(url))
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
    summary = {
        "benchmark": "ingest",
        "seconds": seconds,
        "rounds": rounds,
        "connections": connections,
        "median": med,
        "ratio_gateway_to_bare": round(med["gateway"]["rps"] / med["bare"]["rps"], 3),
        "ratio_gateway_to_werobot": round(med["gateway"]["rps"] / med["werobot"]["rps"], 3),
        "gateway_answered_success": answered,
        "gateway_rows_stored": stored,
        "rounds_raw": {name: [r.row() for r in rs] for name, rs in results.items()},
    }
    return summary


def report(summary: dict[str, object]) -> str:
    med = summary["median"]
    assert isinstance(med, dict)
    lines = [
        f"ingest: wrk -t1 -c{summary['connections']},"
        f" {summary['rounds']} x {summary['seconds']} s, medians",
        f"{'server':<10} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}",
    ]
    for name, m in med.items():
        lines.append(
            f"{name:<10} {m['rps']:>9.0f} {m['p50_ms']:>8.2f} {m['p99_ms']:>8.2f} {m['errors']:>7}"
        )
    lines.append(f"gateway / bare aiohttp: {summary['ratio_gateway_to_bare']:.2f}")
    lines.append(f"gateway / WeRoBot:      {summary['ratio_gateway_to_werobot']:.2f}")
    lines.append(
        f"durability: {summary['gateway_answered_success']} answered success, "
        f"{summary['gateway_rows_stored']} rows stored"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    out = run()
    print(report(out))
    common.RESULTS.mkdir(exist_ok=True)
    (common.RESULTS / "ingest.json").write_text(json.dumps(out, indent=2))
