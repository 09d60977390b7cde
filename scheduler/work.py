"""The WeChat calls a release pass makes of claimed deliveries (gateway.store.delivery_rows),
and the idempotency keys those calls carry."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping

from gateway.domain import decide, kinds
from gateway.store import delivery_rows

MAX_KEY_BYTES = 64  # the platform's clientmsgid limit


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

    account: delivery_rows.Account
    message: delivery_rows.Message
    channel: decide.Channel
    items: tuple[delivery_rows.ClaimedDelivery, ...]
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


def resend_calls(
    items: Iterable[delivery_rows.ClaimedDelivery],
    accounts: Mapping[str, delivery_rows.Account],
    messages: Mapping[tuple[str, int], delivery_rows.Message],
) -> list[Call]:
    """Calls that repeat earlier ones exactly: rows of one batch key go together."""
    calls = []
    groups: dict[tuple[str, str], list[delivery_rows.ClaimedDelivery]] = defaultdict(list)
    for item in items:
        if item.channel == decide.Channel.MASS_OPENIDS.value and item.client_msg_id is not None:
            groups[(item.account_id, item.client_msg_id)].append(item)
            continue
        channel = decide.Channel(item.channel) if item.channel else decide.Channel.CUSTOM
        key = item.client_msg_id
        if key is None and channel in (decide.Channel.RED_PACK, decide.Channel.COUPON):
            key = pay_key(item.account_id, item.id, item.send_key)
        elif key is None and channel != decide.Channel.CUSTOM:
            key = delivery_key(item.account_id, item.id, item.send_key)
        calls.append(_resend(accounts, messages, channel, [item], key))
    for (_, key), group in groups.items():
        channel = decide.Channel.MASS_OPENIDS if len(group) > 1 else decide.Channel.MASS_SINGLE
        calls.append(_resend(accounts, messages, channel, group, key))
    return calls


def _resend(
    accounts: Mapping[str, delivery_rows.Account],
    messages: Mapping[tuple[str, int], delivery_rows.Message],
    channel: decide.Channel,
    items: list[delivery_rows.ClaimedDelivery],
    key: str | None,
) -> Call:
    first = items[0]
    return Call(
        accounts[first.account_id],
        messages[(first.account_id, first.message_id)],
        channel,
        tuple(items),
        key,
        resend=True,
    )
