"""Whether a claimed call may still start when its turn comes (pure: `now` is the worker's
clock at that moment). Waiting for the account's rate and concurrency limits takes time, and
what held at the claim may not hold any more."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Literal

from gateway.domain import attempts, periods
from gateway.store import quota_units
from scheduler import work

Verdict = Literal["start", "lease_short", "outcome_unknown", "period_turned", "decision_stale"]


def check(
    call: work.Call,
    now: dt.datetime,
    *,
    lease_margin: dt.timedelta,
    tz: zoneinfo.ZoneInfo | None,
    max_decision_age: dt.timedelta,
) -> Verdict:
    """`start`, or why the call must not start: its rows go back to be decided again (or, for
    `outcome_unknown`, fail)."""
    if call.lease_until is not None and now + lease_margin > call.lease_until:
        # Once the lease ends another worker may take the rows over and send them too.
        return "lease_short"
    if any(not attempts.repeat_allowed(call.channel, i.unknown_since, now) for i in call.items):
        # An earlier attempt may have reached WeChat, which no longer remembers the key.
        return "outcome_unknown"
    if tz is not None and _period_turned(call, now, tz):
        return "period_turned"
    if call.decided_at is not None and now - call.decided_at > max_decision_age:
        # The window, the follower and the quota were judged too long ago: decide again.
        return "decision_stale"
    return "start"


def _period_turned(call: work.Call, now: dt.datetime, tz: zoneinfo.ZoneInfo) -> bool:
    """The call's quota units were taken for a period that has ended since the claim: the
    platform would count the send in the new period, where it could be one too many (a fifth
    mass message of the month, which the platform silently drops). A re-send of which an
    attempt may have reached the platform keeps its units whatever the period."""
    if call.resend and any(i.unknown_since is not None for i in call.items):
        return False
    for item in call.items:
        unit = item.quota
        if unit is None:
            continue
        if unit.kind == quota_units.FOLLOWER_MONTH:
            current = periods.month_key(now, tz)
        else:
            current = periods.day_key(now, tz)
        if unit.period != current:
            return True
    return False
