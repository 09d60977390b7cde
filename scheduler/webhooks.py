"""Webhook delivery (SPEC 7): claim due deliveries, POST them signed, record the outcomes.

Requests run as tasks while the runner claims more (at most `max_in_flight` per worker;
the claim keeps at most 16 in flight per endpoint across workers); outcomes are written by
one recorder, many per statement. `drain()` runs until nothing is due and every outcome is
written, so tests drive it without sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import asyncpg

from gateway import metrics, webhook_net
from gateway import settings as settings_mod
from gateway.store import webhook_log
from scheduler import listen, webhook_send

log = logging.getLogger(__name__)

CHANNEL = "wxgate_webhooks"
PER_ENDPOINT = 16
DEPTH_EVERY = 15.0  # seconds between queue-depth gauge updates

Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Dispatcher:
    """Delivers webhooks. Any number of dispatchers may share one database."""

    def __init__(
        self,
        settings: settings_mod.Settings,
        pool: asyncpg.Pool,
        session: aiohttp.ClientSession,
        *,
        worker_id: str,
        clock: Clock | None = None,
        batch: int = 200,
        max_in_flight: int = 512,
        lease: float | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.pool = pool
        self.session = session
        self.worker_id = worker_id
        self.clock = clock or utcnow
        self.batch = batch
        self.max_in_flight = max_in_flight
        self.timeout = settings.webhook_timeout
        # A request takes at most the timeout (rate limits are kept by the claim).
        self.lease = lease if lease is not None else 2 * settings.webhook_timeout + 5
        self.schedule = settings.webhook_schedule
        self.disable_after = settings.webhook_disable_after
        self.allow_private = settings.webhook_allow_private
        self.jitter = jitter
        self.stopping = asyncio.Event()
        self.woken = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._outcomes: list[webhook_log.Outcome] = []
        self._has_outcomes = asyncio.Event()
        self._room = asyncio.Event()
        self.sender = webhook_send.Sender(
            session,
            timeout=self.timeout,
            allow_private=self.allow_private,
            schedule=self.schedule,
            clock=self.clock,
            jitter=jitter,
        )
        self._depth_at = -DEPTH_EVERY

    def wake(self) -> None:
        self.woken.set()

    # -- one pass ----------------------------------------------------------------------

    async def run_pass(self) -> int:
        """Claim what is due (as much as there is room for) and start its requests."""
        room = min(self.batch, self.max_in_flight - len(self._tasks))
        if room <= 0:
            return 0
        async with self.pool.acquire() as conn:
            claimed = time.monotonic()
            rows = await webhook_log.claim(
                conn,
                self.clock(),
                worker_id=self.worker_id,
                limit=room,
                per_endpoint=PER_ENDPOINT,
                lease=self.lease,
                rate_window=webhook_send.RATE_WINDOW,
            )
        loop = asyncio.get_running_loop()
        for row in rows:
            task = loop.create_task(self._deliver(row, claimed))
            self._tasks.add(task)
            task.add_done_callback(self._done)
        if any(row["rate_limit"] for row in rows):
            # The rate window these claims fill frees up then: claim again at that time.
            loop.call_later(webhook_send.RATE_WINDOW, self.wake)
        return len(rows)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._room.set()

    async def drain(self, timeout: float = 60.0) -> int:  # noqa: ASYNC109
        """Passes until nothing is due, every request finished and every outcome written;
        returns the deliveries attempted."""
        total = 0
        async with asyncio.timeout(timeout):
            while True:
                claimed = await self.run_pass()
                total += claimed
                if self._tasks:
                    await asyncio.gather(*list(self._tasks), return_exceptions=True)
                await self.flush()
                if claimed == 0 and not self._tasks:
                    return total

    # -- one request -------------------------------------------------------------------

    async def _deliver(self, row: asyncpg.Record, claimed: float) -> None:
        try:
            outcome = await self.sender.attempt(row, claimed)
            if outcome is None:  # its rate slot was missed: give it back unsent
                await webhook_log.release(self.pool, self.worker_id, row["account_id"], row["id"])
                self.wake()
                return
        except Exception:
            # Left leased: the lease expires and a worker tries again.
            log.exception("webhook attempt crashed", extra={"action": "webhook_crash"})
            return
        self._outcomes.append(outcome)
        self._has_outcomes.set()
        metrics.WEBHOOK_LATENCY.observe(outcome.latency_ms / 1000)

    # -- recording ---------------------------------------------------------------------

    async def flush(self) -> int:
        """Write the outcomes gathered so far in one statement; on a database error they
        stay queued for the next flush (their leases protect them meanwhile)."""
        if not self._outcomes:
            return 0
        batch, self._outcomes = self._outcomes, []
        try:
            async with self.pool.acquire() as conn:
                statuses, disabled = await webhook_log.record(
                    conn, self.worker_id, batch, self.disable_after
                )
        except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError) as exc:
            log.warning(
                "recording webhook outcomes failed: %s", exc, extra={"action": "webhook_record"}
            )
            self._outcomes = batch + self._outcomes
            return 0
        for status in statuses.values():
            outcome = {"pending": "retrying"}.get(status, status)
            metrics.WEBHOOK_DELIVERIES.labels(outcome=outcome).inc()
        for account_id, endpoint_id in disabled:
            log.warning(
                "webhook endpoint disabled: every attempt failed",
                extra={
                    "action": "endpoint_disabled",
                    "account_id": account_id,
                    "endpoint_id": endpoint_id,
                },
            )
        return len(statuses)

    async def update_gauges(self) -> None:
        """Queue depth of the deepest endpoints and the disabled count (bounded series)."""
        async with self.pool.acquire() as conn:
            depths = await webhook_log.queue_depths(conn, metrics.WEBHOOK_DEPTH_SERIES)
            disabled = await webhook_log.disabled_endpoints(conn)
        metrics.WEBHOOK_QUEUE_DEPTH.clear()
        for r in depths:
            metrics.WEBHOOK_QUEUE_DEPTH.labels(r["account_id"], r["endpoint_id"]).set(r["depth"])
        metrics.WEBHOOK_ENDPOINTS_DISABLED.set(disabled)

    # -- running -----------------------------------------------------------------------

    async def run(self, tick: float = 1.0) -> None:
        """Until stopped: claim while there is work and room, woken by NOTIFY or the tick;
        outcomes written as they come."""
        recorder = asyncio.get_running_loop().create_task(self._recorder())
        try:
            while not self.stopping.is_set():
                try:
                    claimed = await self.run_pass()
                    if time.monotonic() - self._depth_at >= DEPTH_EVERY:
                        self._depth_at = time.monotonic()
                        await self.update_gauges()
                except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError) as exc:
                    log.warning("webhook pass failed: %s", exc, extra={"action": "webhook_pass"})
                    claimed = 0
                if claimed and len(self._tasks) < self.max_in_flight:
                    continue
                self._room.clear()
                waits = [self.woken.wait(), self.stopping.wait()]
                if len(self._tasks) >= self.max_in_flight:
                    waits = [self._room.wait(), self.stopping.wait()]
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(_first(*waits), timeout=tick)
                self.woken.clear()
        finally:
            if self._tasks:
                await asyncio.wait(list(self._tasks), timeout=self.timeout + 1)
            recorder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await recorder
            await self.flush()

    async def _recorder(self) -> None:
        """Group commit: one statement for whatever finished while the last one ran."""
        while True:
            await self._has_outcomes.wait()
            self._has_outcomes.clear()
            if not self._outcomes:
                continue
            if await self.flush() > 0:
                self.wake()  # recorded rows free their endpoints' in-flight slots: claim more
            elif self._outcomes:
                self._has_outcomes.set()
                await asyncio.sleep(0.5)  # the database is away: do not spin


async def _first(*waits: Any) -> None:
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


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
