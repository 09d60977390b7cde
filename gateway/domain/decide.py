"""The decision for one message and one recipient (SPEC 1.4): send, hold, expire or reject.

`decide` is a pure function of (account, follower, message, usage, now). The scheduler calls
it on the follower row locked in the claiming transaction and consumes the quota units a
`Send` names there; the API calls `check_enqueue` so that a `Reject` is never stored.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import types
import zoneinfo
from collections.abc import Mapping
from typing import Literal, TypeAlias

from gateway.domain import kinds, periods, window

Quota: TypeAlias = Literal["follower_month", "account_day"]


class MessageType(enum.StrEnum):
    CUSTOMER_SERVICE = "customer_service"
    TEMPLATE = "template"
    MASS = "mass"
    RED_PACK = "red_pack"  # C2: a cash red pack through the payment API
    COUPON = "coupon"  # C2: a coupon from a stock, through the payment API


class Audience(enum.StrEnum):
    OPENIDS = "openids"
    TAG = "tag"
    ALL = "all"


class Channel(enum.StrEnum):
    CUSTOM = "custom"  # message/custom/send, inside the window
    TEMPLATE = "template"  # message/template/send
    MASS_OPENIDS = "mass_openids"  # message/mass/send by openid list
    MASS_SINGLE = "mass_single"  # customer-service message outside the window, via a 1-member tag
    SENDALL = "sendall"  # message/mass/sendall by tag or to all
    RED_PACK = "red_pack"  # the payment API's red pack send, keyed by mch_billno
    COUPON = "coupon"  # the payment API's coupon send, keyed by partner_trade_no


class HoldReason(enum.StrEnum):
    NOT_BEFORE = "not_before"
    WINDOW_CLOSED = "window_closed"
    NOT_SUBSCRIBED = "not_subscribed"
    MASS_QUOTA_EXHAUSTED = "mass_quota_exhausted"
    DAILY_MASS_USED = "daily_mass_used"
    API_QUOTA_EXHAUSTED = "api_quota_exhausted"  # set by the scheduler, never by decide
    RATE_LIMITED = "rate_limited"  # set by the scheduler, never by decide
    RETRY_BACKOFF = "retry_backoff"  # set by the scheduler, never by decide


class WaitFor(enum.StrEnum):
    INTERACTION = "interaction"  # any window trigger, re-subscribing included
    SUBSCRIBE = "subscribe"


@dataclasses.dataclass(frozen=True)
class Account:
    """The account facts a decision needs; `profile` shaped the stored window already."""

    kind: kinds.AccountKind
    profile: window.RuleProfile
    tz: zoneinfo.ZoneInfo


@dataclasses.dataclass(frozen=True)
class Follower:
    """The recipient as locked in the claiming transaction."""

    subscribed: bool
    window: window.Window


@dataclasses.dataclass(frozen=True, kw_only=True)
class Message:
    """What was queued; `audience` is set for mass messages only, `reach` for CS only."""

    type: MessageType
    audience: Audience | None = None
    outside_window: Literal["hold", "reach"] = "hold"
    not_before: dt.datetime | None = None
    expires_at: dt.datetime

    def __post_init__(self) -> None:
        if (self.type == MessageType.MASS) != (self.audience is not None):
            raise ValueError("a mass message needs an audience, and only a mass message has one")
        if self.outside_window == "reach" and self.type != MessageType.CUSTOMER_SERVICE:
            raise ValueError("outside_window=reach applies to customer_service messages only")
        periods.utc(self.expires_at)
        if self.not_before is not None:
            periods.utc(self.not_before)


def audience_of(type_: MessageType, audience: Mapping[str, object] | None) -> Audience | None:
    """A mass message's audience from its stored form (`openids`, `tag_id` or all)."""
    if type_ != MessageType.MASS:
        return None
    if "openids" in (audience or {}):
        return Audience.OPENIDS
    if "tag_id" in (audience or {}):
        return Audience.TAG
    return Audience.ALL


def message_of(
    type_: str,
    audience: Mapping[str, object] | None,
    outside_window: str | None,
    not_before: dt.datetime | None,
    expires_at: dt.datetime,
) -> Message:
    """The domain's message from its stored fields (a messages row, or a validated request in
    the same shape): the one builder the API and the scheduler share."""
    kind = MessageType(type_)
    reach = kind == MessageType.CUSTOMER_SERVICE and outside_window == "reach"
    return Message(
        type=kind,
        audience=audience_of(kind, audience),
        outside_window="reach" if reach else "hold",
        not_before=not_before,
        expires_at=expires_at,
    )


@dataclasses.dataclass(frozen=True)
class Usage:
    """Mass units used in the period containing `now`.

    `follower_mass_used`: the recipient's units this month (service accounts);
    `account_mass_used`: the account's mass sends today (subscription accounts).
    """

    follower_mass_used: int = 0
    account_mass_used: int = 0


@dataclasses.dataclass(frozen=True)
class Send:
    """Permitted now; consume `units` of `quota` in the same transaction as the claim."""

    channel: Channel
    units: int = 0
    quota: Quota | None = None


@dataclasses.dataclass(frozen=True)
class Hold:
    """Not yet: wake at `release_at`, or on `wait_for`, whichever comes first."""

    reason: HoldReason
    release_at: dt.datetime | None = None
    wait_for: WaitFor | None = None


@dataclasses.dataclass(frozen=True)
class Expire:
    """Can no longer be permitted before `expires_at`; `reason` is what it waited for."""

    reason: str


@dataclasses.dataclass(frozen=True)
class Reject:
    """The account kind lacks `capability`: never permitted (403 at enqueue)."""

    capability: kinds.Capability
    message: str


