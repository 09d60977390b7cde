"""A webhook lane: one endpoint a worker holds alone, its claimed deliveries, and which of them
may start now (at most 16 in flight, a follower's one at a time in stored order, rate_limit).

The lane lease (webhook_endpoints.lane_owner / lane_until) makes one worker at a time the
endpoint's sender; the holder starts a request only while its lease has at least the request
timeout (and a second) left, so every request it started has ended before another worker can
take the lane over. The cap and the rate limit are thus kept by one process, exactly.
"""

from __future__ import annotations

import collections
import datetime as dt

from gateway.store.webhook_claims import ClaimedWebhook

PER_ENDPOINT = 16  # requests in flight per endpoint (SPEC 7)
# Requests made whose outcomes are not written yet, per endpoint (in flight included): what a
# crash can make a worker repeat. Past it the lane waits for the recorder (which writes up to
# webhook_loop.FLUSH_AT at once: twice that lets the lane go on while a statement runs).
UNRECORDED = 256
# rate_limit: at most rate_limit starts in any RATE_WINDOW seconds (0.2 s to spare for the
# network within the second SPEC 7 counts); a given-back rate-limited lane stays closed for
# one window, so the next holder's starts keep the spacing too.
RATE_WINDOW = 1.2

Row = ClaimedWebhook


class Lane:
    """The local state of one held endpoint."""

    def __init__(self, account_id: str, endpoint_id: str, rate_limit: int | None) -> None:
        self.key = (account_id, endpoint_id)
        self.rate_limit = rate_limit
        self.start_by: dt.datetime | None = None  # no start at or after (lease - timeout - 1)
        self.exhausted = False  # the last claim found less than it asked: wait for a wake
        self.idle_since: float | None = None
        self.timer = False  # a pump is scheduled for when the rate window lets one more go
        self.in_flight = 0
        self.unrecorded = 0  # requests made and not yet recorded (in flight included)
        self._ready: collections.deque[Row] = collections.deque()
        self._blocked: dict[str, collections.deque[Row]] = {}
        self._busy: set[str] = set()
        self._starts: collections.deque[float] = collections.deque()
        self.queued = 0

    def add(self, rows: list[Row]) -> None:
        """Claimed rows, sent in id order (a follower's stored order)."""
        for row in sorted(rows, key=lambda r: r.id):
            self._ready.append(row)
        self.queued += len(rows)

    def want(self, batch: int) -> int:
        """How many rows a claim should ask for now (0: enough queued)."""
        if self.exhausted:
            return 0
        target = batch if self.rate_limit is None else min(batch, 2 * self.rate_limit)
        # refilled at three quarters: a claim then has the time of a quarter batch's requests
        return target - self.queued if self.queued * 4 <= target * 3 else 0

    def wait_for_rate(self, mono: float) -> float | None:
        """Seconds until the rate limit lets one more start, None if it does now."""
        if self.rate_limit is None:
            return None
        while self._starts and mono - self._starts[0] >= RATE_WINDOW:
            self._starts.popleft()
        if len(self._starts) < self.rate_limit:
            return None
        return RATE_WINDOW - (mono - self._starts[0])

    def next(self, now: dt.datetime, mono: float) -> Row | None:
        """The next row to send now, counted as started; None if none may start."""
        if self.in_flight >= PER_ENDPOINT or self.unrecorded >= UNRECORDED:
            return None
        if self.start_by is None or now >= self.start_by:
            return None
        if self.wait_for_rate(mono) is not None:
            return None
        while self._ready:
            row = self._ready.popleft()
            openid = row.openid
            if openid in self._busy:
                self._blocked.setdefault(openid, collections.deque()).append(row)
                continue
            self._busy.add(openid)
            self.queued -= 1
            self.in_flight += 1
            self.unrecorded += 1
            if self.rate_limit is not None:
                self._starts.append(mono)
            return row
        return None

    def finished(self, row: Row) -> None:
        """A request ended (its outcome goes to the recorder): the follower's next may go."""
        self.in_flight -= 1
        openid = row.openid
        self._busy.discard(openid)
        waiting = self._blocked.get(openid)
        if waiting:
            self._ready.appendleft(waiting.popleft())
            if not waiting:
                del self._blocked[openid]

    def recorded(self, count: int) -> None:
        self.unrecorded -= count

    def take_queued(self) -> list[Row]:
        """Empty the queue (rows claimed and not started), returning them."""
        rows = list(self._ready)
        for waiting in self._blocked.values():
            rows.extend(waiting)
        self._ready.clear()
        self._blocked.clear()
        self.queued = 0
        return rows

    def queued_rows(self) -> list[Row]:
        rows = list(self._ready)
        for waiting in self._blocked.values():
            rows.extend(waiting)
        return rows

    def idle(self) -> bool:
        return self.exhausted and self.queued == 0 and self.unrecorded == 0
