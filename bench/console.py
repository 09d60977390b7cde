"""Console pages with 1,000,000 followers and 1,000,000 stored callbacks (issue 20): one
account seeded set-based (bench/console_seed.py), `wxgate serve` on loopback, a session
signed in through the form, then every console page (the overview, the account with its
charts, a follower lookup, messages with each filter, the event log with each filter and a
deep cursor, the endpoints, an endpoint's deliveries, the syncs) requested N times each, one
at a time. Prints p50/p95/max per page against the 200 ms target at p95.

Baseline in the same run: /healthz of the same server (the HTTP and aiohttp floor), so the
page times can also be read as a ratio. Run: `python -m bench console [--quick]` or
`make bench-console`; `python -m bench.console` does the same alone.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import re
import sys
import time
from typing import Any

import aiohttp
import asyncpg

from bench import common
from bench import console_seed as seed
from gateway.api import bodies

TARGET_MS = 200.0
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def pages(endpoint: str, events: int, message_id: int) -> list[tuple[str, str]]:
    """(name, path) of every page measured."""
    acc = f"/console/accounts/{seed.ACCOUNT}"
    who = seed.openid(4242)
    deep = bodies.encode_cursor(events // 2)
    day = "since=2026-01-01T00:00&until=2026-01-02T00:00"
    return [
        ("overview", "/console/"),
        ("account + charts", acc),
        ("follower lookup", f"{acc}/followers?openid={who}"),
        ("follower missing", f"{acc}/followers?openid=oNobody"),
        ("messages", f"{acc}/messages"),
        ("messages status=sent", f"{acc}/messages?status=sent"),
        ("messages status=held", f"{acc}/messages?status=held"),
        ("messages held reason", f"{acc}/messages?status=held&reason=quota_exhausted"),
        ("messages reason only", f"{acc}/messages?reason=not_subscribed"),
        ("messages status=queued", f"{acc}/messages?status=queued"),
        ("message detail", f"{acc}/messages/{message_id}"),
        ("events", f"{acc}/events"),
        ("events deep cursor", f"{acc}/events?cursor={deep}"),
        ("events type=message.text", f"{acc}/events?type=message.text"),
        ("events type=event.subscribe", f"{acc}/events?type=event.subscribe"),
        ("events type=event.scan (none)", f"{acc}/events?type=event.scan"),
        ("events openid", f"{acc}/events?openid={who}"),
        ("events time window", f"{acc}/events?{_day(15)}"),
        ("events type + time", f"{acc}/events?type=event.click&{_day(20)}"),
        ("events type + deep cursor", f"{acc}/events?type=message.image&cursor={deep}"),
        ("events until 15 days back", f"{acc}/events?{_day(15).split('&')[1]}"),
        ("events empty window", f"{acc}/events?{day}"),
        ("endpoints", f"{acc}/endpoints"),
        ("endpoint deliveries", f"{acc}/endpoints/{endpoint}"),
        ("endpoint status=failed", f"{acc}/endpoints/{endpoint}?status=failed"),
        ("syncs", f"{acc}/syncs"),
    ]


def _day(days_ago: int) -> str:
    """since/until of one day `days_ago` days back (the form's datetime-local format)."""
    start = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    start -= dt.timedelta(days=days_ago)
    until = start + dt.timedelta(days=1)
    return f"since={start:%Y-%m-%dT%H:%M}&until={until:%Y-%m-%dT%H:%M}"


async def _sign_in(session: aiohttp.ClientSession, base: str) -> None:
    async with session.get(f"{base}/console/sign-in") as resp:
        match = _CSRF.search(await resp.text())
    assert match, "no CSRF field on the sign-in page"
    form = {"csrf": html.unescape(match.group(1)), "token": common.API_TOKEN}
    async with session.post(f"{base}/console/sign-in", data=form, allow_redirects=False) as resp:
        if resp.status != 303:
            raise RuntimeError(f"sign-in: {resp.status} {await resp.text()}")


async def _time(session: aiohttp.ClientSession, url: str, n: int) -> dict[str, Any]:
    took, size = [], 0
    for _ in range(n):
        began = time.perf_counter()
        async with session.get(url, allow_redirects=False) as resp:
            body = await resp.read()
            if resp.status not in (200, 404):
                raise RuntimeError(f"{url}: {resp.status} {body[:300]!r}")
        took.append((time.perf_counter() - began) * 1000)
        size = len(body)
    return {
        "p50_ms": round(common.median(took), 1),
        "p95_ms": round(common.percentile(took, 95), 1),
        "max_ms": round(max(took), 1),
        "bytes": size,
    }


async def _measure(base: str, requests: int, endpoint: str, events: int, message: int) -> Any:
    jar = aiohttp.CookieJar(unsafe=True)  # a cookie for 127.0.0.1
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        await _sign_in(session, base)
        out: dict[str, Any] = {}
        for name, path in pages(endpoint, events, message):
            await _time(session, base + path, 2)  # warm-up: the first plans and templates
            out[name] = {"path": path, **await _time(session, base + path, requests)}
        baseline = await _time(session, base + "/healthz", requests)
    return out, baseline


def run(
    server: common.Server,
    followers: int = 1_000_000,
    events: int = 1_000_000,
    requests: int = 20,
    timeout: float = 1200,
    profile_seconds: int = 0,
) -> dict[str, Any]:
    del profile_seconds
    with common.database(server, "console") as db:
        began = time.monotonic()
        took = asyncio.run(asyncio.wait_for(seed.seed(db.admin_url, followers, events), timeout))
        seed_seconds = round(time.monotonic() - began, 1)
        common.log(f"console: seeded in {seed_seconds} s {took}")
        endpoint = "ep_" + "c" * 24
        message = asyncio.run(_a_message(db.admin_url))
        port = common.free_port()
        base = f"http://127.0.0.1:{port}"
        with common.process(
            common.serve_args(), common.gateway_env(db, port), f"{base}/healthz", "wxgate serve"
        ):
            measured, baseline = asyncio.run(
                asyncio.wait_for(_measure(base, requests, endpoint, events, message), timeout)
            )
    worst = max(v["p95_ms"] for v in measured.values())
    return {
        "name": "console",
        "followers": followers,
        "events": events,
        "requests_per_page": requests,
        "seed_seconds": seed_seconds,
        "seed_parts": took,
        "pages": measured,
        "baseline_healthz": baseline,
        "worst_p95_ms": worst,
        "target_p95_ms": TARGET_MS,
        "passed": worst < TARGET_MS,
    }


async def _a_message(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(
            await conn.fetchval(
                "SELECT max(id) FROM messages WHERE account_id = $1 AND status = 'held'",
                seed.ACCOUNT,
            )
        )
    finally:
        await conn.close()


def report(summary: dict[str, Any]) -> str:
    base = summary["baseline_healthz"]
    lines = [
        f"console pages: {summary['followers']:,} followers, {summary['events']:,} stored"
        f" callbacks, {summary['requests_per_page']} requests per page, one at a time"
        f" (seeded in {summary['seed_seconds']} s)",
        f"{'page':32} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'p95/healthz':>12}  target",
    ]
    for name, v in summary["pages"].items():
        ratio = v["p95_ms"] / base["p95_ms"] if base["p95_ms"] else 0.0
        mark = "ok" if v["p95_ms"] < summary["target_p95_ms"] else "SLOW"
        lines.append(
            f"{name:32} {v['p50_ms']:8.1f} {v['p95_ms']:8.1f} {v['max_ms']:8.1f}"
            f" {ratio:12.1f}  {mark}"
        )
    lines.append(
        f"{'baseline /healthz':32} {base['p50_ms']:8.1f} {base['p95_ms']:8.1f}"
        f" {base['max_ms']:8.1f}"
    )
    verdict = "every page" if summary["passed"] else "NOT every page"
    lines.append(
        f"worst p95 {summary['worst_p95_ms']} ms: {verdict} under {summary['target_p95_ms']:.0f} ms"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from bench.__main__ import main as bench_main

    return bench_main(["console", *(argv if argv is not None else sys.argv[1:])])


if __name__ == "__main__":
    sys.exit(main())
