"""Mass-message quotas in the quota time zone's calendar periods.

Service account: each follower receives at most 4 mass messages a month (the platform filters
the excess recipients out; it is not an error), and at most 4 to-all sends a month, 1 a day.
Subscription account: one successful mass send a day for the whole account.
"""

from __future__ import annotations

import dataclasses
import zoneinfo
from collections.abc import Iterable
from datetime import date, datetime

from gateway.mock import state

PER_FOLLOWER_MONTHLY = 4
TO_ALL_MONTHLY = 4


@dataclasses.dataclass(frozen=True)
class Audience:
    """The recipients of one mass send after the platform's filtering."""

    total: int
    eligible: list[str]
    unsubscribed: list[str]
    over_quota: list[str]

    def violation(self) -> str | None:
        """Why the caller should not have addressed the filtered recipients, if any were."""
        parts = []
        if self.over_quota:
            parts.append(
                f"{len(self.over_quota)} recipient(s) over the {PER_FOLLOWER_MONTHLY}/month "
                f"mass quota ({_sample(self.over_quota)})"
            )
        if self.unsubscribed:
            count = len(self.unsubscribed)
            parts.append(f"{count} recipient(s) not subscribed ({_sample(self.unsubscribed)})")
        return "violation: sent to " + " and ".join(parts) if parts else None


def _sample(openids: list[str]) -> str:
    return ", ".join(openids[:5]) + (", ..." if len(openids) > 5 else "")


def day(moment: datetime, tz: zoneinfo.ZoneInfo) -> date:
    """The local calendar day: a subscription account's mass quota resets at its midnight."""
    return moment.astimezone(tz).date()


def month(moment: datetime, tz: zoneinfo.ZoneInfo) -> str:
    """The local calendar month as `YYYY-MM`: per-follower mass quotas reset on the 1st."""
    return moment.astimezone(tz).strftime("%Y-%m")


def used(follower: state.Follower, now: datetime, tz: zoneinfo.ZoneInfo) -> int:
    """Mass messages the follower received in the current calendar month."""
    current = month(now, tz)
    return sum(1 for at in follower.mass_received if month(at, tz) == current)


def audience(
    account: state.Account, openids: Iterable[str], now: datetime, tz: zoneinfo.ZoneInfo
) -> Audience:
    unique = list(dict.fromkeys(openids))
    eligible, unsubscribed, over = [], [], []
    for openid in unique:
        follower = account.followers.get(openid)
        if follower is None or not follower.subscribed:
            unsubscribed.append(openid)
        elif account.kind == "service" and used(follower, now, tz) >= PER_FOLLOWER_MONTHLY:
            over.append(openid)
        else:
            eligible.append(openid)
    return Audience(len(unique), eligible, unsubscribed, over)


def account_exhausted(
    account: state.Account, to_all: bool, now: datetime, tz: zoneinfo.ZoneInfo
) -> bool:
    """Whether a `sendall` is refused with 45028 (no masssend quota)."""
    today, this_month = day(now, tz), month(now, tz)
    if account.kind == "subscription":
        return any(day(at, tz) == today for at, _ in account.sendall_log)
    if not to_all:
        return False
    to_all_sends = [at for at, was_to_all in account.sendall_log if was_to_all]
    if any(day(at, tz) == today for at in to_all_sends):
        return True
    return sum(1 for at in to_all_sends if month(at, tz) == this_month) >= TO_ALL_MONTHLY


def consume(account: state.Account, recipients: Audience, now: datetime) -> None:
    for openid in recipients.eligible:
        account.followers[openid].mass_received.append(now)
