"""Starting webhook delivery in a process: a dispatcher on the current loop with its own
HTTP session and LISTEN connection, and the handle that stops it."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
import asyncpg

from gateway import settings as settings_mod
from gateway import webhook_net
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
    ) -> None:
        self.dispatcher = dispatcher
        self._listener = listener
        self._task = task
        self._session = session

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


async def start(
    settings: settings_mod.Settings, pool: asyncpg.Pool, *, worker_id: str, **options: Any
) -> Handle:
    """Run a dispatcher on the current loop: its own HTTP session (guarded against private
    destinations unless allowed), LISTEN on wxgate_webhooks, and the claim loop."""
    assert settings.database_url
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
        raise
    task = asyncio.get_running_loop().create_task(dispatcher.run())
    return Handle(dispatcher, listener, task, session)
