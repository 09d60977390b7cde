"""The product as processes, for the reliability tests: `wxgate serve` and `python -m
scheduler` as subprocesses (killed, restarted, starved of their database) and the mock WeChat
platform on loopback, everything reached over HTTP. Every wait is bounded."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from tests import wx
from tests.e2e import procs

ROOT = Path(__file__).resolve().parents[2]
WXGATE = str(Path(sys.executable).parent / "wxgate")
API_TOKEN = "rel-api-token-5b0c9e1d7a"


def env(**extra: str) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("WXGATE_")}
    out.setdefault("XDG_RUNTIME_DIR", "/tmp")
    out.update(extra)
    return out


async def spawn(argv: list[str], environ: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as out:  # the child keeps its own descriptor
        return await asyncio.create_subprocess_exec(
            *argv, cwd=ROOT, env=environ, stdout=out, stderr=asyncio.subprocess.STDOUT
        )


async def stop(proc: asyncio.subprocess.Process, *, within: float = 15.0) -> int:
    """SIGTERM, then SIGKILL if it has not exited `within` seconds."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), within)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode


async def kill(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    await proc.wait()


async def until(check: Callable[[], Awaitable[bool]], what: str, within: float) -> None:
    """Poll a condition another process brings about, bounded in time."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {within}s")
        await asyncio.sleep(0.05)


async def wait_http(url: str, *, within: float = 30.0, proc: Any = None) -> None:
    async with aiohttp.ClientSession() as session:

        async def up() -> bool:
            if proc is not None and proc.returncode is not None:
                raise RuntimeError(f"process exited ({proc.returncode}) before {url} answered")
            try:
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as resp:
                    return resp.status == 200
            except (aiohttp.ClientError, TimeoutError):
                return False

        await until(up, f"{url} answering", within)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@dataclasses.dataclass
class Gateway:
    """A `wxgate serve` subprocess and a client session for its HTTP API."""

    proc: asyncio.subprocess.Process
    base: str
    session: aiohttp.ClientSession

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        async with self.session.request(
            method, self.base + "/api/v1" + path, json=body, headers=headers
        ) as resp:
            text = await resp.text()
            try:
                payload = json.loads(text)
            except ValueError:
                payload = {"text": text}
            return resp.status, payload

    async def create_account(
        self, account_id: str, *, app_id: str, app_secret: str, aes_key: str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": account_id,
            "kind": "service",
            "app_id": app_id,
            "app_secret": app_secret,
            "token": wx.TOKEN,
        }
        if aes_key is not None:
            body["encoding_aes_key"] = aes_key
        status, answer = await self.api("POST", "/accounts", body)
        assert status == 201, answer
        return dict(answer)

    async def callback(
        self, account_id: str, fields: dict[str, Any], *, within: float = 10.0, **kw: Any
    ) -> tuple[int, float]:
        """POST a signed callback; (status, seconds taken). Status 0: no answer in time."""
        query, body = wx.callback(fields, **kw)
        started = time.monotonic()
        try:
            async with self.session.post(
                f"{self.base}/wechat/{account_id}",
                params=query,
                data=body,
                timeout=aiohttp.ClientTimeout(total=within),
            ) as resp:
                await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError):
            status = 0
        return status, time.monotonic() - started


@contextlib.asynccontextmanager
async def gateway(
    db_url: str, log: Path, *, api_base: str = "http://127.0.0.1:9", **extra: str
) -> AsyncIterator[Gateway]:
    port = procs.free_port()
    environ = env(
        WXGATE_DATABASE_URL=db_url,
        WXGATE_API_TOKEN=API_TOKEN,
        WXGATE_HOST="127.0.0.1",
        WXGATE_PORT=str(port),
        WXGATE_WECHAT_API_BASE=api_base,
        WXGATE_PUBLIC_URL=f"http://127.0.0.1:{port}",
        **extra,
    )
    proc = await spawn([WXGATE, "serve"], environ, log)
    try:
        base = f"http://127.0.0.1:{port}"
        await wait_http(base + "/healthz", proc=proc)
        async with aiohttp.ClientSession() as session:
            yield Gateway(proc, base, session)
    finally:
        await stop(proc)


WORKER_FLAGS = (
    "--lease-seconds=2",
    "--calls-per-second=1000",
    "--concurrency=8",
    "--tick-seconds=0.2",
)


async def start_worker(
    db_url: str, api_base: str, log: Path, *flags: str, **extra: str
) -> asyncio.subprocess.Process:
    """`python -m scheduler` against the database and the (mock) platform."""
    environ = env(
        WXGATE_DATABASE_URL=db_url,
        WXGATE_WECHAT_API_BASE=api_base,
        WXGATE_LOG_LEVEL=extra.pop("WXGATE_LOG_LEVEL", "INFO"),
        **extra,
    )
    argv = [sys.executable, "-m", "scheduler", *(flags or WORKER_FLAGS)]
    return await spawn(argv, environ, log)
