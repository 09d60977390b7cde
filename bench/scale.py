"""Scale: the ingest and drain runs with one and with two processes on one Postgres, in the
same invocation. Ingest: one or two gateway processes sharing the port (SO_REUSEPORT), wrk as
before. Drain: one or two `python -m scheduler` workers. Reports the throughput ratios (two
processes / one) and checks that nothing was sent twice."""

from __future__ import annotations

from typing import Any

from bench import common, drain, ingest


def run(
    server: common.Server,
    seconds: int = 10,
    rounds: int = 3,
    connections: int = 64,
    messages: int = 50_000,
    followers: int = 10_000,
    timeout: float = 300,
) -> dict[str, Any]:
    ingests = {}
    for n in (1, 2):
        ingests[n] = ingest.run(server, seconds, rounds, connections, gateways=n, baselines=False)
        rps = ingests[n]["median"]["gateway"]["rps"]
        common.log(f"scale: ingest with {n} gateway(s): {rps:.0f}/s")
    drains = {}
    for n in (1, 2):
        drains[n] = drain.run(
            server, messages, followers, workers=n, timeout=timeout, baseline_seconds=0
        )
        common.log(f"scale: drain with {n} worker(s): {drains[n]['rate_msgs_per_s']} msg/s")
    in1, in2 = (ingests[n]["median"]["gateway"] for n in (1, 2))
    return {
        "benchmark": "scale",
        "ingest": {
            str(n): {
                "rps": s["median"]["gateway"]["rps"],
                "p99_ms": s["median"]["gateway"]["p99_ms"],
                "errors": s["median"]["gateway"]["errors"],
                "durable": s["durable"],
            }
            for n, s in ingests.items()
        },
        "drain": {
            str(n): {
                "rate_msgs_per_s": s["rate_msgs_per_s"],
                "delivered": s["delivered"],
                "duplicates": s["duplicates"],
                "statements_per_msg": s["statements_per_msg"],
                "worker_cpu_us_per_msg": s["worker_cpu_us_per_msg"],
            }
            for n, s in drains.items()
        },
        "ratio_ingest_2_to_1": round(in2["rps"] / in1["rps"], 2),
        "ratio_drain_2_to_1": round(drains[2]["rate_msgs_per_s"] / drains[1]["rate_msgs_per_s"], 2),
        "sent_twice": drains[1]["duplicates"] + drains[2]["duplicates"],
        "messages": messages,
        "seconds": seconds,
        "rounds": rounds,
    }


def report(summary: dict[str, Any]) -> str:
    i, d = summary["ingest"], summary["drain"]
    return "\n".join(
        [
            "scale: one vs two processes on one Postgres",
            f"  ingest: {i['1']['rps']:.0f} -> {i['2']['rps']:.0f} callbacks/s"
            f" ({summary['ratio_ingest_2_to_1']}x)",
            f"  drain:  {d['1']['rate_msgs_per_s']} -> {d['2']['rate_msgs_per_s']} msg/s"
            f" ({summary['ratio_drain_2_to_1']}x); sent twice: {summary['sent_twice']}",
        ]
    )