Decision: TypeAlias = Send | Hold | Expire | Reject

_NOT_SUBSCRIBED = Hold(HoldReason.NOT_SUBSCRIBED, None, WaitFor.SUBSCRIBE)
_SEND_CUSTOM = Send(Channel.CUSTOM, 0, None)  # the common decision, built once (frozen)


# C2: payment sends need the follower subscribed but are not bound by the window.
_PAYMENT_CHANNELS = types.MappingProxyType(
    {MessageType.RED_PACK: Channel.RED_PACK, MessageType.COUPON: Channel.COUPON}
)


def _needed(message: Message) -> kinds.Capability | None:
    if message.type in _PAYMENT_CHANNELS:
        return kinds.Capability.PAYMENTS
    if message.type == MessageType.TEMPLATE:
        return kinds.Capability.TEMPLATE_MESSAGES
    if message.type == MessageType.MASS and message.audience == Audience.OPENIDS:
        return kinds.Capability.MASS_BY_OPENID
    if message.type == MessageType.CUSTOMER_SERVICE and message.outside_window == "reach":
        return kinds.Capability.REACH_OUTSIDE_WINDOW
    return None


def check_enqueue(kind: kinds.AccountKind, message: Message) -> Reject | None:
    """A Reject if an account of `kind` can never send `message` (an API 403), else None."""
    cap = _needed(message)
    if cap is None or kinds.has_capability(kind, cap):
        return None
    return Reject(cap, kinds.refusal(kind, cap))


def _subscribed(follower: Follower | None) -> bool:
    return follower is not None and follower.subscribed


def _customer_service(
    account: Account, follower: Follower | None, message: Message, usage: Usage, now: dt.datetime
) -> Decision:
    if follower is None or not follower.subscribed:
        return _NOT_SUBSCRIBED
    if window.is_open(follower.window, now):
        return _SEND_CUSTOM
    if message.outside_window == "hold":
        return Hold(HoldReason.WINDOW_CLOSED, None, WaitFor.INTERACTION)
    # reach (service only, check_enqueue saw to that): one unit of the follower's month,
    # else wait for the window or the next month, whichever comes first.
    if usage.follower_mass_used < periods.MASS_LIMIT[kinds.AccountKind.SERVICE]:
        return Send(Channel.MASS_SINGLE, 1, "follower_month")
    return Hold(
        HoldReason.MASS_QUOTA_EXHAUSTED,
        periods.next_month_start(now, account.tz),
        WaitFor.INTERACTION,
    )


def _mass(
    account: Account, follower: Follower | None, message: Message, usage: Usage, now: dt.datetime
) -> Decision:
    if account.kind == kinds.AccountKind.SUBSCRIPTION:
        # Account-level: one sendall per local day, whoever the tag or "all" reaches.
        if usage.account_mass_used >= periods.MASS_LIMIT[kinds.AccountKind.SUBSCRIPTION]:
            return Hold(HoldReason.DAILY_MASS_USED, periods.next_day_start(now, account.tz))
        return Send(Channel.SENDALL, 1, "account_day")
    if message.audience == Audience.TAG:
        # The platform skips tag members whose month is used up and counts one against
        # every other member: the scheduler charges each member who still has a unit in
        # the claim transaction (one SQL statement over the tag's members, SPEC 9).
        return Send(Channel.SENDALL, 0, None)
    # OPENIDS, or ALL expanded by the scheduler into openid lists: one unit per recipient.
    if not _subscribed(follower):
        return _NOT_SUBSCRIBED
    if usage.follower_mass_used >= periods.MASS_LIMIT[kinds.AccountKind.SERVICE]:
        return Hold(HoldReason.MASS_QUOTA_EXHAUSTED, periods.next_month_start(now, account.tz))
    return Send(Channel.MASS_OPENIDS, 1, "follower_month")


def _bounded(decision: Decision, expires_at: dt.datetime) -> Decision:
    # A hold that can only end by the clock, and not before expires_at, is an expiry now.
    # A hold that also waits for an event is kept: the event may still come in time.
    if (
        isinstance(decision, Hold)
        and decision.wait_for is None
        and decision.release_at is not None
        and decision.release_at >= expires_at
    ):
        return Expire(decision.reason.value)
    return decision


def decide(
    account: Account,
    follower: Follower | None,
    message: Message,
    usage: Usage,
    now: dt.datetime,
) -> Decision:
    """What to do with `message` for one recipient at `now`.

    `follower` None means the gateway has never seen the recipient (treated as not
    subscribed); account-level decisions (subscription mass, service tag mass) ignore it.
    """
    now = periods.utc(now)
    rejected = check_enqueue(account.kind, message)
    if rejected is not None:
        return rejected
    if now >= message.expires_at:
        return Expire("expired")
    if message.not_before is not None and now < message.not_before:
        return _bounded(Hold(HoldReason.NOT_BEFORE, message.not_before), message.expires_at)
    if message.type == MessageType.CUSTOMER_SERVICE:
        decision = _customer_service(account, follower, message, usage, now)
    elif message.type == MessageType.TEMPLATE:
        decision = Send(Channel.TEMPLATE, 0, None) if _subscribed(follower) else _NOT_SUBSCRIBED
    elif message.type in _PAYMENT_CHANNELS:
        channel = _PAYMENT_CHANNELS[message.type]
        decision = Send(channel, 0, None) if _subscribed(follower) else _NOT_SUBSCRIBED
    else:
        decision = _mass(account, follower, message, usage, now)
    return _bounded(decision, message.expires_at)
