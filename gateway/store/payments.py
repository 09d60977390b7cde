"""Payments (C2): the account's WeChat Pay configuration, and successful payments stored once
per transaction, each opening the payer's customer-service window (SPEC 1.1).

A notification is stored in one transaction: its nonce (seen before: a replay), the payment
(unique per transaction id: WeChat's retries change nothing), the payer's window computed by
the domain on the locked follower row, and the wake-up of the payer's held deliveries.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any

import asyncpg

from gateway.domain import kinds, webhook_payload, window
from gateway.store import accounts, errors, queries, rows, webhooks
from gateway.store import pool as pool_mod

log = logging.getLogger(__name__)

Db = pool_mod.Connection | asyncpg.Pool
NONCE_MEMORY = dt.timedelta(minutes=10)  # twice the accepted timestamp skew


class Replayed(errors.StoreError):
    """This notification's nonce was seen before."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Payment:
    """A decrypted, checked transaction of a notification."""

    transaction_id: str
    out_trade_no: str | None
    openid: str
    amount_total: int | None
    currency: str | None
    trade_state: str
    trade_type: str | None
    success_time: dt.datetime | None
    notification_id: str | None
    transaction: dict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class PayAccount:
    """What the notify path needs of an account: kind, profile, app id and the pay
    configuration (secrets included)."""

    id: str
    kind: str
    rule_profile: str
    app_id: str
    pay_mch_id: str | None
    pay_apiv3_key: str | None
    pay_cert_pem: str | None
    pay_cert_serial: str | None
    pay_previous_cert_pem: str | None
    pay_previous_cert_serial: str | None
    pay_cert_rotated_at: dt.datetime | None


@dataclasses.dataclass(frozen=True, slots=True)
class StoredPayment:
    """A stored payment as the API lists it."""

    id: int
    transaction_id: str
    out_trade_no: str | None
    openid: str
    amount_total: int | None
    currency: str | None
    trade_state: str
    trade_type: str | None
    success_time: dt.datetime | None
    received_at: dt.datetime


async def pay_account(db: Db, account_id: str) -> PayAccount | None:
    """The account's kind, profile, app id and pay configuration (secrets included)."""
    row = await db.fetchrow(queries.get("pay_account"), account_id)
    return None if row is None else rows.build(PayAccount, row)


async def set_pay_config(
    db: Db,
    account_id: str,
    *,
    mch_id: str | None,
    apiv3_key: str | None,
    cert_pem: str | None,
    cert_serial: str | None,
) -> accounts.Account:
    """Set the given pay fields (None leaves a field as it is); the account row comes back."""
    row = await db.fetchrow(
        queries.get("pay_config_set"), account_id, mch_id, apiv3_key, cert_pem, cert_serial
    )
    if row is None:
        raise errors.NotFound(f"no account {account_id!r}")
    log.info("pay configuration set", extra={"action": "pay_config", "account_id": account_id})
    return accounts.account_of(row)


async def _open_window(
    conn: pool_mod.Connection,
    account_id: str,
    openid: str,
    at: dt.datetime,
    kind: kinds.AccountKind,
    profile: window.RuleProfile,
) -> None:
    # The inbound path's own statements: create-and-lock the follower, then wake its held
    # deliveries and NOTIFY the workers, exactly as a callback that opens a window does.
    locked: list[asyncpg.Record] = []
    for _ in range(3):  # a row another transaction just inserted shows up on the next try
        locked = await conn.fetch(queries.get("inbound_lock_followers"), [account_id], [openid])
        if locked:
            break
    else:
        raise RuntimeError("the payer's follower row could not be locked")
    row = locked[0]
    current = window.Window(row["window_ends_at"], row["window_remaining"])
    opened = window.open_window(current, window.Interaction.PAYMENT, at, profile, kind)
    await conn.execute(
        queries.get("pay_follower_window"),
        account_id,
        openid,
        opened.ends_at,
        opened.remaining,
        at,
    )
    await conn.execute(queries.get("inbound_wake_deliveries"), [account_id], [openid])


def _data(payment: Payment) -> dict[str, Any]:
    """`data` of a payment.succeeded webhook."""
    success = payment.success_time
    return {
        "openid": payment.openid,
        "transaction_id": payment.transaction_id,
        "out_trade_no": payment.out_trade_no,
        "amount_total": payment.amount_total,
        "currency": payment.currency,
        "trade_state": payment.trade_state,
        "trade_type": payment.trade_type,
        "success_time": None if success is None else webhook_payload.rfc3339(success),
    }


async def record_payment(
    pool: asyncpg.Pool,
    account: PayAccount,
    nonce: str,
    payment: Payment,
    received_at: dt.datetime,
) -> bool:
    """Store a notified payment: True if new, False if the transaction was already stored.
    Raises Replayed (nothing stored) if the nonce was seen before."""
    account_id = account.id
    kind = kinds.AccountKind(account.kind)
    at = window.clamp(payment.success_time or received_at, received_at)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(queries.get("pay_nonce_prune"), account_id, received_at - NONCE_MEMORY)
        seen = await conn.fetchval(queries.get("pay_nonce_insert"), account_id, nonce, received_at)
        if seen is None:
            raise Replayed()
        stored = await conn.fetchval(
            queries.get("pay_insert"),
            account_id,
            payment.transaction_id,
            payment.out_trade_no,
            payment.openid,
            payment.amount_total,
            payment.currency,
            payment.trade_state,
            payment.trade_type,
            payment.success_time,
            payment.notification_id,
            payment.transaction,
        )
        if stored is None:
            return False
        if payment.trade_state == "SUCCESS":
            await webhooks.emit(
                conn, account_id, "payment.succeeded", payment.openid, _data(payment)
            )
        if kinds.has_capability(kind, kinds.Capability.PAYMENTS):
            profile = window.RuleProfile(account.rule_profile)
            await _open_window(conn, account_id, payment.openid, at, kind, profile)
    log.info("payment stored", extra={"action": "payment_stored", "account_id": account_id})
    return True


async def list_payments(
    db: Db, account_id: str, openid: str | None, before: int | None, limit: int
) -> list[StoredPayment]:
    """Up to `limit` payments newest first, with ids below `before`."""
    found = await db.fetch(queries.get("pay_list"), account_id, openid, before, limit)
    return rows.build_all(StoredPayment, found)
