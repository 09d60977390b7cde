"""Release latency, with `wxgate serve`, a worker (`python -m scheduler`) and the mock
platform as separate processes on loopback:

1. Permitted customer-service messages enqueued through the API at a fixed offered rate
   (open loop, 200/s): from the moment the POST starts to the moment the mock receives the
   send (the mock's sent log `at`; one clock, one machine).
2. Window reopen: a held message (the follower's window closed) released by the follower's
   text message (a mock follower action: the signed callback, its commit, NOTIFY, the claim,
   the send): from the action's POST to the mock receiving the send.

Baseline in the same run: the bare HTTP round trip of the same send made directly to the
mock at the same offered rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from typing import Any

import aiohttp
import asyncpg

from bench import common, profile, world

ACCOUNT = "rel"
OPEN, CLOSED = "oopen_", "oshut_"
CUSTOM = "/cgi-bin/message/custom/send"


async def _paced(count: int, rate: float, send: Callable[[int], Coroutine[Any, Any, None]]) -> None:
    """Start send(i) at start + i / rate (open loop: a slow answer does not slow the rate)."""
    start = time.monotonic()
    tasks: list[asyncio.Task[None]] = []
    for i in range(count):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(i)))
    await asyncio.gather(*tasks)


def _stats(values: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values]
    return {
        "count": len(ms),
        "p50_ms": round(common.percentile(ms, 50), 2),
        "p90_ms": round(common.percentile(ms, 90), 2),
        "p99_ms": round(common.percentile(ms, 99), 2),
        "max_ms": round(max(ms), 2) if ms else float("nan"),
    }


async def _scenario(
    server: common.Server,
    db: common.Database,
    gateway: str,
    mock: str,
    seconds: float,
    rate: float,
    followers: int,
    reopen: int,
    reopen_rate: float,
    baseline_seconds: float,
    start_worker: Callable[[], contextlib.AbstractContextManager[int]],
    gateway_pid: int,
    profile_seconds: int,
) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=connector) as session:
        api = world.Api(session, gateway)
        await api.create_account(ACCOUNT)
        await world.register_mock(session, mock, ACCOUNT, f"{gateway}/wechat/{ACCOUNT}", "service")
        conn = await asyncpg.connect(db.admin_url)
        try:
            await world.sql_followers(conn, ACCOUNT, OPEN, followers, window_open=True)
            await world.sql_followers(conn, ACCOUNT, CLOSED, reopen, window_open=False)
        finally:
            await conn.close()
        await world.mock_followers(session, mock, ACCOUNT, OPEN, followers, window_open=True)
        await world.mock_followers(session, mock, ACCOUNT, CLOSED, reopen, window_open=False)
        log = world.SentLog(session, mock, ACCOUNT)

        # Baseline: the same send, straight to the mock, at the same offered rate.
        token = await world.mock_token(session, mock, ACCOUNT)
        base_count = int(baseline_seconds * rate)
        base_rtt: list[float] = []

        async def direct(i: int) -> None:
            body = {"touser": world.openid(OPEN, i % followers), **world.text(f"b{i}")}
            began = time.monotonic()
            async with session.post(f"{mock}{CUSTOM}?access_token={token}", json=body) as resp:
                await resp.read()
            base_rtt.append(time.monotonic() - began)

        await _paced(base_count, rate, direct)
        common.log(f"release baseline: {base_count} direct sends")

        with start_worker() as worker_pid:
            # 1. Permitted messages at a fixed offered rate.
            count = int(seconds * rate)
            posted: dict[str, float] = {}
            api_rtt: list[float] = []
            failures = 0

            async def enqueue(i: int) -> None:
                nonlocal failures
                body = {
                    "type": "customer_service",
                    "to": world.openid(OPEN, i % followers),
                    "content": world.text(f"r{i}"),
                }
                posted[f"r{i}"] = time.time()
                began = time.monotonic()
                status, _ = await api.enqueue(ACCOUNT, body)
                api_rtt.append(time.monotonic() - began)
                if status != 202:
                    failures += 1

            recorders = []
            await common.reset_statements(db)
            cpu_before = {
                "gateway": common.cpu_seconds(gateway_pid),
                "worker": common.cpu_seconds(worker_pid),
                "postgres": common.postgres_cpu_seconds(server),
            }
            with contextlib.ExitStack() as spies:
                if profile_seconds:
                    span = min(profile_seconds, int(seconds))
                    for name, pid in (("worker", worker_pid), ("gateway", gateway_pid)):
                        spy = profile.record(pid, span, f"release-{name}")
                        recorders.append((name, spies.enter_context(spy)))
                await _paced(count, rate, enqueue)
            common.log(f"release: {count} messages enqueued at {rate:.0f}/s")

            def all_sent(entries: list[list[Any]]) -> bool:
                return sum(1 for e in entries if str(e[4]).startswith("r")) >= count

            complete = await log.wait(all_sent, timeout=60)
            latency = [e[0] - posted[e[4]] for e in log.entries if e[4] in posted]
            cpu_after = {
                "gateway": common.cpu_seconds(gateway_pid),
                "worker": common.cpu_seconds(worker_pid),
                "postgres": common.postgres_cpu_seconds(server),
            }
            top = await common.top_statements(db, 25)
            cpu = {
                name: None
                if after is None or cpu_before[name] is None
                else round(1e6 * (after - cpu_before[name]) / count)  # type: ignore[operator]
                for name, after in cpu_after.items()
            }

            # 2. Window reopen: hold one message per closed follower, then each writes.
            for j in range(reopen):
                body = {
                    "type": "customer_service",
                    "to": world.openid(CLOSED, j),
                    "content": world.text(f"w{j}"),
                }
                await api.enqueue(ACCOUNT, body)
            held = await _wait_held(db, reopen, timeout=60)
            acted: dict[str, float] = {}

            async def write(j: int) -> None:
                who = world.openid(CLOSED, j)
                acted[f"w{j}"] = time.time()
                async with session.post(
                    f"{mock}/_mock/accounts/{world.app_id(ACCOUNT)}/followers/{who}/actions",
                    json={"action": "text", "content": "hello"},
                ) as resp:
                    await resp.read()

            await _paced(reopen, reopen_rate, write)

            def all_released(entries: list[list[Any]]) -> bool:
                return sum(1 for e in entries if str(e[4]).startswith("w")) >= reopen

            reopened = await log.wait(all_released, timeout=60)
            reopen_latency = [e[0] - acted[e[4]] for e in log.entries if e[4] in acted]
    sent_keys = [e[4] for e in log.entries if e[2] == 0]
    summary: dict[str, Any] = {
        "benchmark": "release",
        "offered_rate": rate,
        "seconds": seconds,
        "release": _stats(latency),
        "api_round_trip": _stats(api_rtt),
        "baseline_direct_round_trip": _stats(base_rtt),
        "reopen": _stats(reopen_latency),
        "reopen_held_before": held,
        "all_sent": complete and reopened,
        "enqueue_failures": failures,
        "duplicates": len(sent_keys) - len(set(sent_keys)),
        "cpu_us_per_message": cpu,
        "top_statements": top,
    }
    summary["ratio_release_p50_to_baseline_p50"] = round(
        summary["release"]["p50_ms"] / summary["baseline_direct_round_trip"]["p50_ms"], 1
    )
    if recorders:
        summary["profile"] = {name: r.summary() for name, r in recorders}
    return summary


async def _wait_held(db: common.Database, count: int, timeout: float) -> int:  # noqa: ASYNC109
    conn = await asyncpg.connect(db.admin_url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            held = int(
                await conn.fetchval(
                    "SELECT count(*) FROM deliveries WHERE account_id = $1"
                    " AND status = 'held' AND wait_for = 'interaction'",
                    ACCOUNT,
                )
            )
            if held >= count or time.monotonic() > deadline:
                return held
            await asyncio.sleep(0.1)
    finally:
        await conn.close()


def run(
    server: common.Server,
    seconds: float = 30,
    rate: float = 200,
    followers: int = 1000,
    reopen: int = 200,
    reopen_rate: float = 20,
    baseline_seconds: float = 5,
    calls_per_second: float = 1000,
    profile_seconds: int = 0,
) -> dict[str, Any]:
    gateway_port, mock_port = common.free_port(), common.free_port()
    gateway, mock = f"http://127.0.0.1:{gateway_port}", f"http://127.0.0.1:{mock_port}"
    with (
        common.database(server, "release") as db,
        common.process(common.mock_args(mock_port), common.env(), f"{mock}/_mock/accounts", "mock"),
        common.process(
            common.serve_args(),
            common.gateway_env(db, gateway_port, WXGATE_WECHAT_API_BASE=mock),
            f"{gateway}/healthz",
            "gateway",
        ) as gateway_proc,
    ):

        @contextlib.contextmanager
        def start_worker() -> Any:
            with common.process(
                common.worker_args("--calls-per-second", str(calls_per_second)),
                common.gateway_env(db, 8080, WXGATE_WECHAT_API_BASE=mock),
                common.listeners(db, 1),
                "worker",
            ) as proc:
                yield proc.pid

        summary = asyncio.run(
            _scenario(
                server,
                db,
                gateway,
                mock,
                seconds,
                rate,
                followers,
                reopen,
                reopen_rate,
                baseline_seconds,
                start_worker,
                gateway_proc.pid,
                profile_seconds,
            )
        )
    summary["worker_calls_per_second_limit"] = calls_per_second
    return summary


def report(summary: dict[str, Any]) -> str:
    r, b, w, a = (
        summary["release"],
        summary["baseline_direct_round_trip"],
        summary["reopen"],
        summary["api_round_trip"],
    )
    return "\n".join(
        [
            f"release: {summary['offered_rate']:.0f} msg/s for {summary['seconds']} s",
            f"  enqueue -> mock received: p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms"
            f" ({r['count']} messages)",
            f"  API round trip:           p50 {a['p50_ms']} ms, p99 {a['p99_ms']} ms",
            f"  baseline direct send:     p50 {b['p50_ms']} ms, p99 {b['p99_ms']} ms",
            f"  window reopen -> sent:    p50 {w['p50_ms']} ms, p99 {w['p99_ms']} ms"
            f" ({w['count']} followers)",
            f"  release p50 / direct p50: {summary['ratio_release_p50_to_baseline_p50']}x;"
            f" duplicates {summary['duplicates']}",
            f"  CPU per message (us): {summary['cpu_us_per_message']}",
        ]
    )
