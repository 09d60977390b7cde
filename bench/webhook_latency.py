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
import uvloop

from bench import common, raw_http
from gateway.wechat import xmlcodec
from tests import wx

CONTENT = re.compile(rb'"content":\s*"([^"]*)"')


def _requests(host: str, rate: float, total: int, start_wall: float) -> list[tuple[str, bytes]]:
    """Every callback of the run as the bytes of its request, signed and encoded before the
    clock starts (the harness shares the two cores with what it measures). Each carries the
    time it is sent at as its CreateTime."""
    built = []
    for n in range(total):
        key = f"c{n}"
        at = str(int(start_wall + n / rate))
        fields = wx.text(key, openid=f"o{n % 2000:05d}", create_time=int(at), msg_id=n + 1)
        query = wx.signed_query(timestamp=at)
        query["openid"] = str(fields["FromUserName"])
        target = f"/wechat/lat?{urllib.parse.urlencode(query)}"
        body = xmlcodec.build(fields).encode()
        built.append((key, raw_http.Client.request(host, target, body, "text/xml")))
    return built


async def _setup(base: str, endpoint_url: str) -> None:
    """The account and its endpoint, through the API."""
    auth = {"Authorization": f"Bearer {common.API_TOKEN}"}
    account = {
        "id": "lat",
        "kind": "service",
        "app_id": "wx00000000000000aa",
        "app_secret": "s",
        "token": wx.TOKEN,
    }
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base}/api/v1/accounts", json=account, headers=auth) as r:
            assert r.status == 201, await r.text()
        path = f"{base}/api/v1/accounts/lat/endpoints"
        async with session.post(path, json={"url": endpoint_url}, headers=auth) as r:
            assert r.status == 201, await r.text()


async def _load(
    port: int, rate: float, seconds: float, cpu: Callable[[], dict[str, float]]
) -> dict[str, Any]:
    """The run. The harness is WeChat and the endpoint at once, on bare protocols
    (bench/raw_http.py); times are perf_counter's (uvloop's clock ticks in milliseconds)."""
    clock = time.perf_counter
    sent: dict[str, float] = {}
    received: dict[str, float] = {}
    total = int(rate * seconds)
    everything = asyncio.Event()

    def receive(body: bytes) -> None:
        # the key read from the body by a regular expression rather than a JSON parse
        found = CONTENT.search(body)
        if found is not None:
            received.setdefault(found.group(1).decode(), clock())
        if len(received) >= total:
            everything.set()

    endpoint_port = common.free_port()
    endpoint = await raw_http.serve("127.0.0.1", endpoint_port, receive)
    client = raw_http.Client("127.0.0.1", port)
    try:
        await _setup(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{endpoint_port}/hook")
        statuses: list[int] = []
        answered: dict[str, float] = {}
        start_wall = time.time() + 1.0
        requests = _requests(f"127.0.0.1:{port}", rate, total, start_wall)

        async def one(key: str, request: bytes) -> None:
            sent[key] = clock()
            statuses.append(await client.send(request))
            answered[key] = clock()

        tasks = []
        await asyncio.sleep(max(0.0, start_wall - time.time()))
        cpu_started = cpu()
        start = clock()
        for n, (key, request) in enumerate(requests):
            delay = start + n / rate - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(key, request)))
        await asyncio.gather(*tasks)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(everything.wait(), timeout=30)
        cpu_used = {k: v - cpu_started[k] for k, v in cpu().items()}
    finally:
        await client.close()
        endpoint.close()
        await endpoint.wait_closed()
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
            # on uvloop, as the gateway and the worker run: the harness shares their two cores
            summary = uvloop.run(_load(port, rate, seconds, cpu))
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
