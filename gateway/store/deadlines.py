"""One timer for the deadlines of many waiting futures: a future still pending at its deadline
fails with TimeoutError. A timeout context per callback (a timer armed, then cancelled, for
each) cost more on the callback path than its share of the batch's commit."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from typing import Any

_SLACK = 0.001  # seconds


class Deadlines:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, asyncio.Future[Any]]] = []
        self._order = itertools.count()  # ties: earlier first, never comparing futures
        self._timer: asyncio.TimerHandle | None = None
        self._armed_at = math.inf

    def add(self, future: asyncio.Future[Any], deadline: float) -> None:
        """Fail `future` with TimeoutError if it is still pending at `deadline` (loop time)."""
        heap = self._heap
        while heap and heap[0][2].done():  # settled in time: forgotten as they come first
            heapq.heappop(heap)
        heapq.heappush(heap, (deadline, next(self._order), future))
        if deadline < self._armed_at:
            self._arm(deadline)

    def armed_at(self) -> float | None:
        """When the one timer fires (None: none armed)."""
        return None if self._timer is None else self._armed_at

    def close(self) -> None:
        """Disarm; a future still pending fails now (nothing will keep its deadline)."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._armed_at = None, math.inf
        for _, _, future in self._heap:
            _expire(future)
        self._heap.clear()

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._armed_at = when
        self._timer = asyncio.get_running_loop().call_at(when, self._fire)

    def _fire(self) -> None:
        self._timer, self._armed_at = None, math.inf
        heap = self._heap
        # uvloop's clock and timers tick in milliseconds: a timer may run just before its
        # time, which must not re-arm it for the same instant over and over.
        now = asyncio.get_running_loop().time() + _SLACK
        while heap and (heap[0][0] <= now or heap[0][2].done()):
            _expire(heapq.heappop(heap)[2])
        if heap:
            self._arm(heap[0][0])


def _expire(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())
        future.exception()  # retrieved here: its waiter may be gone
