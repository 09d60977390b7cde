"""Claimed calls of one worker that have not started: by row (put back if the worker stops),
by account (the next claim takes only what can start behind them), and the low-water wake
that starts the next claim while they are still going out."""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable

from gateway.store import delivery_rows
from scheduler import work


def low_water(per_account: int) -> int:
    """Waiting calls of an account at which the next claim for it starts: half a claim."""
    return per_account // 2


class Waiting:
    """The calls of this worker's passes that wait for their turn."""

    def __init__(self, wake: Callable[[], None]) -> None:
        self._wake = wake
        self.rows: dict[tuple[str, int], tuple[work.Call, delivery_rows.ClaimedDelivery]] = {}
        self._calls: collections.Counter[str] = collections.Counter()
        self._low_water = 0

    def __bool__(self) -> bool:
        return bool(self.rows)

    def add(self, calls: Iterable[work.Call], per_account: int) -> None:
        """A claim's calls, made with the claim cap `per_account`."""
        for call in calls:
            for item in call.items:
                self.rows[item.key] = (call, item)
            self._calls[call.account.id] += 1
        self._low_water = low_water(per_account)

    def caps(self, per_account: int) -> dict[str, int]:
        """Rows a claim may take of each account with calls waiting: the rest of its cap."""
        return {a: max(0, per_account - n) for a, n in self._calls.items() if n > 0}

    def started(self, call: work.Call) -> None:
        """The call started (or will not be made): its rows no longer wait. An account's
        waiting calls falling to the low-water mark wakes a runner to claim behind them."""
        popped = False
        for item in call.items:
            popped = self.rows.pop(item.key, None) is not None or popped
        if not popped:
            return
        account = call.account.id
        left = self._calls[account] - 1
        if left > 0:
            self._calls[account] = left
        else:
            del self._calls[account]
        if left == self._low_water:
            self._wake()

    def by_call(self) -> list[tuple[work.Call, list[delivery_rows.ClaimedDelivery]]]:
        """The waiting rows grouped by their call."""
        grouped: dict[int, tuple[work.Call, list[delivery_rows.ClaimedDelivery]]] = {}
        for call, item in self.rows.values():
            grouped.setdefault(id(call), (call, []))[1].append(item)
        return list(grouped.values())

    def clear(self) -> None:
        self.rows.clear()
        self._calls.clear()
