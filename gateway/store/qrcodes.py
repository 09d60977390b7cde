"""Parametric QR codes (C1). The 100,000 permanent-code limit is a database invariant: a
conditional increment of qr_permanent_counts in the transaction that records the code."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Awaitable, Callable

import asyncpg

from gateway.store import errors, queries, rows
from gateway.store import pool as pool_mod

log = logging.getLogger(__name__)

PERMANENT_LIMIT = 100_000


@dataclasses.dataclass(frozen=True)
class Ticket:
    """What WeChat answered for a new code."""

    ticket: str
    url: str
    expires_at: dt.datetime | None


@dataclasses.dataclass(frozen=True, slots=True)
class QrCode:
    """A recorded code; `scene` is stored as text (`scene_is_int` says it was a number)."""

    scene: str
    scene_is_int: bool
    permanent: bool
    ticket: str
    url: str
    expires_at: dt.datetime | None


Create = Callable[[], Awaitable[Ticket]]


class _Existing(errors.StoreError):
    def __init__(self, row: QrCode) -> None:
        super().__init__("existing permanent code")
        self.row = row


async def _insert(
    db: pool_mod.Connection | asyncpg.Pool,
    account_id: str,
    scene: str,
    is_int: bool,
    permanent: bool,
    t: Ticket,
) -> QrCode:
    row = await db.fetchrow(
        queries.get("api_qr_insert"),
        account_id,
        scene,
        is_int,
        permanent,
        t.ticket,
        t.url,
        t.expires_at,
    )
    assert row is not None
    return rows.build(QrCode, row)


async def create_temporary(
    pool: asyncpg.Pool, account_id: str, scene: str, is_int: bool, create: Create
) -> QrCode:
    """Ask WeChat for a temporary code, then record it."""
    ticket = await create()
    return await _insert(pool, account_id, scene, is_int, False, ticket)


async def create_permanent(
    pool: asyncpg.Pool, account_id: str, scene: str, is_int: bool, create: Create
) -> tuple[QrCode, bool]:
    """Reserve a slot, ask WeChat, record the code, all in one transaction: if WeChat fails
    the rollback gives the slot back. The slot's row lock serializes permanent-code creation
    per account, so the 100,001st code is refused however many requests race. A scene that
    already has a permanent code returns it without a new slot: (row, created)."""
    try:
        async with pool.acquire() as conn, conn.transaction():
            reserved = await conn.fetchval(
                queries.get("api_qr_reserve_permanent"), account_id, PERMANENT_LIMIT
            )
            existing = await conn.fetchrow(
                queries.get("api_qr_find_permanent"), account_id, scene, is_int
            )
            if existing is not None:
                raise _Existing(rows.build(QrCode, existing))  # rolls the reservation back
            if reserved is None:
                raise errors.PermanentQrLimit()
            row = await _insert(conn, account_id, scene, is_int, True, await create())
    except _Existing as found:
        return found.row, False
    log.info(
        "permanent qr code created (%d used)",
        reserved,
        extra={"action": "qr_create", "account_id": account_id},
    )
    return row, True
