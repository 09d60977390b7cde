"""Marketing event requests and resources (C5, service accounts only)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import pydantic

from gateway.api import models
from gateway.api.models import content, messages
from gateway.domain import marketing

Offset = Annotated[int, pydantic.Field(ge=1, le=marketing.QR_MAX_SECONDS)]


class NewEvent(models.Request):
    name: Annotated[str, pydantic.StringConstraints(min_length=1, max_length=128)]
    starts_at: models.Instant
    ends_at: models.Instant = pydantic.Field(
        description="after starts_at and at most 30 days ahead (the check-in QR code is a "
        "temporary code, valid until the end)"
    )
    capacity: Annotated[int, pydantic.Field(ge=1, le=1_000_000)]
    reminder_offsets: Annotated[
        list[Offset], pydantic.Field(max_length=marketing.MAX_REMINDERS)
    ] = pydantic.Field(
        default_factory=list,
        description="seconds before the start at which each registered follower gets the "
        "reminder template",
    )
    reminder_template: messages.Template | None = pydantic.Field(
        default=None, description="required when reminder_offsets is not empty"
    )
    welcome_text: content.TextContent | None = pydantic.Field(
        default=None,
        description="the customer-service message a follower gets on checking in; default: "
        "'Welcome to <name>! You are checked in.'",
    )
    survey_url: content.Url | None = pydantic.Field(
        default=None,
        description="an external survey on one of the account's oauth_redirect_hosts (reached "
        "through OAuth with a signed identity); default: the gateway's own survey form",
    )
    survey_template: messages.Template | None = pydantic.Field(
        default=None,
        description="sent after the end to everyone checked in; its url is set to the survey link",
    )

    @pydantic.model_validator(mode="after")
    def _schedule(self) -> NewEvent:
        if self.reminder_offsets and self.reminder_template is None:
            raise ValueError("reminder_offsets need a reminder_template")
        now = dt.datetime.now(dt.UTC)
        try:
            marketing.check_schedule(self.starts_at, self.ends_at, self.reminder_offsets, now)
        except marketing.InvalidSchedule as exc:
            raise ValueError(str(exc)) from None
        return self


class EventQrCode(models.Resource):
    ticket: str
    url: str
    scene: str
    expires_at: dt.datetime
    image_url: str


class EventStats(models.Resource):
    registered: int
    walk_ins: int = pydantic.Field(description="checked in without registering")
    checked_in: int
    reminders_queued: int
    reminders_sent: int = pydantic.Field(description="sent or delivered")
    welcomes_sent: int
    surveys_queued: int
    surveys_sent: int
    surveys_answered: int = pydantic.Field(description="answers to the gateway's own form")


class Event(models.Resource):
    id: int
    account_id: str
    name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    reminder_offsets: list[int]
    reminder_template: dict[str, Any] | None
    welcome_text: str
    survey_url: str | None
    survey_template: dict[str, Any] | None
    qrcode: EventQrCode
    registration_url: str = pydantic.Field(
        description="share it: OAuth (snsapi_base), then registration up to capacity"
    )
    survey_link: str = pydantic.Field(description="the link the survey template carries")
    stats: EventStats
    created_at: dt.datetime
