"""LISTEN on `wxgate_release`: enqueues, window openings and re-subscribes NOTIFY it, and each
notification wakes the worker for an immediate pass (polling is only the fallback).

The listening connection is a dedicated one; if it drops, it is re-opened with backoff and
the worker is woken once, in case a notification was missed meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg

from gateway.store import errors

log = logging.getLogger(__name__)

CHANNEL = "wxgate_release"


class Listener:
    def __init__(self, dsn: str, wake: Callable[[], None], channel: str = CHANNEL) -> None:
        self._dsn = dsn
        self._wake = wake
        self._channel = channel
        self._stop = asyncio.Event()
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def _notified(self, conn: object, pid: int, channel: str, payload: object) -> None:
        self._wake()

    async def start(self, ready_within: float = 10.0) -> None:
        """Start listening; returns once LISTEN is active (or raises TimeoutError)."""
        self._task = asyncio.get_running_loop().create_task(self._run())
        await asyncio.wait_for(self._ready.wait(), ready_within)

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        delay = 0.5
        while not self._stop.is_set():
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self._dsn)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
                await conn.add_listener(self._channel, self._notified)
                self._ready.set()
                self._wake()  # anything notified while we were not listening
                delay = 0.5
                await _first(lost.wait(), self._stop.wait())
            except errors.FAILED as exc:  # the database is down or refused: try again
                log.warning("LISTEN connection failed: %s", exc, extra={"action": "listen_error"})
            finally:
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(*errors.FAILED):
                        await conn.close(timeout=2)
            if not self._stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=delay)
                delay = min(delay * 2, 30.0)


async def _first(*waits: object) -> None:
    tasks = [asyncio.ensure_future(w) for w in waits]  # type: ignore[call-overload]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
