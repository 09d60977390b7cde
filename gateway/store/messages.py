"""Messages: enqueue (message + deliveries + transition + NOTIFY in one transaction), read
with history, keyset listing, and cancel. Idempotency keys are enforced by a unique index."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any

import asyncpg

from gateway import metrics
from gateway.store import (
    errors,
    expiry,
    mass_ends,
    mass_expansion,
    message_rows,
    message_status,
    queries,
    quota_units,
    rows,
)
from gateway.store import pool as pool_mod

log = logging.getLogger(__name__)

Db = pool_mod.Connection | asyncpg.Pool

# Terminal statuses; their order is the tie-break of the status aggregate (most frequent
# terminal status wins) that gateway.store.message_status.refresh_messages computes.
TERMINAL = ("delivered", "sent", "failed", "expired", "canceled")
EMPTY_AUDIENCE = mass_expansion.EMPTY_AUDIENCE
# A fan-out that writes one row per follower in one statement (the `all` messages waiting
# when an account is upgraded to service): a million rows take 15-30 s on a small machine,
# past the pool's 30 s command timeout (README "Performance").
FAN_OUT_TIMEOUT = 300.0
# The values the message reads hand out (built in message_rows.py).
Transition = message_rows.Transition
Listed = message_rows.Listed
Message = message_rows.Message


@dataclasses.dataclass(frozen=True, kw_only=True)
class NewMessage:
    """A validated message request. `openids` lists the delivery recipients: one openid
    (customer_service, template), an openid list, or [None] for an account-level sendall;
    None means the service `all` fan-out over the subscribed followers."""

    type: str
    recipient: str | None
    audience: dict[str, Any] | None
    content: dict[str, Any] | None
    template: dict[str, Any] | None
    outside_window: str
    not_before: dt.datetime | None
    expires_at: dt.datetime
    idempotency_key: str | None
    request_hash: str | None
    openids: list[str | None] | None


def _rows(status: str) -> int:
    # asyncpg's command tag: "INSERT 0 12", "UPDATE 3".
    return int(status.rsplit(" ", 1)[-1])


async def _replay(db: Db, account_id: str, key: str, request_hash: str | None) -> int | None:
    row = await db.fetchrow(queries.get("find_message_by_key"), account_id, key)
    if row is None:
        return None
    if row["request_hash"] != request_hash:
        raise errors.IdempotencyConflict()
    return int(row["id"])


def _message_columns(account_id: str, msg: NewMessage) -> tuple[Any, ...]:
    """$1..$11 of both message inserts (insert_message, enqueue_list_message)."""
    return (
        account_id,
        msg.type,
        msg.recipient,
        msg.audience,
        msg.content,
        msg.template,
        msg.outside_window,
        msg.not_before,
        msg.expires_at,
        msg.idempotency_key,
        msg.request_hash,
    )


async def _insert(conn: pool_mod.Connection, account_id: str, msg: NewMessage) -> int:
    kind = await conn.fetchval(queries.get("api_account_kind_share"), account_id)
    if kind is None:
        raise errors.NotFound(f"no account {account_id!r}")
    inserted = await conn.fetchrow(
        queries.get("insert_message"), *_message_columns(account_id, msg)
    )
    assert inserted is not None
    message_id: int = inserted["id"]
    if msg.openids is None and kind == "service":
        # Batched: the worker expands the audience into mass_batches (README "Decisions").
        total = int(await conn.fetchval(queries.get("batch_fan_out"), account_id, message_id))
    else:
        # Subscription `all` is one account-level sendall, like a tag.
        recipients = msg.openids if msg.openids is not None else [None]
        tag = await conn.execute(
            queries.get("insert_deliveries"), account_id, message_id, recipients, msg.not_before
        )
        total = _rows(tag)
        await conn.execute(queries.get("set_message_total"), account_id, message_id, total)
    transition = queries.get("insert_message_transition")
    # Queued, or held `not_before` until a future not_before (SPEC 2.2).
    status, reason = inserted["status"], inserted["reason"]
    detail: dict[str, Any] = {"recipients": total}
    if reason is not None:
        detail["release_at"] = msg.not_before.isoformat() if msg.not_before else None
    await conn.execute(transition, account_id, message_id, status, reason, detail)
    if total == 0:
        await conn.execute(
            queries.get("fail_empty_message"), account_id, message_id, EMPTY_AUDIENCE
        )
        await conn.execute(
            transition, account_id, message_id, "failed", None, {"error": EMPTY_AUDIENCE}
        )
    else:
        await conn.execute(queries.get("api_notify_release"), account_id)
    return message_id


async def _insert_list(conn: Db, account_id: str, msg: NewMessage) -> Message:
    """The common case in one statement and one round trip: a message to a known, non-empty
    list of recipients. Returns the message as get_message would."""
    assert msg.openids
    row = await conn.fetchrow(
        queries.get("enqueue_list_message"), *_message_columns(account_id, msg), msg.openids
    )
    if row is None:
        raise errors.NotFound(f"no account {account_id!r}")
    status, reason = row["status"], row["reason"]
    first = Transition(row["history_at"], status, reason, row["history_detail"])
    return rows.build(Message, row, counts={status: row["recipients_total"]}, history=(first,))


async def enqueue_message(
    pool: asyncpg.Pool, account_id: str, msg: NewMessage
) -> tuple[Message, bool]:
    """Store a message and its deliveries and wake the scheduler. Returns (message, created);
    a repeated idempotency key with the same request hash returns the original message,
    with another hash raises IdempotencyConflict."""
    if msg.idempotency_key is not None:
        existing = await _replay(pool, account_id, msg.idempotency_key, msg.request_hash)
        if existing is not None:
            return await get_message(pool, account_id, existing), False
    try:
        if msg.openids:
            with errors.translated():
                message = await _insert_list(pool, account_id, msg)
            _queued(account_id, message.id)
            return message, True
        async with pool.acquire() as conn, conn.transaction():
            with errors.translated():
                message_id = await _insert(conn, account_id, msg)
    except errors.DuplicateMessage:
        # A concurrent request with the same key committed first.
        assert msg.idempotency_key is not None
        existing = await _replay(pool, account_id, msg.idempotency_key, msg.request_hash)
        assert existing is not None
        return await get_message(pool, account_id, existing), False
    _queued(account_id, message_id)
    return await get_message(pool, account_id, message_id), True


def _queued(account_id: str, message_id: int) -> None:
    metrics.MESSAGES.labels(status="queued", reason="").inc()
    log.info(
        "message queued",
        extra={"action": "message_enqueue", "account_id": account_id, "message_id": message_id},
    )


async def enqueue_in(conn: pool_mod.Connection, account_id: str, msg: NewMessage) -> int:
    """Store a message inside the caller's transaction (the NOTIFY goes out at its commit);
    returns its id. With an idempotency key already stored, the existing id comes back."""
    if msg.idempotency_key is not None:
        existing = await _replay(conn, account_id, msg.idempotency_key, msg.request_hash)
        if existing is not None:
            return existing
    try:
        async with conn.transaction():  # a savepoint: a lost race must not abort the caller
            with errors.translated():
                message_id = await _insert(conn, account_id, msg)
    except errors.DuplicateMessage:
        assert msg.idempotency_key is not None
        existing = await _replay(conn, account_id, msg.idempotency_key, msg.request_hash)
        assert existing is not None
        return existing
    _queued(account_id, message_id)
    return message_id


async def _counts(db: Db, account_id: str, message_id: int) -> dict[str, int]:
    found = await db.fetch(queries.get("count_message_deliveries"), account_id, message_id)
    return {r["status"]: int(r["n"]) for r in found}


async def get_message(db: Db, account_id: str, message_id: int) -> Message:
    """A message row plus `counts` (deliveries by status) and `history` (transitions)."""
    row = await db.fetchrow(queries.get("get_message"), account_id, message_id)
    if row is None:
        raise errors.NotFound("no such message")
    history = await db.fetch(queries.get("list_message_history"), account_id, message_id)
    counts = await _counts(db, account_id, message_id)
    transitions = tuple(rows.build_all(Transition, history))
    return rows.build(Message, row, counts=counts, history=transitions)


async def list_messages(
    db: Db,
    account_id: str,
    status: str | None,
    before: int | None,
    limit: int,
    reason: str | None = None,
) -> list[Listed]:
    """Up to `limit` messages newest first, with ids below `before`, of `status` and `reason`
    when given; unknown account: NotFound."""
    if not await db.fetchval(queries.get("api_account_exists"), account_id):
        raise errors.NotFound(f"no account {account_id!r}")
    found = await db.fetch(queries.get("list_messages"), account_id, status, before, limit, reason)
    return rows.build_all(Listed, found)


async def cancel_message(pool: asyncpg.Pool, account_id: str, message_id: int) -> Message:
    """Cancel the queued and held deliveries of a message (their quota units go back and the
    message status is recomputed, by the scheduler's own store function); rows being sent
    finish. A terminal message, or one with nothing left but rows in flight: InvalidState."""
    status = await pool.fetchval(queries.get("get_message_status"), account_id, message_id)
    if status is None:
        raise errors.NotFound("no such message")
    if status in TERMINAL:
        raise errors.InvalidState(f"the message is already {status}")
    for attempt in range(3):
        try:
            async with pool.acquire() as conn:
                now = dt.datetime.now(dt.UTC)
                with errors.translated():
                    canceled = await expiry.cancel_message(conn, account_id, message_id, now)
            break
        except errors.Retryable:
            # A worker locked the message first; the loser of the deadlock tries again.
            if attempt == 2:
                raise
    if canceled == 0:
        status = await pool.fetchval(queries.get("get_message_status"), account_id, message_id)
        if status in TERMINAL:
            raise errors.InvalidState(f"the message is already {status}")
        raise errors.InvalidState("the message is being sent; nothing is left to cancel")
    metrics.MESSAGES.labels(status="canceled", reason="").inc()
    log.info(
        "message canceled (%d deliveries)",
        canceled,
        extra={"action": "message_cancel", "account_id": account_id, "message_id": message_id},
    )
    return await get_message(pool, account_id, message_id)


async def retry_message(pool: asyncpg.Pool, account_id: str, message_id: int) -> Message:
    """Send a failed message again, by hand (also one that failed `outcome_unknown`: the
    caller accepts a possible repeat): its failed deliveries are queued as new sends and the
    workers are woken. A message that is not failed: InvalidState."""
    status = await pool.fetchval(queries.get("get_message_status"), account_id, message_id)
    if status is None:
        raise errors.NotFound("no such message")
    if status != "failed":
        raise errors.InvalidState(f"only a failed message can be retried; it is {status}")
    async with pool.acquire() as conn, conn.transaction():
        failed = await conn.fetch(queries.get("retry_failed_deliveries"), account_id, message_id)
        batches = await mass_ends.retry_failed(conn, account_id, message_id)
        if not failed and not batches:
            raise errors.InvalidState("the message has no failed deliveries")
        await quota_units.give_back_units(conn, quota_units.units_of(failed))
        at = await conn.fetchval(queries.get("get_message_now"))
        await message_status.refresh_messages(conn, [(account_id, message_id)], at)
        await conn.execute(queries.get("api_notify_release"), account_id)
    log.info(
        "message retried by hand (%d deliveries)",
        len(failed),
        extra={"action": "message_retry", "account_id": account_id, "message_id": message_id},
    )
    return await get_message(pool, account_id, message_id)
