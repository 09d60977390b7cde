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

from gateway import metrics
from gateway import settings as settings_mod
from gateway.store import webhook_log
from scheduler import webhook_send

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
        self._closing = False  # set once no request is left: the recorder ends when idle
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
        self.refilled, self.flush_failed = 0, False  # the last flush's claims, its failure

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
        self._start(rows, claimed)
        return len(rows)

    def _start(self, rows: list[asyncpg.Record], claimed: float) -> None:
        loop = asyncio.get_running_loop()
        for row in rows:
            task = loop.create_task(self._deliver(row, claimed))
            self._tasks.add(task)
            task.add_done_callback(self._done)
        if any(row["rate_limit"] for row in rows):
            # The rate window these claims fill frees up then: claim again at that time.
            loop.call_later(webhook_send.RATE_WINDOW, self.wake)

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
                total += self.refilled  # claimed by the recording statement
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
        """Write the outcomes gathered so far in one statement that also claims replacements
        on their endpoints (unless stopping); on a database error they stay queued for the
        next flush (their leases protect them meanwhile). Sets `refilled`."""
        self.refilled, self.flush_failed = 0, False
        if not self._outcomes:
            return 0
        batch, self._outcomes = self._outcomes, []
        room = 0 if self.stopping.is_set() else self.max_in_flight - len(self._tasks)
        try:
            async with self.pool.acquire() as conn:
                claimed = time.monotonic()
                statuses, disabled, rows = await webhook_log.record_and_claim(
                    conn,
                    self.worker_id,
                    batch,
                    self.disable_after,
                    self.clock(),
                    limit=max(0, min(self.batch, room)),
                    per_endpoint=PER_ENDPOINT,
                    lease=self.lease,
                )
            self._start(rows, claimed)
            self.refilled = len(rows)
        except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError) as exc:
            log.warning(
                "recording webhook outcomes failed: %s", exc, extra={"action": "webhook_record"}
            )
            self._outcomes = batch + self._outcomes
            self.flush_failed = True
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
            # Not cancelled: a cancelled recorder would drop the batch its statement is
            # writing (requests made, outcomes never recorded, sent again after the lease).
            self._closing = True
            self._has_outcomes.set()
            await recorder
            await self.flush()

    async def _recorder(self) -> None:
        """Group commit: one statement for whatever finished while the last one ran."""
        while True:
            await self._has_outcomes.wait()
            self._has_outcomes.clear()
            if not self._outcomes:
                if self._closing:
                    return
                continue
            if await self.flush() > self.refilled:
                self.wake()  # freed slots the statement did not refill: a full claim pass
            elif self.flush_failed:
                if self._closing:
                    return  # `run` tries once more; the leases protect the rest
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
