"""`run_mock` serves the mock platform on its own (the future `wxgate mock-wechat`)."""

from __future__ import annotations

import asyncio
import socket
import sys

import aiohttp


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _wait_until_up(url: str) -> dict[str, object]:
    async with aiohttp.ClientSession() as session, asyncio.timeout(20):
        while True:
            try:
                async with session.get(url) as answer:
                    return dict(await answer.json())
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)


async def test_run_mock_serves_until_terminated() -> None:
    port = _free_port()
    code = f"from gateway.mock import main; main.run_mock('127.0.0.1', {port})"
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", code)
    try:
        listed = await _wait_until_up(f"http://127.0.0.1:{port}/_mock/accounts")
        assert listed == {"accounts": []}
    finally:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout=10)
        except TimeoutError:
            process.kill()
            await process.wait()
    assert process.returncode is not None
