"""The console's query strings and form fields, validated before they reach a store function
(a bad value is a 4xx page, never a 5xx)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

import pydantic
from aiohttp import web

from gateway.api import bodies, errors, models
from gateway.domain import webhook_rules

OpenId = Annotated[str, pydantic.StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Reason = Annotated[str, pydantic.StringConstraints(pattern=r"^[a-z0-9_]{1,64}$")]
Status = Literal["queued", "held", "sending", "sent", "delivered", "failed", "expired", "canceled"]
# `text`, `message.text`, `event`, `event.subscribe` (the type names of SPEC 7).
EventType = Annotated[
    str, pydantic.StringConstraints(pattern=r"^(message\.|event\.)?[A-Za-z_]{1,64}$")
]
_TYPE = re.compile(r"^(?:(message|event)\.)?([A-Za-z_]{1,64})$")


def _utc(value: dt.datetime) -> dt.datetime:
    """A browser's datetime-local input has no offset: it is read as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    if not models.MIN_YEAR <= value.year <= models.MAX_YEAR:
        raise ValueError("year out of range")
    return value.astimezone(dt.UTC)


Time = Annotated[dt.datetime, pydantic.AfterValidator(_utc)]


def _blank_is_none(data: object) -> object:
    # An empty form field means "no filter".
    if isinstance(data, dict):
        return {k: v for k, v in data.items() if v != ""}
    return data


class Query(models.Query):
    cursor: str | None = pydantic.Field(default=None, max_length=512)

    @pydantic.model_validator(mode="before")
    @classmethod
    def _blanks(cls, data: object) -> object:
        return _blank_is_none(data)


class AccountsQuery(Query):
    pass


class FollowerQuery(Query):
    openid: OpenId | None = None


class MessagesQuery(Query):
    status: Status | None = None
    reason: Reason | None = None


class EventsQuery(Query):
    type: EventType | None = None
    openid: OpenId | None = None
    since: Time | None = None
    until: Time | None = None


DeliveryStatus = Literal["pending", "delivered", "failed"]


class EndpointsQuery(Query):
    pass


class DeliveriesQuery(Query):
    status: DeliveryStatus | None = None
    # Shown after a replay or a retry (the redirect carries them).
    replayed: int | None = pydantic.Field(default=None, ge=0, le=10**12)
    retried: int | None = pydantic.Field(default=None, ge=1, le=2**63 - 1)


class SyncsQuery(Query):
    pass


MAX_TYPES = 64  # as the API's EventTypes


def _types(value: str | None) -> list[str] | None:
    # Comma- or space-separated event types; each as the API accepts them.
    if value is None:
        return None
    names = [n for n in re.split(r"[\s,]+", value) if n]
    if not names:
        return None
    if len(names) > MAX_TYPES:
        raise ValueError(f"at most {MAX_TYPES} event types")
    for name in names:
        if not webhook_rules.valid_filter(name):
            raise ValueError("not an event type or family.*")
    return names


def _checked(value: str | None) -> str | None:
    _types(value)
    return value


class ReplayForm(pydantic.BaseModel):
    """The replay form: since and until (UTC; until empty: now), event types (empty: all)."""

    model_config = pydantic.ConfigDict(extra="ignore")

    since: Time
    until: Time | None = None
    event_types: Annotated[
        str | None, pydantic.StringConstraints(max_length=4096), pydantic.AfterValidator(_checked)
    ] = None

    @pydantic.model_validator(mode="before")
    @classmethod
    def _blanks(cls, data: object) -> object:
        return _blank_is_none(data)

    @property
    def types(self) -> list[str] | None:
        return _types(self.event_types)


def parse_form(data: dict[str, str], model: type[bodies.M]) -> bodies.M:
    """Form fields through `model`; problems are a 422 page naming the field."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        fields = ", ".join(str(e["loc"][-1]) if e["loc"] else "?" for e in exc.errors())
        raise errors.ApiError("validation_error", f"invalid form field: {fields}") from None


def parse(request: web.Request, model: type[bodies.M]) -> bodies.M:
    """The query string through `model`; problems are a 422 page naming the field."""
    try:
        return bodies.parse_query(request, model)
    except errors.ApiError as exc:
        fields = ", ".join(
            str(d.get("loc", ["?"])[-1]) for d in (exc.details or []) if isinstance(d, dict)
        )
        raise errors.ApiError(exc.code, f"invalid filter: {fields or exc.message}") from None


def event_type(value: str | None) -> tuple[str | None, str | None]:
    """(msg_type, event) of a type filter: `message.text` -> (text, None), `event.scan` or
    `scan`-less `event` -> (event, scan|None), a bare `text` -> (text, None)."""
    if value is None:
        return None, None
    match = _TYPE.fullmatch(value)
    assert match is not None  # validated by EventType
    family, name = match.groups()
    if family == "event":
        return "event", name.lower()
    return name.lower(), None
