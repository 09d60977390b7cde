"""Calendar quota periods: day and month boundaries in the quota time zone (SPEC 1.3)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable

import pytest

from gateway.domain import kinds, periods

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
UTC = zoneinfo.ZoneInfo("UTC")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
HAVANA = zoneinfo.ZoneInfo("America/Havana")  # DST switches at local midnight


def t(text: str) -> dt.datetime:
    """An instant; without an explicit offset the text is UTC."""
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


# (instant, UTC unless an offset is given; zone; month key; month start; next month start)
MONTHS = [
    # Shanghai: the month turns at 16:00 UTC on the last UTC day of the month.
    ("2026-01-31T15:59:59", SHANGHAI, "2026-01-01", "2025-12-31T16:00:00", "2026-01-31T16:00:00"),
    ("2026-01-31T16:00:00", SHANGHAI, "2026-02-01", "2026-01-31T16:00:00", "2026-02-28T16:00:00"),
    ("2026-01-31T20:00:00", SHANGHAI, "2026-02-01", "2026-01-31T16:00:00", "2026-02-28T16:00:00"),
    ("2026-02-01T00:00:00", SHANGHAI, "2026-02-01", "2026-01-31T16:00:00", "2026-02-28T16:00:00"),
    ("2026-02-28T15:59:59", SHANGHAI, "2026-02-01", "2026-01-31T16:00:00", "2026-02-28T16:00:00"),
    ("2026-02-28T16:00:00", SHANGHAI, "2026-03-01", "2026-02-28T16:00:00", "2026-03-31T16:00:00"),
    ("2026-03-01T00:00:00", SHANGHAI, "2026-03-01", "2026-02-28T16:00:00", "2026-03-31T16:00:00"),
    ("2026-04-30T15:59:59", SHANGHAI, "2026-04-01", "2026-03-31T16:00:00", "2026-04-30T16:00:00"),
    # Leap year 2028: Feb 29 is still February.
    ("2028-02-28T16:00:00", SHANGHAI, "2028-02-01", "2028-01-31T16:00:00", "2028-02-29T16:00:00"),
    ("2028-02-29T15:59:59", SHANGHAI, "2028-02-01", "2028-01-31T16:00:00", "2028-02-29T16:00:00"),
    ("2028-02-29T16:00:00", SHANGHAI, "2028-03-01", "2028-02-29T16:00:00", "2028-03-31T16:00:00"),
    # December -> January changes the year.
    ("2025-12-31T15:59:59", SHANGHAI, "2025-12-01", "2025-11-30T16:00:00", "2025-12-31T16:00:00"),
    ("2025-12-31T16:00:00", SHANGHAI, "2026-01-01", "2025-12-31T16:00:00", "2026-01-31T16:00:00"),
    ("2026-12-31T16:00:00", SHANGHAI, "2027-01-01", "2026-12-31T16:00:00", "2027-01-31T16:00:00"),
    ("2026-12-15T00:00:00", SHANGHAI, "2026-12-01", "2026-11-30T16:00:00", "2026-12-31T16:00:00"),
    # A non-UTC input offset is the same instant.
    (
        "2026-02-01T00:00+08:00",
        SHANGHAI,
        "2026-02-01",
        "2026-01-31T16:00:00",
        "2026-02-28T16:00:00",
    ),
    (
        "2026-01-31T23:59+08:00",
        SHANGHAI,
        "2026-01-01",
        "2025-12-31T16:00:00",
        "2026-01-31T16:00:00",
    ),
    # UTC honours the parameter: the same instants fall in other months.
    ("2026-01-31T16:00:00", UTC, "2026-01-01", "2026-01-01T00:00:00", "2026-02-01T00:00:00"),
    ("2026-01-31T23:59:59", UTC, "2026-01-01", "2026-01-01T00:00:00", "2026-02-01T00:00:00"),
    ("2026-02-01T00:00:00", UTC, "2026-02-01", "2026-02-01T00:00:00", "2026-03-01T00:00:00"),
    ("2026-12-31T23:59:59", UTC, "2026-12-01", "2026-12-01T00:00:00", "2027-01-01T00:00:00"),
    # New York: EST (-5) in winter, EDT (-4) in summer; month edges cross DST changes.
    ("2026-02-01T04:59:59", NEW_YORK, "2026-01-01", "2026-01-01T05:00:00", "2026-02-01T05:00:00"),
    ("2026-02-01T05:00:00", NEW_YORK, "2026-02-01", "2026-02-01T05:00:00", "2026-03-01T05:00:00"),
    ("2026-03-01T04:59:59", NEW_YORK, "2026-02-01", "2026-02-01T05:00:00", "2026-03-01T05:00:00"),
    ("2026-03-31T12:00:00", NEW_YORK, "2026-03-01", "2026-03-01T05:00:00", "2026-04-01T04:00:00"),
    ("2026-04-01T03:59:59", NEW_YORK, "2026-03-01", "2026-03-01T05:00:00", "2026-04-01T04:00:00"),
    ("2026-04-01T04:00:00", NEW_YORK, "2026-04-01", "2026-04-01T04:00:00", "2026-05-01T04:00:00"),
    ("2026-11-30T12:00:00", NEW_YORK, "2026-11-01", "2026-11-01T04:00:00", "2026-12-01T05:00:00"),
    ("2027-01-01T04:59:59", NEW_YORK, "2026-12-01", "2026-12-01T05:00:00", "2027-01-01T05:00:00"),
]


@pytest.mark.parametrize(("at", "tz", "key", "start", "nxt"), MONTHS)
def test_month(at: str, tz: zoneinfo.ZoneInfo, key: str, start: str, nxt: str) -> None:
    instant = t(at)
    assert periods.month_key(instant, tz) == d(key)
    assert periods.month_start(instant, tz) == t(start)
    assert periods.next_month_start(instant, tz) == t(nxt)
    assert periods.month_period(instant, tz) == periods.Period(d(key), t(start), t(nxt))


# (instant in UTC, zone, day key, day start, next day start)
DAYS = [
    # Shanghai: the day turns at 16:00 UTC.
    ("2026-05-10T15:59:59", SHANGHAI, "2026-05-10", "2026-05-09T16:00:00", "2026-05-10T16:00:00"),
    ("2026-05-10T16:00:00", SHANGHAI, "2026-05-11", "2026-05-10T16:00:00", "2026-05-11T16:00:00"),
    ("2026-05-10T00:00:00", SHANGHAI, "2026-05-10", "2026-05-09T16:00:00", "2026-05-10T16:00:00"),
    ("2026-05-10T23:59:59", SHANGHAI, "2026-05-11", "2026-05-10T16:00:00", "2026-05-11T16:00:00"),
    ("2026-01-31T16:00:00", SHANGHAI, "2026-02-01", "2026-01-31T16:00:00", "2026-02-01T16:00:00"),
    ("2028-02-28T16:00:00", SHANGHAI, "2028-02-29", "2028-02-28T16:00:00", "2028-02-29T16:00:00"),
    ("2028-02-29T16:00:00", SHANGHAI, "2028-03-01", "2028-02-29T16:00:00", "2028-03-01T16:00:00"),
    ("2026-12-31T15:59:59", SHANGHAI, "2026-12-31", "2026-12-30T16:00:00", "2026-12-31T16:00:00"),
    ("2026-12-31T16:00:00", SHANGHAI, "2027-01-01", "2026-12-31T16:00:00", "2027-01-01T16:00:00"),
    # UTC.
    ("2026-05-10T16:00:00", UTC, "2026-05-10", "2026-05-10T00:00:00", "2026-05-11T00:00:00"),
    ("2026-05-10T23:59:59", UTC, "2026-05-10", "2026-05-10T00:00:00", "2026-05-11T00:00:00"),
    # New York: the spring-forward day has 23 hours, the fall-back day 25.
    ("2026-03-08T04:59:59", NEW_YORK, "2026-03-07", "2026-03-07T05:00:00", "2026-03-08T05:00:00"),
    ("2026-03-08T12:00:00", NEW_YORK, "2026-03-08", "2026-03-08T05:00:00", "2026-03-09T04:00:00"),
    ("2026-11-01T12:00:00", NEW_YORK, "2026-11-01", "2026-11-01T04:00:00", "2026-11-02T05:00:00"),
    # Havana: midnight is skipped in March (day starts at the jump) and repeated in November
    # (day starts at the first midnight).
    ("2026-03-08T12:00:00", HAVANA, "2026-03-08", "2026-03-08T05:00:00", "2026-03-09T04:00:00"),
    ("2026-03-08T04:59:59", HAVANA, "2026-03-07", "2026-03-07T05:00:00", "2026-03-08T05:00:00"),
    ("2026-11-01T03:59:59", HAVANA, "2026-10-31", "2026-10-31T04:00:00", "2026-11-01T04:00:00"),
    ("2026-11-01T04:30:00", HAVANA, "2026-11-01", "2026-11-01T04:00:00", "2026-11-02T05:00:00"),
    ("2026-11-01T05:30:00", HAVANA, "2026-11-01", "2026-11-01T04:00:00", "2026-11-02T05:00:00"),
]


@pytest.mark.parametrize(("at", "tz", "key", "start", "nxt"), DAYS)
def test_day(at: str, tz: zoneinfo.ZoneInfo, key: str, start: str, nxt: str) -> None:
    instant = t(at)
    assert periods.day_key(instant, tz) == d(key)
    assert periods.day_start(instant, tz) == t(start)
    assert periods.next_day_start(instant, tz) == t(nxt)
    assert periods.day_period(instant, tz) == periods.Period(d(key), t(start), t(nxt))


@pytest.mark.parametrize(
    ("kind", "at", "expected"),
    [
        (
            kinds.AccountKind.SERVICE,
            "2026-01-31T16:00:00",
            ("2026-02-01", "2026-01-31T16:00:00", "2026-02-28T16:00:00"),
        ),
        (
            kinds.AccountKind.SUBSCRIPTION,
            "2026-01-31T16:00:00",
            ("2026-02-01", "2026-01-31T16:00:00", "2026-02-01T16:00:00"),
        ),
        (
            kinds.AccountKind.SERVICE,
            "2026-07-15T03:00:00",
            ("2026-07-01", "2026-06-30T16:00:00", "2026-07-31T16:00:00"),
        ),
        (
            kinds.AccountKind.SUBSCRIPTION,
            "2026-07-15T03:00:00",
            ("2026-07-15", "2026-07-14T16:00:00", "2026-07-15T16:00:00"),
        ),
    ],
)
def test_mass_period(kind: kinds.AccountKind, at: str, expected: tuple[str, str, str]) -> None:
    key, start, resets = expected
    assert periods.mass_period(kind, t(at), SHANGHAI) == periods.Period(d(key), t(start), t(resets))


def test_mass_limits() -> None:
    assert periods.MASS_LIMIT[kinds.AccountKind.SERVICE] == 4
    assert periods.MASS_LIMIT[kinds.AccountKind.SUBSCRIPTION] == 1


@pytest.mark.parametrize(
    "fn",
    [
        periods.day_start,
        periods.next_day_start,
        periods.month_start,
        periods.next_month_start,
        periods.day_key,
        periods.month_key,
    ],
)
def test_naive_datetimes_are_refused(
    fn: Callable[[dt.datetime, zoneinfo.ZoneInfo], object],
) -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        fn(dt.datetime(2026, 1, 1, 12), SHANGHAI)


def test_results_are_utc() -> None:
    at = t("2026-06-01T12:00:00+08:00")
    for value in (
        periods.day_start(at, SHANGHAI),
        periods.next_day_start(at, SHANGHAI),
        periods.month_start(at, SHANGHAI),
        periods.next_month_start(at, SHANGHAI),
        periods.utc(at),
    ):
        assert value.utcoffset() == dt.timedelta(0)
        assert value.tzinfo is dt.UTC


@pytest.mark.parametrize("tz", [SHANGHAI, UTC, NEW_YORK, HAVANA])
def test_every_hour_of_a_year_lies_in_its_periods(tz: zoneinfo.ZoneInfo) -> None:
    at = t("2026-01-01T00:30:00")
    while at.year == 2026:
        day, month = periods.day_period(at, tz), periods.month_period(at, tz)
        assert day.starts_at <= at < day.resets_at
        assert month.starts_at <= at < month.resets_at
        assert month.starts_at <= day.starts_at and day.resets_at <= month.resets_at
        assert periods.day_key(day.resets_at, tz) == day.key + dt.timedelta(days=1)
        assert periods.day_key(day.starts_at, tz) == day.key
        assert periods.month_key(month.starts_at, tz) == month.key
        assert dt.timedelta(hours=23) <= day.resets_at - day.starts_at <= dt.timedelta(hours=25)
        at += dt.timedelta(hours=1)
