"""Marketing events (C5, service accounts only): when an event may be created, registered
for and checked into, when its reminders go out, and how long its check-in QR code lives.

Times are parameters; everything here is pure. An event runs from `starts_at` to `ends_at`;
its temporary QR code must cover that, and WeChat's temporary codes live at most 30 days.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

from gateway import errors
from gateway.domain import periods

MAX_AHEAD = dt.timedelta(days=30)  # a temporary QR code lives at most 2,592,000 s
QR_MIN_SECONDS = 60
QR_MAX_SECONDS = 2_592_000
MAX_REMINDERS = 10


class InvalidSchedule(errors.WxgateError, ValueError):
    """The event's times cannot work (the message says which rule)."""


@dataclasses.dataclass(frozen=True)
class Reminder:
    """One reminder: `offset` seconds before the start, due at `at`."""

    offset: int
    at: dt.datetime


def check_schedule(
    starts_at: dt.datetime, ends_at: dt.datetime, offsets: list[int], now: dt.datetime
) -> None:
    """Raise InvalidSchedule unless now < start < end <= now + 30 days and every reminder
    offset is a distinct positive number of seconds of at most 30 days."""
    starts_at, ends_at, now = periods.utc(starts_at), periods.utc(ends_at), periods.utc(now)
    if starts_at <= now:
        raise InvalidSchedule("starts_at must be in the future")
    if ends_at <= starts_at:
        raise InvalidSchedule("ends_at must be after starts_at")
    if ends_at > now + MAX_AHEAD:
        raise InvalidSchedule(
            "ends_at must be at most 30 days ahead: the check-in QR code is a temporary "
            "code, and those live at most 30 days"
        )
    if len(offsets) > MAX_REMINDERS:
        raise InvalidSchedule(f"at most {MAX_REMINDERS} reminder offsets")
    if len(set(offsets)) != len(offsets):
        raise InvalidSchedule("reminder offsets must be distinct")
    if any(not 0 < o <= QR_MAX_SECONDS for o in offsets):
        raise InvalidSchedule("reminder offsets must be 1 to 2592000 seconds")


def qr_expire_seconds(ends_at: dt.datetime, now: dt.datetime) -> int:
    """The check-in code's lifetime: until the end, but never below WeChat's 60 s minimum
    nor above its 30-day maximum."""
    remaining = (periods.utc(ends_at) - periods.utc(now)).total_seconds()
    return min(max(math.ceil(remaining), QR_MIN_SECONDS), QR_MAX_SECONDS)


def reminders(starts_at: dt.datetime, offsets: list[int], now: dt.datetime) -> list[Reminder]:
    """The reminders still ahead for someone registering at `now`, earliest first; a reminder
    whose time has passed is skipped (a late registrant gets the later ones only)."""
    starts_at, now = periods.utc(starts_at), periods.utc(now)
    due = [Reminder(o, starts_at - dt.timedelta(seconds=o)) for o in offsets]
    return sorted((r for r in due if r.at > now), key=lambda r: r.at)


def registration_open(starts_at: dt.datetime, now: dt.datetime) -> bool:
    """Registration closes when the event starts."""
    return periods.utc(now) < periods.utc(starts_at)


def check_in_open(ends_at: dt.datetime, at: dt.datetime) -> bool:
    """A scan checks in until the event ends (early arrivals included)."""
    return periods.utc(at) < periods.utc(ends_at)


def has_room(registered: int, capacity: int) -> bool:
    """Capacity limits registrations; walk-ins who check in without one are not counted."""
    return registered < capacity
