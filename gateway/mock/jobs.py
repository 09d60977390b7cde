"""Background pushes of job-finish events (TEMPLATESENDJOBFINISH, MASSSENDJOBFINISH)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import aiohttp
from aiohttp import web

from gateway.mock import callbacks, events, keys, state

log = logging.getLogger(__name__)

Build = Callable[[int], events.Fields]


def push_later(app: web.Application, account: state.Account, openid: str, build: Build) -> None:
    """Push `build(create_time)` to the account after the configured job-finish delay."""
    settings = app[keys.CONFIG]

    async def push() -> None:
        await asyncio.sleep(settings.job_finish_delay)
        now = settings.now()
        fields = build(int(now.timestamp()))
        await callbacks.deliver(app[keys.HTTP], settings, account, fields, openid, now)

    tasks = app[keys.TASKS]
    task = asyncio.get_running_loop().create_task(push())
    tasks.add(task)
    task.add_done_callback(_finished(tasks))


def _finished(tasks: set[asyncio.Task[None]]) -> Callable[[asyncio.Task[None]], None]:
    def done(task: asyncio.Task[None]) -> None:
        tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "job-finish push failed",
                exc_info=task.exception(),
                extra={"action": "mock_job_push"},
            )

    return done


async def resources(app: web.Application) -> AsyncIterator[None]:
    """The outbound HTTP session and the pending pushes, for the app's cleanup_ctx."""
    async with aiohttp.ClientSession() as session:
        app[keys.HTTP] = session
        yield
        tasks = app[keys.TASKS]
        pending = list(tasks)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
