"""The frozen values the marketing-event store hands out: a stored event, its numbers, and a
follower's registration."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any


@dataclasses.dataclass(frozen=True, slots=True)
class Event:
    """A stored event; the templates are stored JSON documents."""

    account_id: str
    id: int
    name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    registered: int
    reminder_offsets: list[int]
    reminder_template: dict[str, Any] | None
    welcome_text: str
    survey_url: str | None
    survey_template: dict[str, Any] | None
    qr_scene: str
    qr_ticket: str
    qr_url: str
    qr_expires_at: dt.datetime
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class Stats:
    """An event's numbers (sent: sent or delivered)."""

    registered: int
    checked_in: int
    walk_ins: int
    reminders_queued: int
    reminders_sent: int
    welcomes_sent: int
    surveys_queued: int
    surveys_sent: int
    surveys_answered: int


@dataclasses.dataclass(frozen=True, slots=True)
class Attendee:
    """A follower's registration for an event (walk-ins have no registered_at)."""

    registered_at: dt.datetime | None
    checked_in_at: dt.datetime | None
