"""Retry delays: exponential backoff with full jitter (pure; the random source is a parameter).

Attempt 1 waits up to `base`, attempt 2 up to 2 * base, ... never more than `cap`. Full jitter
(a uniform draw in [0, ceiling]) spreads the retries of many deliveries that failed together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

BASE = 1.0  # seconds
CAP = 300.0  # 5 minutes

Jitter = Callable[[], float]  # returns a float in [0, 1]


def ceiling(attempt: int, *, base: float = BASE, cap: float = CAP) -> float:
    """The largest delay for the `attempt`-th try (1-based): min(cap, base * 2**(attempt-1))."""
    if attempt < 1:
        attempt = 1
    # 2**64 overflows nothing in Python, but cap early to keep the float finite.
    exponent = min(attempt - 1, 64)
    return float(min(cap, base * 2.0**exponent))


def delay(attempt: int, jitter: Jitter, *, base: float = BASE, cap: float = CAP) -> float:
    """Seconds to wait before the next try: a uniform draw in [0, ceiling(attempt)]."""
    draw = min(max(jitter(), 0.0), 1.0)
    return draw * ceiling(attempt, base=base, cap=cap)


def retry_at(
    now: dt.datetime, attempt: int, jitter: Jitter, *, base: float = BASE, cap: float = CAP
) -> dt.datetime:
    """When the next try is due."""
    return now + dt.timedelta(seconds=delay(attempt, jitter, base=base, cap=cap))
