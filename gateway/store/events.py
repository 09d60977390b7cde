"""Marketing events (C5): creation, registration (reminders queued with it), check-in by the
event's QR code (welcome and survey queued with it), survey answers and statistics.

The messages an event sends are ordinary queued messages, stored through the messages store
in the same transaction as the registration or check-in that causes them, with idempotency
keys (`wxgate:event:<id>:<purpose>:...`), so that doing a step again never queues twice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
from collections.abc import Callable
from typing import Any, Literal

import asyncpg

from gateway.domain import marketing, webhook_payload
from gateway.store import errors, event_rows, messages, queries, rows, webhooks
from gateway.store import pool as pool_mod

log = logging.getLogger(__name__)

Db = pool_mod.Connection | asyncpg.Pool
Registration = Literal["registered", "already_registered", "full", "closed"]
WELCOME_TTL = dt.timedelta(hours=48)  # the window the scan opened


@dataclasses.dataclass(frozen=True, kw_only=True)
class NewEvent:
    name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    reminder_offsets: list[int]
    reminder_template: dict[str, Any] | None
    welcome_text: str
    survey_url: str | None
    survey_template: dict[str, Any] | None  # its url is already the survey link
    qr_scene: str
    qr_ticket: str
    qr_url: str
    qr_expires_at: dt.datetime


# The values the event reads hand out (built in event_rows.py).
Event = event_rows.Event
Stats = event_rows.Stats
Attendee = event_rows.Attendee


@dataclasses.dataclass(frozen=True)
class CheckIn:
    event_id: int
    fresh: bool  # False: the follower had checked in before (a repeated scan)
    open: bool  # False: the event is over; nothing changed


async def create_event(db: Db, account_id: str, event: NewEvent) -> Event:
    row = await db.fetchrow(
        queries.get("event_insert"),
        account_id,
        event.name,
        event.starts_at,
        event.ends_at,
        event.capacity,
        event.reminder_offsets,
        event.reminder_template,
        event.welcome_text,
        event.survey_url,
        event.survey_template,
        event.qr_scene,
        event.qr_ticket,
        event.qr_url,
        event.qr_expires_at,
    )
    assert row is not None
    log.info(
        "event created",
        extra={"action": "event_create", "account_id": account_id, "event_id": row["id"]},
    )
    return rows.build(Event, row)


async def get_event(db: Db, account_id: str, event_id: int) -> Event:
    row = await db.fetchrow(queries.get("event_get"), account_id, event_id)
    if row is None:
        raise errors.NotFound("no such event")
    return rows.build(Event, row)


async def event_stats(db: Db, account_id: str, event_id: int) -> Stats:
    row = await db.fetchrow(queries.get("event_stats"), account_id, event_id)
    assert row is not None
    return Stats(**{k: int(v) for k, v in dict(row).items()})


def _key(event_id: int, purpose: str, openid: str, extra: str = "") -> tuple[str, str]:
    key = f"wxgate:event:{event_id}:{purpose}:{extra}{openid}"
    return key, hashlib.sha256(key.encode()).hexdigest()


async def _queue(
    conn: pool_mod.Connection,
    event: Event,
    purpose: str,
    openid: str,
    msg: messages.NewMessage,
) -> int:
    message_id = await messages.enqueue_in(conn, event.account_id, msg)
    await conn.execute(
        queries.get("event_message_link"),
        event.account_id,
        event.id,
        message_id,
        purpose,
        openid,
    )
    return message_id


def _template(
    event: Event,
    purpose: str,
    openid: str,
    template: dict[str, Any],
    not_before: dt.datetime,
    expires_at: dt.datetime,
    extra: str = "",
) -> messages.NewMessage:
    key, digest = _key(event.id, purpose, openid, extra)
    return messages.NewMessage(
        type="template",
        recipient=openid,
        audience=None,
        content=None,
        template=template,
        outside_window="hold",
        not_before=not_before,
        expires_at=expires_at,
        idempotency_key=key,
        request_hash=digest,
        openids=[openid],
    )


async def register(
    pool: asyncpg.Pool, account_id: str, event_id: int, openid: str, now: dt.datetime
) -> Registration:
    """Register a follower, up to capacity, and queue their reminders (template messages due
    at each offset before the start, expiring at the start). Registering again changes
    nothing; registration closes at the start."""
    async with pool.acquire() as conn, conn.transaction():
        locked = await conn.fetchrow(queries.get("event_lock"), account_id, event_id)
        if locked is None:
            raise errors.NotFound("no such event")
        event = rows.build(Event, locked)
        row = await conn.fetchrow(
            queries.get("event_registration_lock"), account_id, event_id, openid
        )
        if row is not None and row["registered_at"] is not None:
            return "already_registered"
        if not marketing.registration_open(event.starts_at, now):
            return "closed"
        if not marketing.has_room(event.registered, event.capacity):
            return "full"
        await conn.execute(queries.get("event_register"), account_id, event_id, openid, now)
        data = {"event_id": event_id, "openid": openid, "at": webhook_payload.rfc3339(now)}
        await webhooks.emit(conn, account_id, "marketing.registered", openid, data)
        await conn.execute(queries.get("event_count_registration"), account_id, event_id)
        template = event.reminder_template
        if template is not None:
            for reminder in marketing.reminders(event.starts_at, list(event.reminder_offsets), now):
                msg = _template(
                    event,
                    "reminder",
                    openid,
                    template,
                    reminder.at,
                    event.starts_at,
                    extra=f"{reminder.offset}:",
                )
                await _queue(conn, event, "reminder", openid, msg)
    log.info(
        "event registration",
        extra={"action": "event_register", "account_id": account_id, "event_id": event_id},
    )
    return "registered"


async def check_in(
    pool: asyncpg.Pool,
    account_id: str,
    scene: str,
    openid: str,
    at: dt.datetime,
    survey_ttl: dt.timedelta,
    survey_link: Callable[[Event], str],
) -> CheckIn | None:
    """A scan of an event's QR code at `at`: check the follower in (registered or walk-in),
    queue a welcome customer-service message (the scan opened the window) and the survey
    template due at the end. None if no event has this scene. Safe to repeat."""
    async with pool.acquire() as conn, conn.transaction():
        found = await conn.fetchrow(queries.get("event_by_scene"), account_id, scene)
        if found is None:
            return None
        event = rows.build(Event, found)
        if not marketing.check_in_open(event.ends_at, at):
            return CheckIn(event.id, False, False)
        args = (account_id, event.id, openid, at)
        fresh = await conn.fetchval(queries.get("event_check_in_new"), *args) is not None
        if not fresh:
            # Concurrent scans: the row lock makes exactly one of them see it unchecked.
            checked = await conn.fetchval(queries.get("event_check_in_registered"), *args)
            fresh = checked is not None
        if fresh:
            data = {"event_id": event.id, "openid": openid, "at": webhook_payload.rfc3339(at)}
            await webhooks.emit(conn, account_id, "marketing.checked_in", openid, data)
        key, digest = _key(event.id, "welcome", openid)
        welcome = messages.NewMessage(
            type="customer_service",
            recipient=openid,
            audience=None,
            content={"msgtype": "text", "text": {"content": event.welcome_text}},
            template=None,
            outside_window="hold",
            not_before=None,
            expires_at=min(at + WELCOME_TTL, event.ends_at),
            idempotency_key=key,
            request_hash=digest,
            openids=[openid],
        )
        await _queue(conn, event, "welcome", openid, welcome)
        if event.survey_template is not None:
            ends = event.ends_at
            template = {**event.survey_template, "url": survey_link(event)}
            survey = _template(event, "survey", openid, template, ends, ends)
            survey = dataclasses.replace(survey, expires_at=ends + survey_ttl)
            await _queue(conn, event, "survey", openid, survey)
    log.info(
        "event check-in%s",
        "" if fresh else " (again)",
        extra={"action": "event_check_in", "account_id": account_id, "event_id": event.id},
    )
    return CheckIn(event.id, fresh, True)


async def attendee(db: Db, account_id: str, event_id: int, openid: str) -> Attendee | None:
    """The follower's registration for the event, if any."""
    row = await db.fetchrow(queries.get("event_attendee"), account_id, event_id, openid)
    return None if row is None else rows.build(Attendee, row)


async def save_answers(
    db: Db, account_id: str, event_id: int, openid: str, answers: dict[str, Any]
) -> bool:
    """Store survey answers once per follower, with their webhook; False if they had
    answered already."""
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn:
            return await save_answers(conn, account_id, event_id, openid, answers)
    async with db.transaction():
        stored = await db.fetchval(
            queries.get("event_survey_answer"), account_id, event_id, openid, answers
        )
        if stored is not None:
            data = {"event_id": event_id, "openid": openid, "answers": answers}
            await webhooks.emit(db, account_id, "marketing.survey_answered", openid, data)
    if stored is not None:
        log.info(
            "survey answered",
            extra={"action": "event_survey", "account_id": account_id, "event_id": event_id},
        )
    return stored is not None


async def answered(db: Db, account_id: str, event_id: int, openid: str) -> bool:
    """Whether the follower has answered the event's survey."""
    return bool(
        await db.fetchval(queries.get("event_survey_answered"), account_id, event_id, openid)
    )
