"""`python -m scheduler`: the release worker alone (what `wxgate worker` runs), with tuning
flags for tests and benchmarks. Configuration otherwise comes from WXGATE_* variables."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import sys

from gateway import logs
from gateway import settings as settings_mod
from scheduler import lifecycle, options


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scheduler")
    parser.add_argument("--calls-per-second", type=float, help="per-account WeChat call rate")
    parser.add_argument("--concurrency", type=int, help="per-account calls in flight")
    parser.add_argument(
        "--mass-calls-per-minute", type=float, help="per-account mass API call rate"
    )
    parser.add_argument("--lease-seconds", type=float, help="lease of a claimed delivery")
    parser.add_argument("--claim-total", type=int, help="rows one pass may claim")
    parser.add_argument(
        "--mass-rows-per-pass", type=int, help="rows of one openid-list mass message per pass"
    )
    parser.add_argument("--tick-seconds", type=float, help="polling interval")
    args = parser.parse_args(argv)
    opts = options.Options()
    limits = opts.limits
    if args.calls_per_second:
        rate = args.calls_per_second
        limits = dataclasses.replace(limits, calls_per_second=rate, burst=max(1.0, rate))
    if args.concurrency:
        limits = dataclasses.replace(limits, concurrency_per_account=args.concurrency)
    if args.mass_calls_per_minute:
        limits = dataclasses.replace(limits, mass_calls_per_minute=args.mass_calls_per_minute)
    changes: dict[str, object] = {"limits": limits}
    if args.lease_seconds:
        changes["lease"] = dt.timedelta(seconds=args.lease_seconds)
    if args.claim_total:
        changes["claim_total"] = args.claim_total
    if args.mass_rows_per_pass:
        changes["mass_rows_per_pass"] = args.mass_rows_per_pass
    if args.tick_seconds:
        changes["tick_seconds"] = args.tick_seconds
    opts = dataclasses.replace(opts, **changes)  # type: ignore[arg-type]
    try:
        settings = settings_mod.load()
    except settings_mod.SettingsError as exc:
        print(f"scheduler: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    logs.configure(settings.log_format, settings.log_level)
    _fast_loop()
    try:
        asyncio.run(lifecycle.run_worker(settings, options=opts))
    except ValueError as exc:
        print(f"scheduler: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    return 0


def _fast_loop() -> None:
    """uvloop where it is installed, as `wxgate worker` runs: cheaper sockets and callbacks."""
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


if __name__ == "__main__":
    sys.exit(main())
