"""The release pass engine: passes of claim -> send -> record, woken by NOTIFY or the tick.

`Worker.run_once()` is one pass and `Worker.drain()` runs passes until nothing is due (tests
drive these without sleeping); `run_passes()` is one release loop. Starting and stopping a
worker process (LISTEN, the periodic jobs, the HTTP session): scheduler.lifecycle.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import asyncpg

from gateway import metrics
from gateway import settings as settings_mod
from gateway.domain import send_outcomes
from gateway.store import errors as store_errors
from gateway.store import message_status
from gateway.store import pool as pool_mod
from gateway.wechat import client as wx
from scheduler import (
    call_lanes,
    claim,
    credentials,
    maintenance,
    mass,
    ratelimit,
    results,
    sender,
    waiting,
    work,
)
from scheduler import (
    clock as clock_mod,
)
from scheduler import options as options_mod
from scheduler import transitions as transitions_mod

log = logging.getLogger(__name__)

T = TypeVar("T")
Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


@dataclasses.dataclass(frozen=True)
class PassStats:
    claimed: int  # rows locked by the pass (0: nothing was due)
    processed: int  # rows whose state the pass changed
    # The pass may have left due rows behind: it reached a claim limit, skipped a busy
    # follower, or took leases over. Otherwise another pass right away would find nothing
    # (new work NOTIFYs, time-held work comes with the tick): the release loop waits.
    more: bool = True


class Worker:
    """Releases due deliveries. Any number of workers may share one database."""

    def __init__(
        self,
        settings: settings_mod.Settings,
        pool: asyncpg.Pool,
        client: wx.WeChatClient,
        *,
        worker_id: str,
        clock: Clock | None = None,
        options: options_mod.Options | None = None,
    ) -> None:
        self.settings = settings
        self.pool = pool
        self.client = client
        self.worker_id = worker_id
        # The database's clock unless a test brings its own (README "Reliability": one clock).
        self._db_clock = clock_mod.DbClock(pool) if clock is None else None
        self.clock: Clock = clock or self._db_clock or utcnow
        self.options = options or _default_options()
        self.tz = settings.tz
        self.limiter = ratelimit.RateLimiter(self.options.limits)
        self.tokens = credentials.TokenCache(pool, client, self.clock, self.options.token_ttl)
        self.refresh_throttle = message_status.RefreshThrottle()
        self.stopping = asyncio.Event()
        self.woken = asyncio.Event()
        # Claimed calls that have not started: put back if the worker stops; half of a claim
        # started wakes a runner for the next one (calls keep going out while it is written).
        self.waiting = waiting.Waiting(self.wake)
        self._claiming = asyncio.Lock()
        self.sender = sender.Sender(
            client,
            self.tokens,
            self.limiter,
            self.stopping,
            self.waiting.started,
            clock=self.clock,
            lease_margin=self.options.lease_margin(),
            tz=self.tz,
            max_decision_age=self.options.max_decision_age,
        )
        self.mass = mass.MassSender(
            client=client,
            tokens=self.tokens,
            limiter=self.limiter,
            stop=self.stopping,
            clock=self.clock,
            opts=self.options,
            tz=self.tz,
            worker_id=worker_id,
        )
        self.maintenance = maintenance.Maintenance(
            pool, self.tokens, self.clock, self.tz, self.options
        )

    # -- driving ---------------------------------------------------------------------------

    def wake(self) -> None:
        """Ask for a pass now (a NOTIFY arrived, or the tick)."""
        self.woken.set()

    async def run_once(self) -> int:
        """One release pass; returns how many deliveries it processed."""
        return (await self.run_pass()).processed

    async def drain(self, timeout: float = 60.0) -> int:  # noqa: ASYNC109
        """Burst mode: passes until one finds nothing due; returns deliveries processed."""
        total = 0
        async with asyncio.timeout(timeout):
            while True:
                stats = await self.run_pass()
                total += stats.processed
                if stats.claimed == 0:
                    return total

    async def run_pass(self) -> PassStats:
        if self._db_clock is not None:
            await self._db_clock.sync()
        opts = self.options
        # One claim at a time, so that each sees the calls the others left waiting.
        async with self._claiming:
            now = self.clock()
            per_account, caps = self._claim_caps()
            taken = await self._transaction(
                lambda conn: claim.take_over(
                    conn, now, worker_id=self.worker_id, lease=opts.lease, limit=opts.claim_total
                )
            )
            claimed = await self._transaction(
                lambda conn: claim.claim(
                    conn,
                    now,
                    worker_id=self.worker_id,
                    tz=self.tz,
                    per_account=per_account,
                    total=opts.claim_total,
                    lease=opts.lease,
                    mass_rows=opts.mass_rows_per_pass,
                    throttle=self.refresh_throttle,
                    caps=caps,
                )
            )
            calls = taken.calls + claimed.calls
            self.waiting.add(calls, per_account)
        transitions_mod.observe(taken.transitions)
        transitions_mod.observe(claimed.transitions)
        processed = taken.decided + claimed.decided
        in_calls = sum(len(call.items) for call in claimed.calls)
        skipped = claimed.claimed - claimed.decided - in_calls
        more = taken.claimed > 0 or skipped > 0 or claimed.claimed >= per_account
        if calls:
            processed += await self._send(calls)
        # Service `all` masses: their batches (scheduler.mass).
        batched = await self.mass.run_pass(self._transaction)
        transitions_mod.observe(batched.transitions)
        claimed_all = taken.claimed + claimed.claimed + batched.claimed
        return PassStats(claimed_all, processed + batched.processed, more or batched.claimed > 0)

    def _claim_caps(self) -> tuple[int, dict[str, int]]:
        """Rows a pass may claim per account: what the account's rate starts within the claim
        horizon, less the calls of this worker that still wait for their turn (another
        runner's pass). A row claimed behind them would start past the decision age and only
        be put back."""
        opts = self.options
        per_account = min(
            opts.claim_per_account, self.limiter.claim_cap(opts.claim_horizon), opts.claim_total
        )
        return per_account, self.waiting.caps(per_account)

    # -- sending and recording -------------------------------------------------------------

    async def _send(self, calls: Sequence[work.Call]) -> int:
        """Make the calls concurrently; record results as they finish, one transaction for
        whatever finished while the previous one was being written (group commit)."""
        finished: call_lanes.Finished = asyncio.Queue()
        lanes = self.options.limits.concurrency_per_account
        tasks = call_lanes.start(calls, self.sender.send, lanes, finished)
        processed = 0
        try:
            remaining = len(calls)
            while remaining:
                batch = [await finished.get()]
                while not finished.empty():
                    batch.append(finished.get_nowait())
                remaining -= len(batch)
                processed += await self._record(batch)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return processed

    async def _record(self, batch: Sequence[tuple[work.Call, sender.Result | None]]) -> int:
        done = [(call, result) for call, result in batch if result is not None]
        for call, _ in batch:
            self.waiting.started(call)
        if not done:
            return 0
        now = self.clock()
        planned = results.plan(done, now, self.tz, self.options)
        try:
            written, transitions = await self._transaction(
                lambda conn: results.record(
                    conn, self.worker_id, now, planned, self.refresh_throttle
                )
            )
        except store_errors.FAILED:
            log.exception("recording results failed", extra={"action": "record_failed"})
            return 0
        transitions_mod.observe(transitions)
        wall = utcnow()
        changed = 0
        for call, result in done:
            for item, outcome in result:
                if item.key not in written:
                    continue
                # A row put back undecided (lease short, decision stale) is decided again by a
                # later pass: counted there, not here.
                changed += outcome.kind != "released"
                if outcome.kind == "sent":
                    age = (wall - call.message.created_at).total_seconds()
                    metrics.RELEASE_LATENCY.observe(max(age, 0.0))
        return changed

    async def release_unstarted(self) -> int:
        """Rows claimed by this worker whose call never started go back to the queue."""
        if not self.waiting:
            return 0
        batch = [
            (call, [(item, send_outcomes.RELEASED) for item in items])
            for call, items in self.waiting.by_call()
        ]
        released = await self._record(batch)
        self.waiting.clear()
        log.info(
            "released %d unstarted deliveries", released, extra={"action": "release_unstarted"}
        )
        return released

    async def _transaction(self, work_: Callable[[pool_mod.Connection], Awaitable[T]]) -> T:
        # A deadlock with the API's cancel (message first, then deliveries) or the inbound
        # path aborts one side; the aborted transaction is simply run again.
        for attempt in range(3):
            try:
                async with self.pool.acquire() as conn:
                    with store_errors.translated():
                        return await work_(conn)
            except store_errors.Retryable:
                if attempt == 2:
                    raise
                log.info("deadlock, retrying", extra={"action": "deadlock_retry"})
        raise AssertionError("unreachable")


def _default_options() -> options_mod.Options:
    return options_mod.Options()


async def run_passes(worker: Worker) -> None:
    """One release loop: passes while work is due, then wait to be woken; until stopping."""
    while not worker.stopping.is_set():
        await worker.woken.wait()
        worker.woken.clear()
        try:
            while not worker.stopping.is_set():
                stats = await worker.run_pass()
                if stats.claimed == 0 or not stats.more:
                    break
        except Exception:
            # A runner must outlive any one failed pass (database restart, a bug in one row).
            log.exception("release pass failed", extra={"action": "pass_failed"})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(worker.stopping.wait(), timeout=1.0)
