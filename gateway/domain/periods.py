"""Calendar quota periods in the quota time zone (SPEC 1.3, wechat-platform.md section 9).

A subscription account's mass quota resets at local midnight each day, a service account
follower's at local midnight on the 1st of each month. Instants go in and come out as
timezone-aware UTC datetimes; the zone is always a parameter (callers default it to
Asia/Shanghai from WXGATE_QUOTA_TIMEZONE), and nothing here reads the clock.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import zoneinfo
from collections.abc import Mapping

from gateway.domain import kinds

# Mass messages per period: per follower per month (service), per account per day
# (subscription).
MASS_LIMIT: Mapping[kinds.AccountKind, int] = types.MappingProxyType(
    {kinds.AccountKind.SERVICE: 4, kinds.AccountKind.SUBSCRIPTION: 1}
)


@dataclasses.dataclass(frozen=True)
class Period:
    """One quota period: `key` is the local date it starts on (what usage rows store)."""

    key: dt.date
    starts_at: dt.datetime
    resets_at: dt.datetime


def utc(at: dt.datetime) -> dt.datetime:
    """`at` as a UTC datetime; a naive datetime is a caller bug (ValueError), never guessed."""
    if at.tzinfo is dt.UTC:
        return at  # what astimezone(dt.UTC) returns for it, without the call (per row, hot)
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()}: pass a timezone-aware instant")
    return at.astimezone(dt.UTC)


def _midnight(day: dt.date, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    # fold=0 resolves both DST edge cases to the first instant of the local day: a skipped
    # midnight (clocks jump 00:00 -> 01:00) maps to the transition instant itself, a repeated
    # one to its earlier occurrence.
    return dt.datetime.combine(day, dt.time(), tzinfo=tz).astimezone(dt.UTC)


def _local_date(at: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.date:
    return utc(at).astimezone(tz).date()


def day_key(at: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.date:
    """The local date in `tz` of the day containing `at`."""
    return _local_date(at, tz)


def month_key(at: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.date:
    """The 1st of the local month in `tz` containing `at`."""
    return _local_date(at, tz).replace(day=1)


def _next_month_key(at: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.date:
    first = month_key(at, tz)
    if first.month == 12:
        return first.replace(year=first.year + 1, month=1)
    return first.replace(month=first.month + 1)


def day_start(at: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """The first instant (UTC) of the local day containing `at`; always <= `at`."""
    return _midnight(day_key(at, tz), tz)


def next_day_start(at: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """The first instant (UTC) of the following local day; always > `at` (23-25 h on DST days)."""
    return _midnight(day_key(at, tz) + dt.timedelta(days=1), tz)


def month_start(at: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """The first instant (UTC) of the local month containing `at`; always <= `at`."""
    return _midnight(month_key(at, tz), tz)


def next_month_start(at: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """The first instant (UTC) of the following local month; always > `at`."""
    return _midnight(_next_month_key(at, tz), tz)


def day_period(at: dt.datetime, tz: zoneinfo.ZoneInfo) -> Period:
    """The local calendar day containing `at`."""
    return Period(day_key(at, tz), day_start(at, tz), next_day_start(at, tz))


def month_period(at: dt.datetime, tz: zoneinfo.ZoneInfo) -> Period:
    """The local calendar month containing `at`."""
    return Period(month_key(at, tz), month_start(at, tz), next_month_start(at, tz))


def mass_period(kind: kinds.AccountKind, at: dt.datetime, tz: zoneinfo.ZoneInfo) -> Period:
    """The mass-quota period containing `at`: a month for service, a day for subscription."""
    if kind == kinds.AccountKind.SERVICE:
        return month_period(at, tz)
    return day_period(at, tz)
