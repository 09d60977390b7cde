"""What a release pass works on: accounts, messages, claimed deliveries (items) and the WeChat
calls made of them, plus the idempotency keys those calls carry."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
import zoneinfo
from typing import Any

import asyncpg

from gateway.domain import decide, kinds, window
from gateway.store import deliveries

# Channels whose calls carry a clientmsgid: a retry of such a call must reuse the key (and
# for a batch, the same recipients), so their rows are "pinned" while they wait to retry.
MASS_CHANNELS = frozenset(
    {decide.Channel.MASS_OPENIDS, decide.Channel.MASS_SINGLE, decide.Channel.SENDALL}
)
MAX_KEY_BYTES = 64  # the platform's clientmsgid limit


@dataclasses.dataclass(frozen=True)
class Account:
    id: str
    kind: kinds.AccountKind
    profile: window.RuleProfile
    app_id: str
    app_secret: str
    mch_id: str | None = None  # the WeChat Pay merchant (red packs, coupons)

    @classmethod
    def from_record(cls, r: asyncpg.Record) -> Account:
        return cls(
            r["id"],
            kinds.AccountKind(r["kind"]),
            window.RuleProfile(r["rule_profile"]),
            r["app_id"],
            r["app_secret"],
            r.get("pay_mch_id"),
        )

    def domain(self, tz: zoneinfo.ZoneInfo) -> decide.Account:
        return decide.Account(self.kind, self.profile, tz)


@dataclasses.dataclass(frozen=True)
class Message:
    account_id: str
    id: int
    type: decide.MessageType
    audience: dict[str, Any] | None
    content: dict[str, Any] | None
    template: dict[str, Any] | None
    outside_window: str
    not_before: dt.datetime | None
    expires_at: dt.datetime
    created_at: dt.datetime

    @classmethod
    def from_record(cls, r: asyncpg.Record) -> Message:
        return cls(
            r["account_id"],
            r["id"],
            decide.MessageType(r["type"]),
            r["audience"],
            r["content"],
            r["template"],
            r["outside_window"],
            r["not_before"],
            r["expires_at"],
            r["created_at"],
        )

    def audience_kind(self) -> decide.Audience | None:
        if self.type != decide.MessageType.MASS:
            return None
        audience = self.audience or {}
        if "openids" in audience:
            return decide.Audience.OPENIDS
        if "tag_id" in audience:
            return decide.Audience.TAG
        return decide.Audience.ALL

    def domain(self) -> decide.Message:
        reach = self.type == decide.MessageType.CUSTOMER_SERVICE and self.outside_window == "reach"
        return decide.Message(
            type=self.type,
            audience=self.audience_kind(),
            outside_window="reach" if reach else "hold",
            not_before=self.not_before,
            expires_at=self.expires_at,
        )


@dataclasses.dataclass(frozen=True)
class Item:
    """One claimed delivery."""

    account_id: str
    id: int
    message_id: int
    openid: str | None
    status: str
    channel: str | None
    client_msg_id: str | None
    quota: deliveries.Unit | None
    attempts: int
    reason: str | None = None  # why it was held, when it was

    @classmethod
    def from_record(cls, r: asyncpg.Record) -> Item:
        quota = None
        if r["quota_kind"] is not None and r["quota_key"] is not None:
            quota = deliveries.Unit(r["quota_kind"], r["account_id"], r["openid"], r["quota_key"])
        return cls(
            r["account_id"],
            r["id"],
            r["message_id"],
            r["openid"],
            r["status"],
            r["channel"],
            r["client_msg_id"],
            quota,
            r["attempts"],
            r.get("reason"),
        )

    @property
    def key(self) -> tuple[str, int]:
        return (self.account_id, self.id)

    @property
    def pinned(self) -> bool:
        """A mass send that waits to be retried with the same key (and batch)."""
        return self.client_msg_id is not None and self.channel in MASS_CHANNELS


@dataclasses.dataclass(frozen=True)
class Call:
    """One WeChat call (or, for MASS_SINGLE, one tag-send sequence) and the rows it serves.

    `resend`: the key may already have reached WeChat (a retried or taken-over send), so
    the rows must not be re-decided or re-batched if it fails again.
    `lease_until`: when the worker's lease on the rows ends; after it another worker may
    take them over, so the call must be over by then (or never start).
    """

    account: Account
    message: Message
    channel: decide.Channel
    items: tuple[Item, ...]
    key: str | None
    resend: bool = False
    lease_until: dt.datetime | None = None


def charges_tag_members(call: Call) -> bool:
    """A service account's mass to a tag: it consumes a unit of every member who still has
    one, as the platform counts it (SPEC 9), charged at the claim."""
    return (
        call.channel == decide.Channel.SENDALL
        and call.account.kind == kinds.AccountKind.SERVICE
        and call.message.audience_kind() == decide.Audience.TAG
    )


def delivery_key(account_id: str, delivery_id: int) -> str:
    """The stable idempotency key of one delivery: `client_msg_id` of a template send,
    `clientmsgid` of a single-recipient mass send."""
    key = f"wxgate-{account_id}-{delivery_id}"
    if len(key.encode()) > MAX_KEY_BYTES:
        digest = hashlib.sha256(account_id.encode()).hexdigest()[:16]
        key = f"wxgate-{digest}-{delivery_id}"
    return key


def pay_key(account_id: str, delivery_id: int) -> str:
    """The merchant's request number of one red pack or coupon delivery (`mch_billno`,
    `partner_trade_no`): 28 letters and digits, the same for every retry of the delivery, so
    the payment API's deduplication makes a retried send pay once."""
    digest = hashlib.sha256(account_id.encode()).hexdigest()[:8]
    return f"wxg{digest}{delivery_id:017d}"


def batch_key(message_id: int) -> str:
    """A fresh `clientmsgid` for one openid-list batch; stored on its rows before the call, so
    every retry of the batch reuses it (the random part survives a database reset)."""
    return f"wxgate-m{message_id}-{secrets.token_hex(8)}"
