"""The worker's clock: the database's time (gateway.store.clock), read at most every few
seconds and carried forward by the host's monotonic clock in between, so that a step of the
host's wall clock changes nothing and the callers' `clock()` stays synchronous."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import asyncpg

from gateway.store import clock as store_clock

RESYNC_SECONDS = 5.0


class DbClock:
    """`clock()` is the database's time now (its estimate: read once, advanced since)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        resync: float = RESYNC_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pool = pool
        self.resync = resync
        self._monotonic = monotonic
        self._anchor: dt.datetime | None = None  # the database's time at `_at`
        self._at = 0.0

    def __call__(self) -> dt.datetime:
        if self._anchor is None:
            # Before the first reading (the worker reads it at the start of every pass).
            return dt.datetime.now(dt.UTC)
        return self._anchor + dt.timedelta(seconds=self._monotonic() - self._at)

    async def sync(self, *, force: bool = False) -> None:
        """Read the database's time again if the last reading is older than `resync`."""
        if not force and self._anchor is not None and self._monotonic() - self._at < self.resync:
            return
        before = self._monotonic()
        now = await store_clock.db_now(self.pool)
        after = self._monotonic()
        # The reading was taken somewhere in the round trip: take its middle.
        self._anchor, self._at = now, (before + after) / 2
