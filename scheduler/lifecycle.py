"""Starting and stopping a worker: its HTTP session, LISTEN, webhook dispatch, the periodic
jobs, the release loops and the follower-sync loop, opened and closed together.

`running()` is the one async context manager of that; `start_worker()` hands back the open
worker for a process that owns the pool (`wxgate run`); `run_worker()` is the `wxgate worker`
process: its own pool, and a clean stop on SIGTERM/SIGINT within 10 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator

import aiohttp
import asyncpg

from gateway import settings as settings_mod
from gateway.store import pool as pool_mod
from gateway.wechat import client as wx
from scheduler import jobs, listen, menus, polling, syncs, webhook_start
from scheduler import options as options_mod
from scheduler import worker as worker_mod

log = logging.getLogger(__name__)


class WorkerHandle:
    """A started worker: `await handle.stop()` stops it cleanly."""

    def __init__(
        self,
        worker: worker_mod.Worker,
        listener: listen.Listener,
        runners: list[asyncio.Task[None]],
        session: aiohttp.ClientSession | None,
        hooks: webhook_start.Handle | None = None,
    ) -> None:
        self.worker = worker
        self.webhooks = hooks
        self._listener = listener
        self._runners = runners
        self._session = session
        self._scheduler = jobs.start(worker.wake, worker.maintenance, worker.options, worker.tz)

    async def stop(self) -> None:
        """Stop taking work, let calls in flight finish (bounded), record their results,
        and put back the rows whose call never started."""
        worker = self.worker
        worker.stopping.set()
        worker.wake()
        jobs.stop(self._scheduler)
        await self._listener.stop()
        if self.webhooks is not None:
            await self.webhooks.stop()
        _, pending = await asyncio.wait(self._runners, timeout=worker.options.stop_timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*self._runners, return_exceptions=True)
        try:
            await worker.release_unstarted()
        finally:
            if self._session is not None:
                await self._session.close()
        log.info("worker stopped", extra={"action": "worker_stop", "worker_id": worker.worker_id})


async def start_worker(
    settings: settings_mod.Settings,
    pool: asyncpg.Pool,
    *,
    client: wx.WeChatClient | None = None,
    options: options_mod.Options | None = None,
    worker_id: str | None = None,
    clock: worker_mod.Clock | None = None,
) -> WorkerHandle:
    """Run a worker on the current event loop with an existing pool (for `wxgate run`):
    LISTEN on `wxgate_release`, the periodic jobs, and the release loop."""
    if not settings.database_url:
        raise ValueError("the worker needs WXGATE_DATABASE_URL (for its LISTEN connection)")
    opts = options or options_mod.Options()
    session = None
    async with contextlib.AsyncExitStack() as opened:
        # What is opened here is closed again if a later step fails; the handle owns it after.
        if client is None:
            if not settings.wechat_api_base:
                raise ValueError("the worker needs WXGATE_WECHAT_API_BASE")
            connector = aiohttp.TCPConnector(limit=opts.limits.concurrency_total)
            session = aiohttp.ClientSession(connector=connector)
            opened.push_async_callback(session.close)
            client = wx.WeChatClient(session, settings.wechat_api_base, timeout=opts.call_timeout)
        worker = worker_mod.Worker(
            settings,
            pool,
            client,
            worker_id=worker_id or worker_mod.default_worker_id(),
            clock=clock,
            options=opts,
        )
        listener = listen.Listener(settings.database_url, worker.wake)
        opened.push_async_callback(listener.stop)
        await listener.start()
        hooks = await webhook_start.start(settings, worker_id=worker.worker_id)
        opened.pop_all()
    loop = asyncio.get_running_loop()
    runners = [loop.create_task(worker_mod.run_passes(worker)) for _ in range(max(1, opts.runners))]
    # Follower syncs (SPEC 9): their own loop, stopped with the worker.
    follower_sync = syncs.FollowerSync(
        pool, client, worker.tokens, worker.worker_id, lease=opts.lease, stopping=worker.stopping
    )
    sync_loop = polling.Loop(
        follower_sync.run_once,
        worker.stopping,
        "follower sync",
        "sync_pass_failed",
        opts.tick_seconds,
    )
    menu_job = menus.MenuJob(
        pool, client, worker.tokens, worker.worker_id, options=opts, stopping=worker.stopping
    )
    menu_loop = polling.Loop(  # SPEC 8
        menu_job.run_once, worker.stopping, "menu", "menu_pass_failed", opts.tick_seconds
    )
    runners += [loop.create_task(sync_loop.run()), loop.create_task(menu_loop.run())]
    handle = WorkerHandle(worker, listener, runners, session, hooks)
    worker.wake()
    log.info("worker started", extra={"action": "worker_start", "worker_id": worker.worker_id})
    return handle


@contextlib.asynccontextmanager
async def running(
    settings: settings_mod.Settings,
    pool: asyncpg.Pool,
    *,
    client: wx.WeChatClient | None = None,
    options: options_mod.Options | None = None,
    worker_id: str | None = None,
    clock: worker_mod.Clock | None = None,
) -> AsyncIterator[WorkerHandle]:
    """A started worker for the body of the `async with`, stopped cleanly when it ends."""
    handle = await start_worker(
        settings, pool, client=client, options=options, worker_id=worker_id, clock=clock
    )
    try:
        yield handle
    finally:
        await handle.stop()


async def run_worker(
    settings: settings_mod.Settings, *, options: options_mod.Options | None = None
) -> None:
    """The `wxgate worker` process: runs until SIGTERM or SIGINT, then stops cleanly."""
    if not settings.database_url:
        raise ValueError("the worker needs WXGATE_DATABASE_URL")
    pool = await pool_mod.create(settings.database_url, size=settings.pool_size)
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(pool.close)
        await stack.enter_async_context(running(settings, pool, options=options))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
            stack.callback(loop.remove_signal_handler, sig)
        await stop.wait()
