"""`python -m bench.webhook_latency [--rate 500] [--seconds 20]`: callback to the endpoint's
receipt, through `wxgate serve` and one `python -m scheduler` worker, at a fixed open-loop
callback rate. Target (issue 16): p50 under 50 ms, p99 under 250 ms at 500 callbacks/s.

The harness process sends signed plaintext callbacks and runs the receiving endpoint, so
both times come from one clock.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import aiohttp
import yarl
from aiohttp import web

from bench import common
from gateway.wechat import xmlcodec
from tests import wx

CONTENT = re.compile(rb'"content":\s*"([^"]*)"')


def _requests(
    base: str, rate: float, total: int, start_wall: float
) -> list[tuple[str, yarl.URL, bytes]]:
    """Every callback of the run, signed and encoded before the clock starts (the harness
    shares the two cores with what it measures: building them during the run took CPU from
    the gateway and the worker). Each carries the time it is sent at as its CreateTime."""
    built = []
    for n in range(total):
        key = f"c{n}"
        at = str(int(start_wall + n / rate))
        fields = wx.text(key, openid=f"o{n % 2000:05d}", create_time=int(at), msg_id=n + 1)
        query = wx.signed_query(timestamp=at)
        query["openid"] = str(fields["FromUserName"])
        url = yarl.URL(f"{base}/wechat/lat?{urllib.parse.urlencode(query)}", encoded=True)
        built.append((key, url, xmlcodec.build(fields).encode()))
    return built


async def _load(
    base: str, rate: float, seconds: float, cpu: Callable[[], dict[str, float]]
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    sent: dict[str, float] = {}
    received: dict[str, float] = {}
    total = int(rate * seconds)
    everything = asyncio.Event()

    async def receive(request: web.BaseRequest) -> web.Response:
        # aiohttp's low-level server (no router, no middleware); the key read from the body
        # by a regular expression rather than a JSON parse
        found = CONTENT.search(await request.read())
        if found is not None:
            received.setdefault(found.group(1).decode(), loop.time())
        if len(received) >= total:
            everything.set()
        return web.Response(text="ok")

    runner = web.ServerRunner(web.Server(receive, access_log=None))
    await runner.setup()
    port = common.free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    auth = {"Authorization": f"Bearer {common.API_TOKEN}"}
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256)) as session:
            account = {
                "id": "lat",
                "kind": "service",
                "app_id": "wx00000000000000aa",
                "app_secret": "s",
                "token": wx.TOKEN,
            }
            async with session.post(f"{base}/api/v1/accounts", json=account, headers=auth) as r:
                assert r.status == 201, await r.text()
            endpoint = {"url": f"http://127.0.0.1:{port}/hook"}
            path = f"{base}/api/v1/accounts/lat/endpoints"
            async with session.post(path, json=endpoint, headers=auth) as r:
                assert r.status == 201, await r.text()
            statuses: list[int] = []
            answered: dict[str, float] = {}
            start_wall = time.time() + 1.0
            requests = _requests(base, rate, total, start_wall)

            async def one(key: str, url: yarl.URL, body: bytes) -> None:
                sent[key] = loop.time()
                async with session.post(url, data=body) as r:
                    await r.read()
                    statuses.append(r.status)
                answered[key] = loop.time()

            tasks = []
            await asyncio.sleep(max(0.0, start_wall - time.time()))
            cpu_started = cpu()
            start = loop.time()
            for n, request in enumerate(requests):
                delay = start + n / rate - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(*request)))
            await asyncio.gather(*tasks)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(everything.wait(), timeout=30)
            cpu_used = {k: v - cpu_started[k] for k, v in cpu().items()}
    finally:
        await runner.cleanup()
    latencies = [(received[k] - sent[k]) * 1000 for k in sent if k in received]
    answers = [(answered[k] - sent[k]) * 1000 for k in sent if k in answered]
    # After the answer: the commit's NOTIFY, the worker's claim, the request to the endpoint.
    after = [(received[k] - answered[k]) * 1000 for k in sent if k in received and k in answered]
    # p50 of the receipt latency by the second the callback was sent in: a run that falls
    # behind shows it growing, a stall shows as one bad second.
    by_second: dict[int, list[float]] = {}
    for k in sent:
        if k in received:
            by_second.setdefault(int(sent[k] - start), []).append((received[k] - sent[k]) * 1000)
    return {
        "rate": rate,
        "callbacks": len(sent),
        "answered_200": sum(s == 200 for s in statuses),
        "received": len(latencies),
        "p50_ms": round(common.percentile(latencies, 50), 1),
        "p99_ms": round(common.percentile(latencies, 99), 1),
        "max_ms": round(max(latencies), 1) if latencies else None,
        "answer_p50_ms": round(common.percentile(answers, 50), 1),
        "answer_p99_ms": round(common.percentile(answers, 99), 1),
        "after_answer_p50_ms": round(common.percentile(after, 50), 1),
        "after_answer_p99_ms": round(common.percentile(after, 99), 1),
        # CPU milliseconds per callback from the first callback sent to the last receipt, by
        # process: where the two cores went
        "cpu_ms_per_callback": {k: round(v * 1000 / total, 3) for k, v in cpu_used.items()},
        "p50_ms_by_second": [
            round(common.percentile(v, 50), 1) for _, v in sorted(by_second.items())
        ],
    }


def run(rate: float, seconds: float) -> dict[str, Any]:
    with common.postgres() as server:
        return measure(server, rate, seconds)


def measure(server: common.Server, rate: float = 500.0, seconds: float = 20.0) -> dict[str, Any]:
    """The latency run on one Postgres server (`python -m bench webhook_latency` runs this)."""
    with common.database(server, "wh_latency") as db:
        port = common.free_port()
        base = f"http://127.0.0.1:{port}"
        extra = {"WXGATE_WEBHOOK_ALLOW_PRIVATE": "true"}
        serve_env = common.gateway_env(db, port, WXGATE_PUBLIC_URL=base, **extra)
        worker_env = common.env(
            WXGATE_DATABASE_URL=db.url,
            WXGATE_WECHAT_API_BASE="http://127.0.0.1:9",
            WXGATE_LOG_LEVEL="WARNING",
            **extra,
        )
        with (
            common.process(common.serve_args(), serve_env, f"{base}/healthz", "serve") as serve,
            common.process(
                common.worker_args(), worker_env, common.listeners(db, 1), "worker"
            ) as worker,
        ):

            def cpu() -> dict[str, float]:
                return {
                    "gateway": common.cpu_seconds(serve.pid),
                    "worker": common.cpu_seconds(worker.pid),
                    "postgres": common.postgres_cpu_seconds(server) or 0.0,
                    "harness": common.cpu_seconds(os.getpid()),
                }

            asyncio.run(common.reset_statements(db))
            summary = asyncio.run(_load(base, rate, seconds, cpu))
            # Where the database time went: calls, total and mean time of the top statements.
            summary["top_statements"] = [
                {
                    "query": t["query"],
                    "calls": t["calls"],
                    "total_ms": round(t["total_ms"]),
                    "mean_ms": round(t["total_ms"] / max(t["calls"], 1), 2),
                    "rows": t["rows"],
                }
                for t in asyncio.run(common.top_statements(db, 6))
            ]
    summary["machine"] = common.machine()
    return summary


def report(summary: dict[str, Any]) -> str:
    return (
        f"webhook latency at {summary['rate']:g}/s: p50 {summary['p50_ms']} ms, p99"
        f" {summary['p99_ms']} ms (targets 50 / 250), {summary['received']} of"
        f" {summary['callbacks']} received; the callback's answer p50 {summary['answer_p50_ms']}"
        f" / p99 {summary['answer_p99_ms']} ms, answer to receipt p50"
        f" {summary['after_answer_p50_ms']} / p99 {summary['after_answer_p99_ms']} ms;"
        f" p50 by second sent: {summary['p50_ms_by_second']}\n  CPU ms per callback (sent to"
        f" received): {summary['cpu_ms_per_callback']}"
    )


def statements(summary: dict[str, Any]) -> str:
    return "\n".join(
        f"  {t['query']}: {t['calls']} calls, {t['total_ms']} ms ({t['mean_ms']} ms a call,"
        f" {t['rows']} rows)"
        for t in summary.get("top_statements", [])
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.webhook_latency")
    parser.add_argument("--rate", type=float, default=500.0, help="callbacks per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    summary = run(args.rate, args.seconds)
    common.save("webhook_latency", summary)
    print(report(summary))
    print(statements(summary))


if __name__ == "__main__":
    main()
