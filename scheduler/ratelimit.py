"""Per-account call limits inside one worker, so that one busy account cannot starve others.

Every account gets its own token bucket (calls per second), its own bucket for the mass
endpoints (the platform allows about 60 mass calls a minute), and its own cap on calls in
flight; a worker-wide semaphore bounds the connections of all accounts together.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable


class TokenBucket:
    """`rate` tokens a second, holding at most `burst`; starts full."""

    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a bucket needs rate > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = burst
        self._at = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now

    def try_take(self) -> float:
        """Take a token and return 0.0, or return the seconds until one is available."""
        self._refill()
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self.rate

    def give_back(self) -> None:
        """Return a token taken for a call that was not made."""
        self._refill()
        self._tokens = min(self.burst, self._tokens + 1)

    async def take(self, stop: asyncio.Event) -> bool:
        """Wait for a token; False if `stop` was set first (the caller gives up)."""
        while not stop.is_set():
            wait = self.try_take()
            if wait == 0.0:
                return True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=wait)
        return False


@dataclasses.dataclass(frozen=True)
class Limits:
    """The numbers; defaults documented in README (section "Release scheduler")."""

    calls_per_second: float = 50.0
    burst: float = 50.0
    mass_calls_per_minute: float = 60.0
    concurrency_per_account: int = 16
    concurrency_total: int = 256
    # One-member tags count against the platform's 100 tags per account.
    tag_sends_per_account: int = 4


class AccountLimiter:
    """The buckets and semaphores of one account."""

    def __init__(self, limits: Limits) -> None:
        self.calls = TokenBucket(limits.calls_per_second, limits.burst)
        mass_burst = max(1.0, limits.mass_calls_per_minute)
        self.mass = TokenBucket(limits.mass_calls_per_minute / 60.0, mass_burst)
        self.in_flight = asyncio.Semaphore(limits.concurrency_per_account)
        self.tag_sends = asyncio.Semaphore(limits.tag_sends_per_account)


class Slot:
    """`async with` both semaphores (a plain class: an asynccontextmanager costs a generator
    and two extra frames per call, noticeable at thousands of calls a second)."""

    __slots__ = ("_account", "_total")

    def __init__(self, account: asyncio.Semaphore, total: asyncio.Semaphore) -> None:
        self._account = account
        self._total = total

    async def __aenter__(self) -> None:
        await self._account.acquire()
        try:
            await self._total.acquire()
        except BaseException:
            self._account.release()
            raise

    async def __aexit__(self, *exc: object) -> None:
        self._total.release()
        self._account.release()


class RateLimiter:
    """All accounts' limiters of one worker, created on first use."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._accounts: dict[str, AccountLimiter] = {}
        self._total = asyncio.Semaphore(limits.concurrency_total)

    def account(self, account_id: str) -> AccountLimiter:
        limiter = self._accounts.get(account_id)
        if limiter is None:
            limiter = self._accounts[account_id] = AccountLimiter(self.limits)
        return limiter

    def slot(self, account_id: str) -> Slot:
        """A place among the account's and the worker's calls in flight."""
        return Slot(self.account(account_id).in_flight, self._total)

    def claim_cap(self, horizon: float) -> int:
        """How many rows one account may claim per pass: what its rate sends in `horizon` s."""
        return max(1, int(self.limits.calls_per_second * horizon))
