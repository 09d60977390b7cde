"""The frozen values the delivery store hands out instead of rows (accounts, messages, claimed
deliveries, locked followers) and takes back (changes, counted-window allowances).

Each has `from_record`, used inside gateway.store only: the scheduler never sees a row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
import zoneinfo
from typing import Any

import asyncpg

from gateway.domain import decide, kinds, window
from gateway.store import quota_units

# Channels whose calls carry a clientmsgid: a retry of such a call must reuse the key (and
# for a batch, the same recipients), so their rows are "pinned" while they wait to retry.
MASS_CHANNELS = frozenset(
    {decide.Channel.MASS_OPENIDS, decide.Channel.MASS_SINGLE, decide.Channel.SENDALL}
)

Key = tuple[str, int]  # (account_id, id) of a delivery or a message


@dataclasses.dataclass(frozen=True)
class Change:
    """The new state of one delivery (a claim decision or a WeChat result)."""

    account_id: str
    id: int
    status: str
    reason: str | None = None
    release_at: dt.datetime | None = None
    wait_for: str | None = None
    channel: str | None = None
    client_msg_id: str | None = None
    quota_kind: str | None = None
    quota_key: dt.date | None = None
    lease_until: dt.datetime | None = None
    attempt: int = 0  # claims: +1 for a send; results: -1 undoes a send that never started
    wechat_msgid: str | None = None
    errcode: int | None = None
    errmsg: str | None = None
    unknown: bool = False  # results: WeChat may have carried this attempt out
    # results: the row's attempt count under the lease the result belongs to; a put-back
    # (attempt -1) is written only while that lease is the row's latest.
    leased_attempts: int | None = None


@dataclasses.dataclass(frozen=True)
class WindowCount:
    """One message taken from a follower's counted window (wechat-2023) by a claim, with what
    names that allowance: its end and the follower's latest interaction at the claim."""

    account_id: str
    openid: str
    ends_at: dt.datetime | None
    interacted_at: dt.datetime | None


@dataclasses.dataclass(frozen=True)
class Account:
    """What deciding and calling WeChat need of an account."""

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
    """A stored message as its deliveries are decided and sent."""

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
        return decide.audience_of(self.type, self.audience)

    def domain(self) -> decide.Message:
        return decide.message_of(
            self.type, self.audience, self.outside_window, self.not_before, self.expires_at
        )


@dataclasses.dataclass(frozen=True)
class ClaimedDelivery:
    """One delivery row locked or leased by this worker."""

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
    window: WindowCount | None = None

    @classmethod
    def from_record(cls, r: asyncpg.Record) -> ClaimedDelivery:
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
class ExpiredLease:
    """A sending row whose lease ended: a candidate to take over (no lock taken)."""

    account_id: str
    id: int
    channel: str | None
    client_msg_id: str | None


@dataclasses.dataclass(frozen=True)
class LockedFollower:
    """A wanted recipient at a claim: `locked` (held by this transaction, with its state),
    `busy` (another transaction holds it), or neither (no follower row)."""

    account_id: str
    openid: str
    locked: bool
    busy: bool
    subscribed: bool = False
    window: window.Window = dataclasses.field(default_factory=window.Window)
    last_interaction_at: dt.datetime | None = None

    @classmethod
    def from_record(cls, r: asyncpg.Record) -> LockedFollower:
        if not r["locked"]:
            return cls(r["account_id"], r["openid"], False, bool(r["busy"]))
        return cls(
            r["account_id"],
            r["openid"],
            True,
            False,
            r["subscribed"],
            window.Window(r["window_ends_at"], r["window_remaining"]),
            r["last_interaction_at"],
        )
