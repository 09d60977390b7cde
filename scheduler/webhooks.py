"""Webhook delivery (SPEC 7): hold endpoint lanes, claim their due deliveries ahead in
batches, POST them signed, record the outcomes in batches.

A worker holds an endpoint's lane alone (scheduler/webhook_lanes.py) and keeps a queue of its
claimed deliveries; a freed slot starts the next request at once, claims refill the queue
while requests run, and one recorder writes what finished, many outcomes per statement.
`drain()` runs until nothing is due and every outcome is written, so tests drive it without
sleeping; `run()` runs until stopped.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import logging
import random
import time
from collections.abc import Callable, Iterable

import aiohttp
import asyncpg

from gateway import metrics
from gateway import settings as settings_mod
from gateway.store import webhook_claims
from scheduler import webhook_loop, webhook_send
from scheduler.webhook_lanes import PER_ENDPOINT, RATE_WINDOW, Lane, Row
from scheduler.webhook_loop import ACQUIRE, DB_ERRORS, DEPTH_EVERY
from scheduler.webhook_send import utcnow

log = logging.getLogger(__name__)

__all__ = ["CHANNEL", "PER_ENDPOINT", "Dispatcher"]

CHANNEL = "wxgate_webhooks"
Clock = Callable[[], dt.datetime]


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
        max_lanes: int = 64,
        lease: float | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.pool = pool
        self.worker_id = worker_id
        self.clock = clock or utcnow
        self.batch = batch
        self.max_in_flight = max_in_flight
        self.max_lanes = max_lanes
        self.timeout = settings.webhook_timeout
        # A lane is renewed every third of it; a request starts only while the lane has its
        # timeout and a second left, so another worker takes the lane after it ended.
        self.lease = lease if lease is not None else 2 * settings.webhook_timeout + 5
        self.disable_after = settings.webhook_disable_after
        self.stopping = asyncio.Event()
        self.woken = asyncio.Event()
        self.lanes: dict[webhook_claims.Key, Lane] = {}
        self._held: dict[webhook_claims.Held, Lane] = {}  # leased to us: queued, sent, unrecorded
        self._tasks: set[asyncio.Task[None]] = set()
        self._capped = False  # a lane had a request to start when max_in_flight was reached
        self._outcomes: list[tuple[Lane, webhook_claims.Outcome]] = []
        self._has_outcomes = asyncio.Event()
        self._enough = asyncio.Event()  # a record statement's worth of outcomes is waiting
        self._need = asyncio.Event()  # a lane's queue runs low
        self._closing = False  # set once no request is left: the recorder ends when idle
        self._renew_at = 0.0
        self._depth_at = -DEPTH_EVERY
        self.flush_failed = False
        self.sender = webhook_send.Sender(
            session,
            timeout=self.timeout,
            allow_private=settings.webhook_allow_private,
            schedule=settings.webhook_schedule,
            clock=self.clock,
            jitter=jitter,
        )

    def wake(self) -> None:
        self.woken.set()

    # -- lanes and claims --------------------------------------------------------------

    async def hold_lanes(self, *, take: bool, renew: bool = True) -> None:
        """Renew the lanes held and the leases of the deliveries held (if `renew`); take free
        lanes with due work (if `take`). A lane not renewed is lost: its queue is dropped."""
        now = self.clock()
        until = now + dt.timedelta(seconds=self.lease)
        mine = list(self.lanes)
        async with self.pool.acquire(timeout=ACQUIRE) as conn:
            rows = await webhook_claims.lanes(
                conn,
                now,
                until,
                worker_id=self.worker_id,
                mine=mine,
                held=list(self._held) if renew else [],
                take=max(0, self.max_lanes - len(mine)) if take else 0,
                renew=renew,
            )
        got = {(r.account_id, r.endpoint_id): r.rate_limit for r in rows}
        if renew:
            self._renew_at = time.monotonic() + self.lease / 3
            for lost in [key for key in mine if key not in got]:
                self._drop(self.lanes[lost])
        start_by = until - dt.timedelta(seconds=self.timeout + 1)
        for key, rate_limit in got.items():
            lane = self.lanes.setdefault(key, Lane(key[0], key[1], rate_limit))
            lane.rate_limit, lane.start_by = rate_limit, start_by
        for lane in self.lanes.values() if take else ():
            lane.exhausted = False  # woken or ticked: look for due rows again

    def _drop(self, lane: Lane) -> list[Row]:
        """Forget a lane and its queue (rows claimed, not sent); returns those rows."""
        self.lanes.pop(lane.key, None)
        rows = lane.take_queued()
        for row in rows:
            self._held.pop(row.held, None)
        return rows

    async def claim(self) -> int:
        """One statement claiming ahead for every lane whose queue runs low."""
        wants = [(lane, n) for lane in self.lanes.values() if (n := lane.want(self.batch)) > 0]
        if not wants:
            return 0
        now = self.clock()
        async with self.pool.acquire(timeout=ACQUIRE) as conn:
            rows = await webhook_claims.claim(
                conn,
                now,
                now + dt.timedelta(seconds=self.lease),
                worker_id=self.worker_id,
                wants=[(*lane.key, n) for lane, n in wants],
            )
        by_lane: dict[webhook_claims.Key, list[Row]] = {}
        for row in rows:
            by_lane.setdefault((row.account_id, row.endpoint_id), []).append(row)
        for lane, n in wants:
            got = by_lane.get(lane.key, [])
            lane.exhausted = len(got) < n
            lane.add(got)
            for row in got:
                self._held[row.held] = lane
        self.pump()
        return len(rows)

    async def release(self, lanes: Iterable[Lane]) -> None:
        """Give back lanes (idle, or all at a stop) and their unsent rows."""
        lanes = list(lanes)
        if not lanes:
            return
        unsent = [r.held for lane in lanes for r in self._drop(lane)]
        async with self.pool.acquire(timeout=ACQUIRE) as conn:
            await webhook_claims.release_lanes(
                conn,
                self.worker_id,
                self.clock(),
                [lane.key for lane in lanes],
                unsent,
                RATE_WINDOW,
            )

    # -- requests ----------------------------------------------------------------------

    def pump(self, only: Lane | None = None) -> None:
        """Start every request that may start now."""
        if self.stopping.is_set():
            return
        now, mono = self.clock(), time.monotonic()
        loop = asyncio.get_running_loop()
        for lane in [only] if only is not None else list(self.lanes.values()):
            while not (capped := len(self._tasks) >= self.max_in_flight):
                row = lane.next(now, mono)
                if row is None:
                    break
                task = loop.create_task(self._deliver(lane, row))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            self._capped = self._capped or capped
            wait = lane.wait_for_rate(mono) if lane.queued else None
            if wait is not None and not lane.timer:
                lane.timer = True
                loop.call_later(wait, self._rate_tick, lane)

    def _rate_tick(self, lane: Lane) -> None:
        lane.timer = False
        if self.lanes.get(lane.key) is lane:
            self.pump(lane)

    async def _deliver(self, lane: Lane, row: Row | None) -> None:
        """A lane's requests one after another: a finished request's task takes the lane's next
        startable row itself (no task per request) unless lanes wait on the worker's cap."""
        while row is not None:
            try:
                outcome = await self.sender.attempt(row)
            except Exception:
                # Left leased, no longer held: the lease lapses and the row is claimed again.
                log.exception("webhook attempt crashed", extra={"action": "webhook_crash"})
                self._held.pop(row.held, None)
                lane.finished(row)
                lane.recorded(1)
                return
            lane.finished(row)
            self._outcomes.append((lane, outcome))
            self._has_outcomes.set()
            if len(self._outcomes) >= webhook_loop.FLUSH_AT:
                self._enough.set()
            metrics.WEBHOOK_LATENCY.observe(outcome.latency_ms / 1000)
            if self.lanes.get(lane.key) is not lane:
                return
            if lane.want(self.batch):
                self._need.set()
            done = self._capped or self.stopping.is_set()
            row = None if done else lane.next(self.clock(), time.monotonic())
        self.pump(lane)  # a rate-limit timer if its window is full
        if self._capped and len(self._tasks) < self.max_in_flight:
            self._capped = False
            self.pump()  # room freed for lanes that waited on the worker's own cap

    # -- recording ---------------------------------------------------------------------

    async def flush(self) -> int:
        """Write the outcomes gathered so far in one statement; on a database error they stay
        queued for the next flush (their leases protect them meanwhile)."""
        self.flush_failed = False
        if not self._outcomes:
            return 0
        batch, self._outcomes = self._outcomes, []
        try:
            async with self.pool.acquire(timeout=ACQUIRE) as conn:
                statuses, disabled = await webhook_claims.record(
                    conn, self.worker_id, [o for _, o in batch], self.disable_after
                )
        except Exception as exc:  # the batch stays (lost, its rows would stay held)
            log.warning(
                "recording webhook outcomes failed: %s",
                exc,
                exc_info=not isinstance(exc, DB_ERRORS),  # not the database's: with its trace
                extra={"action": "webhook_record"},
            )
            self._outcomes = batch + self._outcomes
            self.flush_failed = True
            return 0
        for lane, outcome in batch:
            self._held.pop((outcome.account_id, outcome.delivery_id), None)
            lane.recorded(1)
            # A follower's next event, left out while this one was unrecorded, may be due.
            lane.exhausted = False
        if any(lane.want(self.batch) for lane, _ in batch):
            self._need.set()
        for status, count in collections.Counter(statuses.values()).items():
            label = {"pending": "retrying"}.get(status, status)
            metrics.WEBHOOK_DELIVERIES.labels(outcome=label).inc(count)
        for key in disabled:
            webhook_loop.log_disabled(key)
            lane_ = self.lanes.get(key)
            if lane_ is not None:
                with contextlib.suppress(*DB_ERRORS):
                    await self.release([lane_])
        self.pump()  # lanes that waited for their outcomes to be written
        return len(statuses)

    # -- running -----------------------------------------------------------------------

    async def run_pass(self) -> int:
        """Renew and take lanes, claim ahead for them and start what may start."""
        await self.hold_lanes(take=True)
        return await self.claim()

    def _queued(self) -> int:
        return sum(lane.queued for lane in self.lanes.values())

    async def drain(self, timeout: float = 60.0) -> int:  # noqa: ASYNC109
        """Passes until nothing is due, every request finished and every outcome written;
        gives the lanes back and returns the deliveries claimed."""
        return await webhook_loop.drain(self, timeout)

    async def update_gauges(self) -> None:
        """Queue depth of the deepest endpoints and the disabled count (bounded series)."""
        await webhook_loop.update_gauges(self)

    async def _recorder(self) -> None:
        await webhook_loop.record_loop(self)

    async def run(self, tick: float = 1.0) -> None:
        """Until stopped (scheduler/webhook_loop.py)."""
        await webhook_loop.run(self, tick)
