"""`wxgate sync-followers ACCOUNT`: start a follower sync through the API and show its
progress (followers seen, pages, rate, elapsed) until it ends.

Talks to a running gateway over HTTP (`--url`, default http://127.0.0.1:8080) with
WXGATE_API_TOKEN; exit status 0 when the sync completes, 1 when it fails.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from gateway import errors

DEFAULT_URL = "http://127.0.0.1:8080"
POLL_SECONDS = 0.5


class SyncError(errors.WxgateError):
    """The sync could not be started or watched, or it failed: one line for the user."""


def _message(status: int, payload: Any) -> str:
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        return f"{error.get('code')}: {error.get('message')} (HTTP {status})"
    return f"HTTP {status}"


async def _json(
    session: aiohttp.ClientSession, method: str, url: str, token: str
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with session.request(method, url, headers=headers, json={}) as resp:
            try:
                payload = await resp.json(content_type=None)
            except ValueError:
                payload = None
            if resp.status >= 300:
                raise SyncError(_message(resp.status, payload))
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise SyncError(f"gateway unreachable at {url}: {type(exc).__name__}") from None
    if not isinstance(payload, dict):
        raise SyncError(f"unexpected answer from {url}")
    return payload


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.completed:,.0f} followers seen"),
        TextColumn("{task.fields[pages]} pages"),
        TextColumn("{task.fields[rate]:,.0f}/s"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


async def watch(
    base: str, token: str, account_id: str, *, console: Console | None = None
) -> dict[str, Any]:
    """Start the sync and poll it until it ends; the final sync resource."""
    console = console or Console(stderr=True)
    root = f"{base.rstrip('/')}/api/v1/accounts/{account_id}/followers/sync"
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        started = await _json(session, "POST", root, token)
        began = time.monotonic()
        with _progress(console) as progress:
            task = progress.add_task(f"sync {account_id}", total=None, pages=0, rate=0.0)
            while True:
                sync = await _json(session, "GET", f"{root}/{started['id']}", token)
                seen = int(sync.get("followers_seen") or 0)
                rate = seen / max(time.monotonic() - began, 1e-6)
                total = sync.get("total")
                progress.update(
                    task,
                    completed=seen,
                    total=int(total) if total is not None else None,
                    pages=sync.get("pages", 0),
                    rate=rate,
                )
                if sync["status"] != "running":
                    break
                await asyncio.sleep(POLL_SECONDS)
    if sync["status"] == "failed":
        raise SyncError(f"follower sync {sync['id']} failed: {sync.get('error')}")
    return sync


def run(base: str, token: str, account_id: str) -> dict[str, Any]:
    if not token:
        raise SyncError("set WXGATE_API_TOKEN (printed by wxgate run)")
    return asyncio.run(watch(base, token, account_id))
