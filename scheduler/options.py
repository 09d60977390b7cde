"""The worker's tunables, with the defaults README documents (section "Release scheduler")."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

from scheduler import backoff, ratelimit


@dataclasses.dataclass(frozen=True)
class Options:
    limits: ratelimit.Limits = dataclasses.field(default_factory=ratelimit.Limits)
    # A pass claims at most what one account sends in `claim_horizon` seconds at its rate
    # (never more than `claim_per_account`), and `claim_total` rows in all.
    claim_horizon: float = 4.0
    claim_per_account: int = 1000
    claim_total: int = 2000
    # Rows of one openid-list mass message a pass takes (its calls carry 10,000 each): a
    # pass refreshes the message's status over all its deliveries, so a fan-out to millions
    # goes faster in fewer, larger passes (README "Performance").
    mass_rows_per_pass: int = 10_000
    # A claimed row belongs to its worker this long; then any worker may take it over.
    lease: dt.timedelta = dt.timedelta(seconds=60)
    # Passes that may run at once in one worker (a wake-up does not wait for a slow pass).
    runners: int = 2
    tick_seconds: float = 1.0  # the polling fallback
    token_refresh_seconds: float = 60.0
    token_refresh_ahead: dt.timedelta = dt.timedelta(minutes=10)
    # Held past expires_at: expired within 2 s (SPEC 2.2); the sweep is one index probe on
    # unfinished messages (messages_expiry_idx) when nothing is due.
    sweep_seconds: float = 1.0
    events_retention: dt.timedelta = dt.timedelta(days=30)
    messages_retention: dt.timedelta = dt.timedelta(days=90)
    call_timeout: float = 5.0  # per WeChat call; keeps a clean stop under 10 s
    # A call that starts longer than this after its claim decided it is put back and decided
    # again (the window may have closed, the follower left, the quota gone). The claim horizon
    # stays below it, so that a pass's calls normally start in time.
    max_decision_age: float = 5.0
    stop_timeout: float = 8.0
    backoff_base: float = backoff.BASE
    backoff_cap: float = backoff.CAP
    # The first re-decision after WeChat said our view was stale (45015, 45028, 43004).
    stale_delay: float = 1.0
    token_ttl: float = 60.0  # seconds a worker trusts its in-memory copy of a token
    jitter: backoff.Jitter = random.random

    def lease_margin(self) -> float:
        """Seconds of lease a call needs left to start: enough for a token refresh, the
        call and its retry with a fresh token, so it is over before another worker may take
        its rows over (at most half the lease, so short test leases still send)."""
        return min(4 * self.call_timeout, self.lease.total_seconds() / 2)
