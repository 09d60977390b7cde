"""Running a webhook dispatcher: until it is stopped (lanes taken when woken by NOTIFY or
the tick and renewed, claims whenever a lane's queue runs low, the queue-depth gauges, the
stop: requests finish, outcomes written, lanes given back), to completion (`drain`, for
tests), and its recorder. Every error is logged and the loops go on: a dispatcher that ended
silently would leave its rows held."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from gateway import metrics
from gateway.store import errors as store_errors
from gateway.store import webhook_claims
from scheduler.webhook_lanes import RATE_WINDOW

if TYPE_CHECKING:
    from scheduler.webhooks import Dispatcher

log = logging.getLogger("scheduler.webhooks")

# A step failed in the database (down, restarting, too slow, or refusing the statement): the
# one list, gateway/store/errors' (a pooled connection broken by a restart included).
DB_ERRORS = store_errors.FAILED
ACQUIRE = 10.0  # seconds to wait for a pooled connection

DEPTH_EVERY = 15.0  # seconds between queue-depth gauge updates
# The recorder waits up to GATHER seconds for FLUSH_AT outcomes before it writes fewer: one
# statement per outcome or two costs Postgres and this process far more per outcome.
FLUSH_AT = 128
GATHER = 0.02
IDLE_HOLD = 2.0  # seconds an idle lane is kept before it is given back


async def run(d: Dispatcher, tick: float) -> None:
    """Until stopped: lanes taken when woken by NOTIFY or the tick and renewed, claims
    whenever a lane's queue runs low, outcomes written as they come."""
    recorder = asyncio.get_running_loop().create_task(d._recorder())
    ticked = True
    try:
        while not d.stopping.is_set():
            take = ticked or d.woken.is_set()
            d.woken.clear()  # before the step: a wake during it is not lost
            d._need.clear()
            try:
                await _step(d, take=take)
            except DB_ERRORS as exc:
                log.warning("webhook pass failed: %s", exc, extra={"action": "webhook_pass"})
            except Exception:  # never end silently: nothing would be delivered
                log.exception("webhook pass crashed", extra={"action": "webhook_pass"})
            waits = [d.woken.wait(), d.stopping.wait(), d._need.wait()]
            try:
                await asyncio.wait_for(_first(*waits), timeout=tick)
                ticked = False
            except TimeoutError:
                ticked = True
    finally:
        await _shutdown(d, recorder)


async def _step(d: Dispatcher, *, take: bool) -> None:
    # A wake (a NOTIFY per committed batch of callbacks) takes lanes; the held lanes and
    # deliveries are renewed only every third of the lease, not rewritten on every wake.
    renew = time.monotonic() >= d._renew_at
    if take or renew:
        await d.hold_lanes(take=take, renew=renew)
    await d.claim()
    mono = time.monotonic()
    for lane in d.lanes.values():
        lane.idle_since = (lane.idle_since or mono) if lane.idle() else None
    await d.release(
        lane
        for lane in list(d.lanes.values())
        if lane.idle_since is not None and mono - lane.idle_since >= IDLE_HOLD
    )
    if mono - d._depth_at >= DEPTH_EVERY:
        d._depth_at = mono
        await update_gauges(d)


async def _shutdown(d: Dispatcher, recorder: asyncio.Task[None]) -> None:
    """Requests in flight finish (bounded), their outcomes are written, lanes given back."""
    d.stopping.set()
    lanes = list(d.lanes.values())
    unsent = [r for lane in lanes for r in lane.queued_rows()]
    for lane in lanes:
        lane.take_queued()
    if d._tasks:
        await asyncio.wait(list(d._tasks), timeout=d.timeout + 1)
    # Not cancelled: a cancelled recorder would drop the batch its statement is writing
    # (requests made, outcomes never recorded, sent again after the lease).
    d._closing = True
    d._has_outcomes.set()
    d._enough.set()
    await recorder
    await d.flush()
    try:
        async with d.pool.acquire(timeout=ACQUIRE) as conn:
            await webhook_claims.release_lanes(
                conn,
                d.worker_id,
                d.clock(),
                [lane.key for lane in lanes if lane.in_flight == 0],
                [r.held for r in unsent],
                RATE_WINDOW,
            )
    except DB_ERRORS as exc:  # the leases lapse instead
        log.warning("giving back webhook lanes failed: %s", exc, extra={"action": "wh_stop"})
    d.lanes.clear()


async def _first(*waits: Any) -> None:
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def log_disabled(key: webhook_claims.Key) -> None:
    account_id, endpoint_id = key
    log.warning(
        "webhook endpoint disabled: every attempt failed",
        extra={"action": "endpoint_disabled", "account_id": account_id, "endpoint_id": endpoint_id},
    )


async def update_gauges(d: Dispatcher) -> None:
    """Queue depth of the deepest endpoints and the disabled count (bounded series)."""
    async with d.pool.acquire(timeout=ACQUIRE) as conn:
        depths = await webhook_claims.queue_depths(conn, metrics.WEBHOOK_DEPTH_SERIES)
        disabled = await webhook_claims.disabled_endpoints(conn)
    metrics.WEBHOOK_QUEUE_DEPTH.clear()
    for r in depths:
        metrics.WEBHOOK_QUEUE_DEPTH.labels(r.account_id, r.endpoint_id).set(r.depth)
    metrics.WEBHOOK_ENDPOINTS_DISABLED.set(disabled)


async def drain(d: Dispatcher, timeout: float) -> int:  # noqa: ASYNC109
    """Passes until nothing is due, every request finished and every outcome written;
    gives the lanes back and returns the deliveries claimed."""
    total = 0
    async with asyncio.timeout(timeout):
        while True:
            claimed = await d.run_pass()
            total += claimed
            while d._tasks:
                await asyncio.wait(list(d._tasks))
                total += await d.claim()
            await d.flush()
            if d._queued() and not d._tasks:
                mono = time.monotonic()
                waits = [lane.wait_for_rate(mono) or 0.0 for lane in d.lanes.values()]
                await asyncio.sleep(min(waits, default=0.0))  # a rate window to pass
                d.pump()
            if claimed == 0 and not d._tasks and not d._queued() and not d._outcomes:
                await d.release(list(d.lanes.values()))
                return total


async def record_loop(d: Dispatcher) -> None:
    """Group commit: one statement for whatever finished while the last one ran."""
    while True:
        # Closing, nothing more will come: write what is left and end. (A stop's wake-up can
        # be cleared with the one before it, so waiting again here hung the stop.)
        if not d._closing:
            await d._has_outcomes.wait()
        d._has_outcomes.clear()
        if not d._outcomes:
            if d._closing:
                return
            continue
        if len(d._outcomes) < FLUSH_AT and not d._closing:
            d._enough.clear()
            if len(d._outcomes) < FLUSH_AT:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(d._enough.wait(), GATHER)
        try:
            await d.flush()
        except Exception:  # never end silently: the outcomes would never be written
            log.exception("webhook recorder failed", extra={"action": "webhook_record"})
            d.flush_failed = True
        if d.flush_failed:
            if d._closing:
                return  # `run` tries once more; the leases protect the rest
            d._has_outcomes.set()
            await asyncio.sleep(0.5)  # the database is away: do not spin
