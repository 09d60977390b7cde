"""The results table (markdown) from bench/results/*.json, with each target and whether it
was met; written to bench/results/summary.md."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bench import common

Row = tuple[str, str, str, str, str, str]  # measure, result, baseline, ratio, target, met


def _load(name: str) -> dict[str, Any] | None:
    path = common.RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _ingest(s: dict[str, Any]) -> list[Row]:
    m = s["median"]
    g, b, w = m["gateway"], m["bare"], m["werobot"]
    return [
        (
            "durable callbacks/s (wrk -c64)",
            f"{g['rps']:,.0f}",
            f"bare aiohttp {b['rps']:,.0f}",
            f"{s['ratio_gateway_to_bare']:.2f}",
            ">= 0.35",
            _met(s["ratio_gateway_to_bare"] >= 0.35),
        ),
        (
            "callbacks/s vs WeRoBot 1.13 (gunicorn -w 2)",
            f"{g['rps']:,.0f}",
            f"WeRoBot {w['rps']:,.0f}",
            f"{s['ratio_gateway_to_werobot']:.2f}",
            ">= 2.0",
            _met(s["ratio_gateway_to_werobot"] >= 2.0),
        ),
        (
            "callback p50 / p99 latency",
            f"{g['p50_ms']:.1f} / {g['p99_ms']:.1f} ms",
            f"bare {b['p50_ms']:.1f} / {b['p99_ms']:.1f} ms",
            f"{g['p99_ms'] / b['p99_ms']:.1f}x (p99)",
            "p99 < 25 ms",
            _met(g["p99_ms"] < 25),
        ),
        (
            "errors; answered `success` vs rows stored",
            f"{g['errors']}; {s['gateway_answered_success']:,} / {s['gateway_rows_stored']:,}",
            "",
            "",
            "0 errors, all stored",
            _met(g["errors"] == 0 and s["durable"]),
        ),
    ]


def _release(s: dict[str, Any]) -> list[Row]:
    r, b, w = s["release"], s["baseline_direct_round_trip"], s["reopen"]
    return [
        (
            f"enqueue (API) -> mock received, {s['offered_rate']:.0f} msg/s",
            f"p50 {r['p50_ms']:.1f} / p99 {r['p99_ms']:.1f} ms",
            f"direct send p50 {b['p50_ms']:.1f} / p99 {b['p99_ms']:.1f} ms",
            f"{s['ratio_release_p50_to_baseline_p50']}x (p50)",
            "p50 < 50, p99 < 250 ms",
            _met(r["p50_ms"] < 50 and r["p99_ms"] < 250 and s["all_sent"]),
        ),
        (
            "window reopen: follower writes -> held message received",
            f"p50 {w['p50_ms']:.1f} / p99 {w['p99_ms']:.1f} ms",
            "",
            "",
            "p99 < 300 ms",
            _met(w["p99_ms"] < 300 and w["count"] == s["reopen_held_before"]),
        ),
    ]


def _drain(s: dict[str, Any]) -> list[Row]:
    base = s.get("baseline_http_client", {})
    stmts = s.get("statements_per_msg")
    return [
        (
            f"drain {s['messages']:,} msgs, 1 worker",
            f"{s['rate_msgs_per_s']:,.0f} msg/s",
            f"plain aiohttp client {base.get('rps', float('nan')):,.0f} calls/s",
            f"{s.get('ratio_to_http_client', float('nan')):.2f}",
            ">= 0.7 of the client loop",
            _met(s.get("ratio_to_http_client", 0.0) >= 0.7 and s["complete"]),
        ),
        (
            "Postgres statements per delivered message",
            "not measured" if stmts is None else f"{stmts:.3f}",
            "",
            "",
            "<= 3",
            "n/a" if stmts is None else _met(stmts <= 3),
        ),
        (
            "worker CPU per message; sent twice",
            f"{s['worker_cpu_us_per_msg']:.0f} us; {s['duplicates']}",
            "",
            "",
            "",
            "",
        ),
    ]


def _fanout(s: dict[str, Any]) -> list[Row]:
    return [
        (
            f"fan-out to {s['followers']:,} followers: decide, consume, submit",
            f"{s['total_seconds']:.1f} s ({s['mass_calls']} calls)",
            f"INSERT ... SELECT floor {s['floor_insert_seconds']:.1f} s",
            f"{s['ratio_to_floor']}x",
            "< 30 s",
            _met(s["total_seconds"] < 30 and s["complete"]),
        ),
        (
            "fan-out worker peak RSS",
            f"{s['worker_peak_rss_mb']:.0f} MB",
            f"at start {s['worker_rss_at_start_mb']:.0f} MB",
            "",
            "< 300 MB",
            _met(s["worker_peak_rss_mb"] < 300),
        ),
    ]


def _scale(s: dict[str, Any]) -> list[Row]:
    i, d = s["ingest"], s["drain"]
    return [
        (
            "ingest, 1 -> 2 gateway processes",
            f"{i['1']['rps']:,.0f} -> {i['2']['rps']:,.0f}/s",
            "1 process",
            f"{s['ratio_ingest_2_to_1']}x",
            "> 1 until cores saturate",
            _met(s["ratio_ingest_2_to_1"] > 1.0),
        ),
        (
            "drain, 1 -> 2 workers",
            f"{d['1']['rate_msgs_per_s']:,.0f} -> {d['2']['rate_msgs_per_s']:,.0f} msg/s",
            "1 process",
            f"{s['ratio_drain_2_to_1']}x",
            "> 1 until cores saturate; nothing sent twice",
            _met(s["ratio_drain_2_to_1"] > 1.0 and s["sent_twice"] == 0),
        ),
    ]


def _console(s: dict[str, Any]) -> list[Row]:
    base = s["baseline_healthz"]["p95_ms"]
    worst = max(s["pages"].items(), key=lambda item: item[1]["p95_ms"])
    return [
        (
            f"slowest of {len(s['pages'])} pages at p95 ({worst[0]}), "
            f"{s['followers']:,} followers, {s['events']:,} callbacks",
            f"{s['worst_p95_ms']:.0f} ms",
            f"/healthz p95 {base:.1f} ms",
            f"{s['worst_p95_ms'] / base:.0f}x" if base else "-",
            "< 200 ms at p95, every page",
            _met(s["passed"]),
        )
    ]


def _sync(s: dict[str, Any]) -> list[Row]:
    return [
        (
            f"follower sync of {s['followers']:,} followers",
            f"{s['sync_seconds']:.1f} s ({s['sync_rate']:,}/s)",
            f"plain client paging the mock {s['baseline_seconds']:.1f} s",
            f"{s['ratio_to_baseline']:.2f}",
            ">= 0.5",
            _met(s["ratio_to_baseline"] >= 0.5 and s["complete"]),
        ),
        (
            "sync worker peak RSS",
            f"{s['worker_peak_rss_mb']:.0f} MB",
            f"at start {s['worker_rss_at_start_mb']:.0f} MB",
            "",
            "< 250 MB",
            _met(s["worker_peak_rss_mb"] < 250),
        ),
    ]


def _replies(s: dict[str, Any]) -> list[Row]:
    m, cpu = s["median"], s.get("cpu_us_per_callback", {})
    rows = []
    for key, label, target in (
        ("rules200", "200 reply rules, none matching", 0.9),
        ("match1", "1 matching keyword rule", 0.85),
    ):
        ratio = s[f"ratio_{key}_to_none"]
        cpu_note = f" ({cpu[key]:.0f} us CPU a callback)" if key in cpu else ""
        base_cpu = f" ({cpu['none']:.0f} us)" if "none" in cpu else ""
        rows.append(
            (
                f"ingest with {label}",
                f"{m[key]['rps']:,.0f}/s{cpu_note}",
                f"no rules {m['none']['rps']:,.0f}/s{base_cpu}",
                f"{ratio:.2f}",
                f">= {target}",
                _met(ratio >= target),
            )
        )
    return rows


def _webhooks(s: dict[str, Any]) -> list[Row]:
    rows = []
    if "ingest_http" in s:
        i = s["ingest_http"]
        rows.append(
            (
                "ingest with one endpoint (HTTP, wrk -c64)",
                f"{i['per_second_one_endpoint']:,}/s",
                f"no endpoint {i['per_second_no_endpoint']:,}/s",
                f"{i['ratio']:.2f}",
                ">= 0.85",
                _met(i["ratio"] >= 0.85),
            )
        )
    if "ingest" in s:
        i = s["ingest"]
        rows.append(
            (
                "the same through the seed statement (batches of 100)",
                f"{i['per_second_one_endpoint']:,}/s",
                f"no endpoint {i['per_second_no_endpoint']:,}/s",
                f"{i['ratio']:.2f}",
                ">= 0.85",
                _met(i["ratio"] >= 0.85),
            )
        )
    if "dispatch" in s:
        d = s["dispatch"]
        rows.append(
            (
                f"dispatch {d['deliveries']:,} webhooks, 1 worker",
                f"{d['per_second_dispatcher']:,}/s",
                f"plain aiohttp client {d['per_second_plain_client']:,}/s",
                f"{d['ratio']:.2f}",
                ">= 0.7",
                _met(d["ratio"] >= 0.7),
            )
        )
    return rows


def _webhook_latency(s: dict[str, Any]) -> list[Row]:
    return [
        (
            f"callback -> endpoint receipt at {s['rate']:.0f}/s ({s['callbacks']:,} callbacks)",
            f"p50 {s['p50_ms']:.1f} / p99 {s['p99_ms']:.1f} ms",
            "",
            "",
            "p50 < 50, p99 < 250 ms",
            _met(s["p50_ms"] < 50 and s["p99_ms"] < 250 and s["received"] == s["callbacks"]),
        )
    ]


SECTIONS: dict[str, tuple[str, Callable[[dict[str, Any]], list[Row]]]] = {
    "ingest": ("1. Ingest", _ingest),
    "release": ("2. Release latency", _release),
    "drain": ("3. Drain", _drain),
    "fanout": ("4. Fan-out", _fanout),
    "scale": ("5. Scale", _scale),
    "console": ("6. Console pages", _console),
    "sync": ("7. Follower sync", _sync),
    "replies": ("8. Passive replies", _replies),
    "webhooks": ("9. Webhooks", _webhooks),
    "webhook_latency": ("9. Webhooks", _webhook_latency),
}


def render() -> str:
    lines = [
        "| benchmark | measure | result | baseline (same run) | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    notes = []
    machine: dict[str, Any] | None = None
    for name, (title, rows) in SECTIONS.items():
        s = _load(name)
        if s is None:
            continue
        machine = machine or s.get("machine")
        quick = " (quick)" if s.get("quick") else ""
        for measure, result, base, ratio, target, met in rows(s):
            lines.append(
                f"| {title}{quick} | {measure} | {result} | {base} | {ratio} | {target} | {met} |"
            )
        notes.append(f"{name}: {s.get('finished_at', '?')}, {s.get('duration_seconds', '?')} s")
    cal = _load("calibrate")
    if cal is not None:
        s, c = cal["select_1"], cal["insert_commit"]
        lines.append("")
        lines.append(
            f"Calibration (same run): a `SELECT 1` round trip {s['wall_us']:.0f} us"
            f" ({s['client_cpu_us']:.0f} us client CPU, {s['postgres_cpu_us']} us Postgres CPU);"
            f" a one-row INSERT with its commit {c['wall_us']:.0f} us"
            f" ({c['postgres_cpu_us']} us Postgres CPU)."
        )
    if machine:
        lines.append("")
        lines.append(
            f"Machine: {machine['cpus']} CPUs ({machine['model']}), Python {machine['python']},"
            f" load average at the end {machine['load_average']}."
        )
    if notes:
        lines.append("Runs: " + "; ".join(notes) + ".")
    return "\n".join(lines)


def write() -> str:
    text = render()
    common.RESULTS.mkdir(parents=True, exist_ok=True)
    (common.RESULTS / "summary.md").write_text(text + "\n")
    return text
