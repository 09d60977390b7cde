"""`python -m bench {ingest,release,drain,fanout,scale,sync,console,replies,webhooks,
webhook_latency,all} [--quick] [flags]`

Each benchmark starts what it needs (a private Postgres, the gateway, workers, the mock
platform, wrk) on loopback, is bounded in time and count, stops everything it started, writes
bench/results/<name>.json, and the results table goes to stdout and bench/results/summary.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from bench import (
    calibrate,
    common,
    drain,
    fanout,
    ingest,
    release,
    replies,
    scale,
    table,
    webhook_latency,
    webhooks,
)
from bench import console as console_bench
from bench import sync as sync_bench

NAMES = (
    "calibrate",
    "ingest",
    "release",
    "drain",
    "fanout",
    "scale",
    "sync",
    "console",
    "replies",
    "webhooks",
    "webhook_latency",
)

# name -> (full defaults, --quick defaults); flags given on the command line win.
DEFAULTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "calibrate": ({"statements": 4000}, {"statements": 2000}),
    "ingest": (
        {"seconds": 10, "rounds": 3, "connections": 64},
        {"seconds": 5, "rounds": 1, "connections": 64},
    ),
    "release": (
        {"seconds": 30, "rate": 200, "followers": 1000, "reopen": 200, "baseline_seconds": 5},
        {"seconds": 10, "rate": 200, "followers": 500, "reopen": 50, "baseline_seconds": 2},
    ),
    "drain": (
        {"messages": 100_000, "followers": 10_000, "baseline_seconds": 10, "timeout": 300},
        {"messages": 20_000, "followers": 10_000, "baseline_seconds": 3, "timeout": 60},
    ),
    "fanout": (
        {"followers": 1_000_000, "timeout": 600},
        {"followers": 100_000, "timeout": 60},
    ),
    "scale": (
        {"seconds": 10, "rounds": 3, "connections": 64, "messages": 50_000, "timeout": 300},
        {"seconds": 4, "rounds": 1, "connections": 64, "messages": 10_000, "timeout": 60},
    ),
    "sync": ({"followers": 1_000_000, "timeout": 900}, {"followers": 50_000, "timeout": 120}),
    "console": (
        {"followers": 1_000_000, "events": 1_000_000, "requests": 20, "timeout": 1200},
        {"followers": 100_000, "events": 100_000, "requests": 10, "timeout": 300},
    ),
    "replies": (
        {"seconds": 5, "rounds": 3, "connections": 64},
        {"seconds": 3, "rounds": 1, "connections": 64},
    ),
    "webhooks": (
        {"callbacks": 10_000, "rounds": 5, "deliveries": 10_000, "http_seconds": 5},
        {"callbacks": 2_000, "rounds": 3, "deliveries": 1_000, "http_seconds": 3},
    ),
    "webhook_latency": ({"rate": 500.0, "seconds": 20.0}, {"rate": 500.0, "seconds": 5.0}),
}

RUNNERS: dict[str, tuple[Callable[..., dict[str, Any]], Callable[[dict[str, Any]], str]]] = {
    "calibrate": (calibrate.run, calibrate.report),
    "ingest": (ingest.run, ingest.report),
    "release": (release.run, release.report),
    "drain": (drain.run, drain.report),
    "fanout": (fanout.run, fanout.report),
    "scale": (scale.run, scale.report),
    "sync": (sync_bench.run, sync_bench.report),
    "console": (console_bench.run, console_bench.report),
    "replies": (replies.run, replies.report),
    "webhooks": (webhooks.measure, webhooks.report),
    "webhook_latency": (webhook_latency.measure, webhook_latency.report),
}

# Which parameters each runner takes from the shared flags.
PARAMS = {
    "calibrate": (),
    "ingest": ("seconds", "rounds", "connections"),
    "release": ("seconds", "rate", "followers", "reopen", "baseline_seconds"),
    "drain": ("messages", "followers", "baseline_seconds", "timeout"),
    "fanout": ("followers", "timeout"),
    "scale": ("seconds", "rounds", "connections", "messages", "timeout"),
    "sync": ("followers", "timeout"),
    "console": ("followers", "events", "requests", "timeout"),
    "replies": ("seconds", "rounds", "connections"),
    "webhooks": (),
    "webhook_latency": ("rate",),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("benchmark", choices=(*NAMES, "all", "table"))
    parser.add_argument("--quick", action="store_true", help="small sizes, each under a minute")
    parser.add_argument(
        "--seconds",
        type=int,
        help="ingest/scale: seconds per wrk run; release: seconds of offered load",
    )
    parser.add_argument("--rounds", type=int, help="ingest/scale: wrk rounds per server")
    parser.add_argument("--connections", type=int, help="ingest/scale: wrk connections")
    parser.add_argument("--rate", type=float, help="release: messages per second offered")
    parser.add_argument("--reopen", type=int, help="release: followers whose window reopens")
    parser.add_argument("--messages", type=int, help="drain/scale: messages queued")
    parser.add_argument("--followers", type=int, help="drain/release/fanout: followers")
    parser.add_argument("--events", type=int, help="console: stored callbacks seeded")
    parser.add_argument("--requests", type=int, help="console: requests per page")
    parser.add_argument("--baseline-seconds", type=float, help="release/drain: baseline length")
    parser.add_argument("--timeout", type=float, help="drain/fanout/scale: give up after")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="SECONDS",
        help="record the main process with py-spy for SECONDS (bench/results/profile-*.txt)",
    )
    return parser


def _params(name: str, args: argparse.Namespace) -> dict[str, Any]:
    full, quick = DEFAULTS[name]
    params = dict(quick if args.quick else full)
    for key in PARAMS[name]:
        value = getattr(args, key, None)
        if value is not None:
            params[key] = value
    if args.profile and name not in ("scale", "calibrate", "webhooks", "webhook_latency"):
        params["profile_seconds"] = args.profile
    return params


def _stop(signum: int, frame: object) -> None:
    # SIGTERM as an exception: every `with` unwinds and stops what it started.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _stop)
    args = _parser().parse_args(argv)
    if args.benchmark == "table":
        print(table.write())
        return 0
    names = NAMES if args.benchmark == "all" else (args.benchmark,)
    failed = []
    with common.postgres() as server:
        common.log(f"postgres: {server.flavour} {server.version}; statements: {server.stats}")
        for name in names:
            params = _params(name, args)
            common.log(f"{name}: {params}")
            run, report = RUNNERS[name]
            began = time.monotonic()
            try:
                summary = run(server, **params)
            except Exception as exc:  # one benchmark failing must not lose the others
                common.log(f"{name} FAILED: {type(exc).__name__}: {exc}")
                failed.append(name)
                continue
            summary["quick"] = args.quick
            summary["params"] = params
            summary["duration_seconds"] = round(time.monotonic() - began, 1)
            summary["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            summary["machine"] = common.machine()
            summary["postgres"] = f"{server.flavour} {server.version}"
            common.save(name, summary)
            print(report(summary), flush=True)
    print()
    print(table.write())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
