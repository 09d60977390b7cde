"""The periodic jobs, on an APScheduler 3 `AsyncIOScheduler` (the only module importing it).

Jobs hold no state: messages, holds and schedules live in Postgres, so any number of workers
run the same jobs against one database.
- release tick, every `tick_seconds` (1 s): wakes the release loop (the polling fallback
  behind LISTEN/NOTIFY);
- token refresh, every 60 s: renews cached access tokens that expire within 10 minutes;
- expiry sweep, every 1 s: expires unfinished deliveries of messages past `expires_at`;
- retention, daily at 04:17 in the quota time zone: deletes inbound events older than 30 days
  and finished messages older than 90 days.
"""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Awaitable, Callable
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from scheduler import options

log = logging.getLogger(__name__)


class Upkeep(Protocol):
    """What the periodic jobs call besides the release tick."""

    async def refresh_tokens(self) -> object: ...
    async def sweep_expired(self) -> object: ...
    async def purge_old(self) -> object: ...


def start(
    wake: Callable[[], None], upkeep: Upkeep, opts: options.Options, tz: zoneinfo.ZoneInfo
) -> AsyncIOScheduler:
    """Create and start the scheduler on the running event loop."""
    # APScheduler logs every run at INFO; once a second is noise.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)

    async def release_tick() -> None:
        # A coroutine job runs on the loop; a plain function would run in a thread.
        wake()

    scheduler = AsyncIOScheduler(timezone=tz)
    defaults = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 30}
    jobs: list[tuple[str, Callable[[], Awaitable[object]], object]] = [
        ("release_tick", release_tick, IntervalTrigger(seconds=opts.tick_seconds)),
        (
            "token_refresh",
            upkeep.refresh_tokens,
            IntervalTrigger(seconds=opts.token_refresh_seconds),
        ),
        ("expiry_sweep", upkeep.sweep_expired, IntervalTrigger(seconds=opts.sweep_seconds)),
        ("retention", upkeep.purge_old, CronTrigger(hour=4, minute=17, timezone=tz)),
    ]
    for job_id, func, trigger in jobs:
        scheduler.add_job(func, trigger, id=job_id, name=job_id, **defaults)
    scheduler.start()
    return scheduler


def stop(scheduler: AsyncIOScheduler) -> None:
    """Stop scheduling; a job already running finishes on its own."""
    if scheduler.running:
        scheduler.shutdown(wait=False)
