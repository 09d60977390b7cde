"""Starting webhook delivery in a process: a dispatcher on the current loop with its own
pool, HTTP session and LISTEN connection, and the handle that stops it."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
import asyncpg

from gateway import settings as settings_mod
from gateway import webhook_net
from gateway.store import pool as pool_mod
from scheduler import listen
from scheduler.webhooks import CHANNEL, Dispatcher

log = logging.getLogger(__name__)


class Handle:
    """A running dispatcher with its session and LISTEN connection."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        listener: listen.Listener,
        task: asyncio.Task[None],
        session: aiohttp.ClientSession,
        own_pool: asyncpg.Pool | None,
    ) -> None:
        self.dispatcher = dispatcher
        self._listener = listener
        self._task = task
        self._session = session
        self._own_pool = own_pool

    async def stop(self) -> None:
        """Stop claiming, let requests in flight finish (bounded) and write their outcomes."""
        self.dispatcher.stopping.set()
        await self._listener.stop()
        try:
            await asyncio.wait_for(self._task, timeout=self.dispatcher.timeout + 5)
        except TimeoutError:
            log.warning("webhook dispatcher did not stop in time", extra={"action": "wh_stop"})
        finally:
            await self._session.close()
            if self._own_pool is not None:
                await self._own_pool.close()


async def open_pool(dsn: str) -> asyncpg.Pool:
    """The dispatcher's pool. Its statements are planned on every run (custom plans): the
    queue it claims from grows from a few rows to many thousands within seconds in a burst,
    faster than autovacuum analyzes it, and a prepared claim's generic plan, made after five
    runs while the queue was small, then read every delivery of the endpoint and every
    callback of the account per claimed row (31-128 ms a claim at 500 callbacks/s, against
    1-1.5 ms planned each run). The worker's other statements keep the plan cache: planned
    each run, the message drain's Postgres CPU rose from 262-293 to 380-416 us a message."""
    return await pool_mod.create(dsn, size=4, custom_plans=True)


async def start(
    settings: settings_mod.Settings,
    pool: asyncpg.Pool | None = None,
    *,
    worker_id: str,
    **options: Any,
) -> Handle:
    """Run a dispatcher on the current loop: its own pool (`open_pool`, unless `pool` is
    given), its own HTTP session (guarded against private destinations unless allowed),
    LISTEN on wxgate_webhooks, and the claim loop."""
    assert settings.database_url
    own_pool = await open_pool(settings.database_url) if pool is None else None
    pool = pool or own_pool
    assert pool is not None
    session = aiohttp.ClientSession(
        connector=webhook_net.connector(settings.webhook_allow_private, limit=0)
    )
    dispatcher = Dispatcher(settings, pool, session, worker_id=worker_id, **options)
    listener = listen.Listener(settings.database_url, dispatcher.wake, channel=CHANNEL)
    try:
        await listener.start()
    except BaseException:
        await listener.stop()
        await session.close()
        if own_pool is not None:
            await own_pool.close()
        raise
    task = asyncio.get_running_loop().create_task(dispatcher.run())
    return Handle(dispatcher, listener, task, session, own_pool)
