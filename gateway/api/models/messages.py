"""Message requests (one model per `type`) and the message resource (SPEC 3, Messages)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import pydantic

from gateway.api import models
from gateway.api.models import content, payments

MAX_OPENIDS = 10_000

OpenId = Annotated[
    str,
    pydantic.StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$"),
    pydantic.Field(description="a follower's openid"),
]
IdempotencyKey = Annotated[str, pydantic.StringConstraints(min_length=1, max_length=255)]
Status = Literal["queued", "held", "sending", "sent", "delivered", "failed", "expired", "canceled"]
TERMINAL: frozenset[str] = frozenset({"sent", "delivered", "failed", "expired", "canceled"})


def _unique(openids: list[str]) -> list[str]:
    if len(set(openids)) != len(openids):
        raise ValueError("openids must be unique")
    return openids


class OpenidsAudience(models.Request):
    """An openid list (service accounts only); one openid goes out through a 1-member tag."""

    openids: Annotated[
        list[OpenId],
        pydantic.Field(min_length=1, max_length=MAX_OPENIDS),
        pydantic.AfterValidator(_unique),
    ]


class TagAudience(models.Request):
    tag_id: Annotated[int, pydantic.Field(ge=0, le=2**31 - 1)]


class AllAudience(models.Request):
    all: Literal[True]


Audience = OpenidsAudience | TagAudience | AllAudience


class _Timing(models.Request):
    not_before: models.Instant | None = pydantic.Field(
        default=None, description="RFC 3339 with offset; not sent before this"
    )
    expires_at: models.Instant | None = pydantic.Field(
        default=None,
        description="RFC 3339 with offset; default max(now, not_before) + WXGATE_DEFAULT_TTL",
    )
    idempotency_key: IdempotencyKey | None = pydantic.Field(
        default=None, description="or the Idempotency-Key header"
    )

    @pydantic.model_validator(mode="after")
    def _ordered(self) -> _Timing:
        if self.expires_at is not None:
            if self.expires_at <= dt.datetime.now(dt.UTC):
                raise ValueError("expires_at must be in the future")
            if self.not_before is not None and self.expires_at <= self.not_before:
                raise ValueError("expires_at must be after not_before")
        return self


class CustomerServiceMessage(_Timing):
    type: Literal["customer_service"]
    to: OpenId
    # Before `content`, whose check reads it.
    outside_window: Literal["hold", "reach"] = pydantic.Field(
        default="hold",
        description="reach: outside the window, send as a 1-recipient mass (service only; "
        "content of msgtype " + ", ".join(sorted(content.REACH_MSGTYPES)) + ")",
    )
    content: content.CustomerServiceContent

    @pydantic.field_validator("content")
    @classmethod
    def _reachable(
        cls, value: pydantic.BaseModel, info: pydantic.ValidationInfo
    ) -> pydantic.BaseModel:
        msgtype = getattr(value, "msgtype", None)
        if info.data.get("outside_window") == "reach" and msgtype not in (content.REACH_MSGTYPES):
            raise ValueError(
                f"content.msgtype {msgtype!r} cannot go out with outside_window=reach: the mass"
                " API takes only " + ", ".join(sorted(content.REACH_MSGTYPES))
            )
        return value


class MiniProgram(models.Request):
    appid: content.Id
    pagepath: content.Url


class TemplateValue(models.Request):
    value: Annotated[str, pydantic.StringConstraints(max_length=1024)]
    color: Annotated[str, pydantic.StringConstraints(max_length=16)] | None = None


class Template(models.Request):
    template_id: content.Id
    data: Annotated[
        dict[
            Annotated[str, pydantic.StringConstraints(min_length=1, max_length=64)], TemplateValue
        ],
        pydantic.Field(min_length=1, max_length=64),
    ]
    url: content.Url | None = None
    miniprogram: MiniProgram | None = None


class TemplateMessage(_Timing):
    type: Literal["template"]
    to: OpenId
    template: Template


class MassMessage(_Timing):
    type: Literal["mass"]
    audience: Audience
    content: content.MassContent


class RedPackMessage(_Timing):
    """A cash red pack to one follower (service accounts with a pay configuration); the
    follower must be subscribed, the window does not matter."""

    type: Literal["red_pack"]
    to: OpenId
    red_pack: payments.RedPack


class CouponMessage(_Timing):
    """A coupon to one follower (service accounts with a pay configuration)."""

    type: Literal["coupon"]
    to: OpenId
    coupon: payments.Coupon


AnyMessage = CustomerServiceMessage | TemplateMessage | MassMessage | RedPackMessage | CouponMessage


class NewMessage(pydantic.RootModel[AnyMessage]):
    root: Annotated[AnyMessage, pydantic.Field(discriminator="type")]


class Transition(models.Resource):
    at: dt.datetime
    status: str
    reason: str | None
    detail: Any = None


class RecipientCounts(models.Resource):
    total: int
    queued: int = 0
    held: int = 0
    sending: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    expired: int = 0
    canceled: int = 0


class MessageSummary(models.Resource):
    id: int
    account_id: str
    type: Literal["customer_service", "template", "mass", "red_pack", "coupon"]
    to: str | None
    status: Status
    reason: str | None
    release_at: dt.datetime | None
    not_before: dt.datetime | None
    expires_at: dt.datetime
    idempotency_key: str | None
    attempts: int
    msgid: str | None
    errcode: int | None
    errmsg: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class Message(MessageSummary):
    audience: dict[str, Any] | None
    content: dict[str, Any] | None
    template: dict[str, Any] | None
    outside_window: Literal["hold", "reach"]
    recipients: RecipientCounts | None = pydantic.Field(
        description="per-recipient counts by status (mass messages), else null"
    )
    history: list[Transition]


class Recipient(models.Resource):
    message_id: int
    openid: str
    status: Status
    reason: str | None
    batch: int | None = pydantic.Field(
        description="the batch (one mass/send call) that carries this recipient; null for a "
        "delivery (a message sent as deliveries, a follower held for the next month)"
    )
    msgid: str | None
    errcode: int | None
    errmsg: str | None


class MessageQuery(models.PageQuery):
    status: Status | None = None


class MessagePage(models.Resource):
    items: list[MessageSummary]
    next_cursor: str | None
