"""Scoped API tokens (SPEC 11): created with a random text shown once, stored as its SHA-256,
looked up by that hash on every request, revoked at once (their console sessions too)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import secrets

import asyncpg

from gateway.store import errors, queries, rows
from gateway.store import pool as pool_mod

log = logging.getLogger(__name__)

Db = pool_mod.Connection | asyncpg.Pool
# Every scoped token starts with this prefix: it never starts with '-' (safe as a CLI
# argument), it is easy to find in a leaked file, and other bearers skip the lookup.
PREFIX = "wxg_"
MAX_LENGTH = 128


@dataclasses.dataclass(frozen=True, slots=True)
class Grant:
    """What a live token grants: its accounts (all, or the listed ones) and scopes."""

    id: int
    name: str
    all_accounts: bool
    accounts: list[str]
    scopes: list[str]


@dataclasses.dataclass(frozen=True, slots=True)
class Token:
    """A stored token as the API lists it (never its text)."""

    id: int
    name: str
    all_accounts: bool
    accounts: list[str]
    scopes: list[str]
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None


def new_token() -> str:
    """A fresh token: the prefix and 256 random bits, URL-safe."""
    return PREFIX + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """The SHA-256 (hex) under which a token is stored; the text itself never is."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def looks_like_token(text: str) -> bool:
    """Only texts of a token's shape are looked up (a cheap filter before the database)."""
    return text.startswith(PREFIX) and len(text) <= MAX_LENGTH and text.isascii()


async def create_token(
    db: Db, *, name: str, accounts: list[str] | None, scopes: list[str]
) -> tuple[Token, str]:
    """Store a new token for `accounts` (None: every account); returns (row, token text)."""
    token = new_token()
    row = await db.fetchrow(
        queries.get("api_token_insert"),
        name,
        digest(token),
        accounts is None,
        sorted(set(accounts or [])),
        sorted(set(scopes)),
    )
    assert row is not None
    log.info("api token created", extra={"action": "token_create", "token_id": row["id"]})
    return rows.build(Token, row), token


async def list_tokens(db: Db, after: int | None, limit: int) -> list[Token]:
    """Up to `limit` tokens by id after `after`, revoked ones included, never their text."""
    return rows.build_all(Token, await db.fetch(queries.get("api_token_list"), after, limit))


async def revoke_token(pool: asyncpg.Pool, token_id: int) -> Token:
    """Revoke a token and end its console sessions in one transaction; NotFound if absent."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(queries.get("api_token_revoke"), token_id)
        if row is None:
            raise errors.NotFound("no such token")
        await conn.execute(queries.get("api_token_end_sessions"), token_id)
    log.info("api token revoked", extra={"action": "token_revoke", "token_id": token_id})
    return rows.build(Token, row)


async def find_token(db: Db, token: str) -> Grant | None:
    """The live (unrevoked) token with this text, or None."""
    if not looks_like_token(token):
        return None
    row = await db.fetchrow(queries.get("api_token_find"), digest(token))
    return rows.build(Grant, row) if row is not None else None


async def get_token(db: Db, token_id: int) -> Grant | None:
    """The live token with this id, or None (revoked or absent)."""
    row = await db.fetchrow(queries.get("api_token_get"), token_id)
    return rows.build(Grant, row) if row is not None else None
