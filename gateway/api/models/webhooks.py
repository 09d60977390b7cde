"""Webhook endpoint requests and resources, the delivery log, replay, and stored callbacks
as payloads (SPEC 7)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import pydantic

from gateway.api import models
from gateway.domain import webhook_rules


def _url(value: str) -> str:
    try:
        webhook_rules.check_url(value)
    except webhook_rules.InvalidDestination as exc:
        raise ValueError(str(exc)) from None
    return value


def _filter(value: str) -> str:
    if not webhook_rules.valid_filter(value):
        raise ValueError(
            f"{value!r} is not an event type or family.* "
            f"(families: {', '.join(sorted(webhook_rules.FAMILIES))})"
        )
    return value


Url = Annotated[
    str,
    pydantic.StringConstraints(min_length=1, max_length=webhook_rules.MAX_URL),
    pydantic.AfterValidator(_url),
    pydantic.Field(description="http or https, no userinfo, at most 2048 characters"),
]
EventType = Annotated[
    str,
    pydantic.StringConstraints(min_length=3, max_length=80),
    pydantic.AfterValidator(_filter),
]
EventTypes = Annotated[
    list[EventType],
    pydantic.Field(
        min_length=1,
        max_length=64,
        description="exact types (message.text, outbound.failed, ...) or family.* "
        "(message, event, outbound, payment, oauth, marketing); absent or null: every type",
    ),
]
Description = Annotated[str, pydantic.StringConstraints(max_length=256)]
RateLimit = Annotated[
    int, pydantic.Field(ge=1, le=10_000, description="requests per second at most")
]
EndpointId = Annotated[str, pydantic.StringConstraints(pattern=r"^ep_[0-9a-f]{24}$")]


Mode = Annotated[
    Literal["deliver", "reply"],
    pydantic.Field(
        description="deliver: events are queued and sent by the worker; reply: called "
        "synchronously inside the callback for what no reply rule answered, its answer being "
        "the passive reply (SPEC 8; at most one per account, 409 conflict for a second)"
    ),
]


class NewEndpoint(models.Request):
    url: Url
    description: Description | None = None
    event_types: EventTypes | None = None
    disabled: bool = False
    rate_limit: RateLimit | None = None
    mode: Mode = "deliver"


class EndpointChange(models.Request):
    """Only the fields given change; `disabled: false` enables a disabled endpoint again."""

    url: Url | None = None
    description: Description | None = None
    event_types: EventTypes | None = None
    disabled: bool | None = None
    rate_limit: RateLimit | None = None

    @pydantic.model_validator(mode="after")
    def _not_null(self) -> EndpointChange:
        for name in ("url", "disabled"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class Endpoint(models.Resource):
    id: str
    url: str
    description: str | None
    event_types: list[str] | None
    disabled: bool
    disabled_reason: str | None = pydantic.Field(description="why wxgate disabled it")
    rate_limit: int | None
    mode: Literal["deliver", "reply"]
    previous_secret_expires_at: dt.datetime | None = pydantic.Field(
        description="until then the previous secret signs requests too"
    )
    created_at: dt.datetime
    updated_at: dt.datetime


class EndpointWithSecret(Endpoint):
    secret: str = pydantic.Field(description="whsec_...: shown only in this response")


class EndpointPage(models.Resource):
    items: list[Endpoint]
    next_cursor: str | None


class DeliveryQuery(models.PageQuery):
    status: Literal["pending", "delivered", "failed"] | None = None


class Attempt(models.Resource):
    at: dt.datetime
    http_status: int | None
    error: str | None
    latency_ms: float
    response: str | None = pydantic.Field(description="the first 1 KiB of the answer")


class Delivery(models.Resource):
    id: int
    event_id: str | None = pydantic.Field(description="the webhook-id; null if purged")
    event_type: str
    status: Literal["pending", "delivered", "failed"]
    next_attempt_at: dt.datetime | None
    created_at: dt.datetime
    attempts: list[Attempt]


class DeliveryPage(models.Resource):
    items: list[Delivery]
    next_cursor: str | None


class Replay(models.Request):
    since: models.Instant
    until: models.Instant | None = pydantic.Field(default=None, description="default: now")
    event_types: EventTypes | None = None


class ReplayAccepted(models.Resource):
    count: int = pydantic.Field(description="deliveries queued, with the events' original ids")


class InboundQuery(models.PageQuery):
    openid: Annotated[str, pydantic.StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = (
        None
    )
    type: EventType | None = None
    since: models.Instant | None = None
    until: models.Instant | None = None


class Payload(models.Resource):
    """What an endpoint receives (and what /inbound lists)."""

    id: str
    type: str
    account_id: str
    created_at: str = pydantic.Field(description="RFC 3339")
    data: dict[str, Any]


class InboundPage(models.Resource):
    items: list[Payload]
    next_cursor: str | None
