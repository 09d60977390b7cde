"""What a release pass works on: accounts, messages, claimed deliveries (items) and the WeChat
calls made of them, plus the idempotency keys those calls carry."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
import uuid
import zoneinfo
from typing import Any

import asyncpg

from gateway.domain import decide, kinds, window
from gateway.store import delivery_rows, quota_units

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
    quota: quota_units.Unit | None
    attempts: int
    reason: str | None = None  # why it was held, when it was
    send_key: uuid.UUID | None = None  # the random source of its keys (None: a row from before)
    unknown_since: dt.datetime | None = None  # earliest attempt WeChat may have carried out
    takeovers: int = 0  # times its lease was taken over
    # The counted window (wechat-2023) this claim took one message from: given back if the
    # call is put back unmade.
    window: delivery_rows.WindowCount | None = None

    @classmethod
    def from_record(cls, r: asyncpg.Record) -> Item:
        quota = None
        if r["quota_kind"] is not None and r["quota_key"] is not None:
            quota = quota_units.Unit(r["quota_kind"], r["account_id"], r["openid"], r["quota_key"])
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
            r.get("send_key"),
            r.get("unknown_since"),
            r.get("takeovers") or 0,
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
    `decided_at`: when the claim decided the rows; a call that starts much later is put back
    to be decided again on the state of then.
    """

    account: Account
    message: Message
    channel: decide.Channel
    items: tuple[Item, ...]
    key: str | None
    resend: bool = False
    lease_until: dt.datetime | None = None
    decided_at: dt.datetime | None = None  # the claim's time; None: a re-send, not re-decided


def charges_tag_members(call: Call) -> bool:
    """A service account's mass to a tag: it consumes a unit of every member who still has
    one, as the platform counts it (SPEC 9), charged at the claim."""
    return (
        call.channel == decide.Channel.SENDALL
        and call.account.kind == kinds.AccountKind.SERVICE
        and call.message.audience_kind() == decide.Audience.TAG
    )


_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _base62(value: int, width: int) -> str:
    digits = []
    while value:
        value, digit = divmod(value, 62)
        digits.append(_BASE62[digit])
    return "".join(reversed(digits)).rjust(width, "0")


def delivery_key(account_id: str, delivery_id: int, send_key: uuid.UUID | None = None) -> str:
    """The stable idempotency key of one delivery: `client_msg_id` of a template send,
    `clientmsgid` of a single-recipient mass send. Made of the delivery's random `send_key`,
    so that ids handed out again (a restore, a sequence reset) never repeat a key; rows from
    before the key existed keep the id-derived form they may have gone out with."""
    if send_key is not None:
        return f"wxgate-{send_key.hex}"  # 39 bytes, within the platform's 64
    key = f"wxgate-{account_id}-{delivery_id}"
    if len(key.encode()) > MAX_KEY_BYTES:
        digest = hashlib.sha256(account_id.encode()).hexdigest()[:16]
        key = f"wxgate-{digest}-{delivery_id}"
    return key


def pay_key(account_id: str, delivery_id: int, send_key: uuid.UUID | None = None) -> str:
    """The merchant's request number of one red pack or coupon delivery (`mch_billno`,
    `partner_trade_no`): at most 28 letters and digits, the same for every retry of the
    delivery, so the payment API's deduplication makes a retried send pay once. `wxg` and the
    delivery's random `send_key` in base 62 (25 characters); the id-derived form for rows from
    before the key existed."""
    if send_key is not None:
        return "wxg" + _base62(send_key.int, 22)
    digest = hashlib.sha256(account_id.encode()).hexdigest()[:8]
    return f"wxg{digest}{delivery_id:017d}"


def batch_key(message_id: int) -> str:
    """A fresh `clientmsgid` for one openid-list batch; stored on its rows before the call, so
    every retry of the batch reuses it (the random part survives a database reset)."""
    return f"wxgate-m{message_id}-{secrets.token_hex(8)}"
