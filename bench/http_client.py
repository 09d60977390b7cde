"""The HTTP client ceiling: a plain aiohttp client loop (uvloop, keep-alive, `concurrency`
calls in flight) making the drain's calls, customer-service sends to the mock, directly.

`python -m bench.http_client API_BASE TOKEN OPENID_PREFIX FOLLOWERS CALLS CONCURRENCY SECONDS`
prints one JSON line: {"calls", "seconds", "rps", "cpu_us_per_call", "errors"}.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import aiohttp
import uvloop

PATH = "/cgi-bin/message/custom/send"


async def main(
    base: str, token: str, prefix: str, followers: int, calls: int, concurrency: int, seconds: float
) -> dict[str, float | int]:
    url = f"{base}{PATH}?access_token={token}"
    done = errors = 0
    deadline = time.monotonic() + seconds
    headers = {"Content-Type": "application/json"}

    async def loop(session: aiohttp.ClientSession, lane: int) -> None:
        nonlocal done, errors
        i = lane
        while i < calls and time.monotonic() < deadline:
            body = {
                "touser": f"{prefix}{i % followers:022d}",
                "msgtype": "text",
                "text": {"content": f"b{i}"},
            }
            data = json.dumps(body, separators=(",", ":")).encode()
            async with session.post(url, data=data, headers=headers) as resp:
                answer = json.loads(await resp.text())
            if resp.status != 200 or answer.get("errcode", 0) != 0:
                errors += 1
            done += 1
            i += concurrency

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        start, cpu = time.monotonic(), time.process_time()
        await asyncio.gather(*(loop(session, lane) for lane in range(concurrency)))
        elapsed, cpu = time.monotonic() - start, time.process_time() - cpu
    return {
        "calls": done,
        "seconds": round(elapsed, 3),
        "rps": round(done / elapsed, 1),
        "cpu_us_per_call": round(1e6 * cpu / max(done, 1), 1),
        "errors": errors,
    }


if __name__ == "__main__":
    base, token, prefix = sys.argv[1:4]
    followers, calls, concurrency = (int(x) for x in sys.argv[4:7])
    seconds = float(sys.argv[7])
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    result = asyncio.run(main(base, token, prefix, followers, calls, concurrency, seconds))
    print(json.dumps(result))
