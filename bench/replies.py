"""`python -m bench replies` (or `python -m bench.replies`): ingest through `wxgate serve`
as the ingest benchmark drives it (wrk, bench/callbacks.lua: 70% text, 10% subscribe, 10%
CLICK, 10% LOCATION), for three accounts measured round by round in the same run:

- `none`: no reply rules (the baseline);
- `rules200`: 200 rules, none of which matches (exact, contains, prefix keywords, RE2
  regexes, scan scenes and click keys); target ratio >= 0.9 of `none`;
- `match1`: one keyword rule (prefix `hello`) that answers every text message (70% of the
  callbacks get a passive reply, rendered and stored with the event); target >= 0.85.

`--only NAME` measures one account alone (no ratios); `--profile SECONDS` records the gateway
with py-spy during each account's first round (bench/results/profile-replies-NAME.txt).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from typing import Any

import asyncpg

from bench import common, profile
from gateway.domain import reply_rules
from gateway.wechat import signature

TOKEN = "benchtoken"
SCRIPT = common.ROOT / "bench" / "callbacks.lua"
ROUND_OFFSET = 1_000_000
ACCOUNTS = ("none", "rules200", "match1")


def _text(content: str) -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": content}}


def rule_sets() -> dict[str, dict[str, Any] | None]:
    """The rule set of each account, checked as the API checks it."""
    rules: list[dict[str, Any]] = []
    for i in range(200):
        kind = i % 6
        match: dict[str, Any]
        if kind < 3:
            match = {
                "on": "text",
                "keyword": f"zz{i} word",
                "mode": ("exact", "contains", "prefix")[kind],
            }
        elif kind == 3:
            match = {"on": "text", "regex": f"^order-{i}-[0-9]{{4}}$"}
        elif kind == 4:
            match = {"on": "scan", "scene": f"scene-{i}"}
        else:
            match = {"on": "click", "key": f"key_{i}"}
        rules.append({"name": f"r{i}", "match": match, "reply": _text(f"reply {i}")})
    sets: dict[str, dict[str, Any] | None] = {
        "none": None,
        "rules200": {"rules": rules},
        "match1": {
            "rules": [
                {
                    "name": "hello",
                    "match": {"on": "text", "keyword": "hello", "mode": "prefix"},
                    "reply": _text("Hello! We will answer shortly."),
                }
            ]
        },
    }
    for value in sets.values():
        if value is not None:
            reply_rules.parse_rule_set(value)
    return sets


async def _prepare(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for name, rules in rule_sets().items():
            await conn.execute(
                "INSERT INTO accounts (id, kind, app_id, app_secret, token, oauth_signing_key)"
                " VALUES ($1, 'service', $2, 'x', $3, 'k')",
                name,
                f"wxbench{ACCOUNTS.index(name):09d}",
                TOKEN,
            )
            if rules is not None:
                await conn.execute(
                    "INSERT INTO reply_rules (account_id, rules) VALUES ($1, $2::jsonb)",
                    name,
                    json.dumps(rules),
                )
    finally:
        await conn.close()


async def _counts(url: str) -> dict[str, dict[str, int]]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT account_id, count(*) AS stored, count(reply_xml) AS replied"
            " FROM inbound_events GROUP BY account_id"
        )
        return {r["account_id"]: {"stored": r["stored"], "replied": r["replied"]} for r in rows}
    finally:
        await conn.close()


def run(
    server: common.Server,
    seconds: int = 5,
    rounds: int = 3,
    connections: int = 64,
    profile_seconds: int = 0,
    accounts: tuple[str, ...] = ACCOUNTS,
) -> dict[str, Any]:
    timestamp, nonce = str(int(time.time())), "415670741"
    query = (
        f"signature={signature.sign(TOKEN, timestamp, nonce)}&timestamp={timestamp}&nonce={nonce}"
    )
    results: dict[str, list[common.WrkResult]] = {name: [] for name in accounts}
    # CPU per callback (gateway process + Postgres cluster), which other load on the machine
    # changes much less than the rate; and each part on its own.
    cpu: dict[str, list[float]] = {name: [] for name in accounts}
    parts: dict[str, dict[str, list[float]]] = {
        name: {"gateway": [], "postgres": []} for name in accounts
    }
    profiles: dict[str, Any] = {}
    # The calls of the statements that took the most database time, round by round.
    statements: dict[str, list[dict[str, int]]] = {name: [] for name in accounts}
    offset = 0
    with common.database(server, "replies") as db:
        asyncio.run(_prepare(db.admin_url))
        port = common.free_port()
        with common.process(
            common.serve_args(),
            common.gateway_env(db, port),
            f"http://127.0.0.1:{port}/healthz",
            name="gateway",
        ) as gateway:
            for r in range(rounds):
                for name in accounts:
                    offset += ROUND_OFFSET
                    lua_env = common.env(
                        WX_PATH=f"/wechat/{name}?{query}",
                        # A live push reaches the gateway within a second of its
                        # CreateTime; a body built before the round must not look like
                        # WeChat's retry (4 s or more old: passive.RETRY_AGE), which looks
                        # for a stored reply first. So CreateTime is this round's end.
                        WX_BASE_TIME=str(int(time.time()) + seconds),
                        WX_OFFSET=str(offset),
                    )
                    spy = (
                        profile.record(
                            gateway.pid, min(profile_seconds, seconds - 1), f"replies-{name}"
                        )
                        if r == 0 and profile_seconds
                        else contextlib.nullcontext(None)
                    )
                    asyncio.run(common.reset_statements(db))
                    before = common.gateway_cpu_seconds(server, gateway.pid)
                    with spy as recorder:
                        res = common.wrk(
                            f"http://127.0.0.1:{port}", seconds, connections, SCRIPT, lua_env
                        )
                    after = common.gateway_cpu_seconds(server, gateway.pid)
                    top = asyncio.run(common.top_statements(db, 4))
                    statements[name].append({t["query"]: t["calls"] for t in top})
                    if recorder is not None:
                        profiles[name] = recorder.summary()
                    results[name].append(res)
                    n = max(res.requests, 1)
                    for key in ("gateway", "postgres"):
                        parts[name][key].append(1e6 * (after[key] - before[key]) / n)
                    cpu[name].append(1e6 * sum(after[k] - before[k] for k in after) / n)
                    common.log(
                        f"replies round {r + 1}/{rounds} {name}: {res.rps:.0f} req/s"
                        f" p99 {res.p99_ms:.1f} ms errors {res.errors}"
                    )
        counts = asyncio.run(_counts(db.admin_url))
    med = {
        name: {
            "rps": common.median([x.rps for x in rs]),
            "p50_ms": common.median([x.p50_ms for x in rs]),
            "p99_ms": common.median([x.p99_ms for x in rs]),
            "errors": sum(x.errors for x in rs),
        }
        for name, rs in results.items()
    }
    cpu_med = {name: round(common.median(v), 1) for name, v in cpu.items() if v}
    cpu_parts = {
        name: {key: round(common.median(v), 1) for key, v in p.items() if v}
        for name, p in parts.items()
    }
    summary: dict[str, Any] = {
        "benchmark": "replies",
        "machine": common.machine(),
        "seconds": seconds,
        "rounds": rounds,
        "connections": connections,
        "median": med,
        "cpu_us_per_callback": cpu_med,
        "cpu_us_per_callback_parts": cpu_parts,
        "stored": counts,
        "rounds_raw": {name: [x.row() for x in rs] for name, rs in results.items()},
        "top_statement_calls": statements,
    }
    if profiles:
        summary["profile"] = profiles
    if tuple(accounts) != ACCOUNTS:
        return summary
    base = med["none"]["rps"]
    cpu_ratios = (
        {
            "rules200": round(cpu_med["none"] / cpu_med["rules200"], 3),
            "match1": round(cpu_med["none"] / cpu_med["match1"], 3),
        }
        if len(cpu_med) == len(ACCOUNTS)
        else {}
    )
    summary["ratio_rules200_to_none"] = round(med["rules200"]["rps"] / base, 3)
    summary["ratio_match1_to_none"] = round(med["match1"]["rps"] / base, 3)
    summary["cpu_ratio_to_none"] = cpu_ratios
    return summary


def report(summary: dict[str, Any]) -> str:
    med = summary["median"]
    lines = [
        f"replies: wrk -t1 -c{summary['connections']}, {summary['rounds']} x"
        f" {summary['seconds']} s per account, medians",
        f"{'account':<10} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}"
        f" {'stored':>8} {'replied':>8}",
    ]
    for name, m in med.items():
        c = summary["stored"].get(name, {"stored": 0, "replied": 0})
        lines.append(
            f"{name:<10} {m['rps']:>9.0f} {m['p50_ms']:>8.2f} {m['p99_ms']:>8.2f}"
            f" {m['errors']:>7} {c['stored']:>8} {c['replied']:>8}"
        )
    for name, p in summary.get("cpu_us_per_callback_parts", {}).items():
        lines.append(
            f"CPU per callback, {name}: gateway {p.get('gateway')} us,"
            f" Postgres {p.get('postgres')} us"
        )
    if "ratio_rules200_to_none" not in summary:
        return "\n".join(lines)
    lines.append(
        f"200 rules, none matching / no rules: {summary['ratio_rules200_to_none']:.2f} (target 0.9)"
    )
    lines.append(
        f"1 matching keyword rule / no rules:  {summary['ratio_match1_to_none']:.2f} (target 0.85)"
    )
    cpu, ratios = summary.get("cpu_us_per_callback", {}), summary.get("cpu_ratio_to_none", {})
    if ratios:
        lines.append(
            f"CPU per callback (gateway + Postgres), medians: no rules {cpu['none']} us,"
            f" 200 rules {cpu['rules200']} us (ratio {ratios['rules200']:.2f}),"
            f" 1 matching {cpu['match1']} us (ratio {ratios['match1']:.2f})"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.replies")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--only", choices=ACCOUNTS, action="append", help="this account alone")
    parser.add_argument("--profile", type=int, default=0, metavar="SECONDS")
    args = parser.parse_args()
    accounts = tuple(args.only) if args.only else ACCOUNTS
    with common.postgres() as server:
        summary = run(server, args.seconds, args.rounds, args.connections, args.profile, accounts)
    common.save("replies", summary)
    print(report(summary))


if __name__ == "__main__":
    main()
