"""Console sessions (SPEC 10): a random id whose SHA-256 is stored with the token it signed
in with and a CSRF token, for 12 hours; a revoked token's sessions end at once."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets

import asyncpg

from gateway.store import api_tokens, queries
from gateway.store import pool as pool_mod

Db = pool_mod.Connection | asyncpg.Pool
LIFETIME = dt.timedelta(hours=12)


@dataclasses.dataclass(frozen=True, slots=True)
class Session:
    """A live session: the administrator's (`admin_hash`) or a scoped token's (`token`)."""

    admin_hash: str | None
    csrf: str
    expires_at: dt.datetime
    token: api_tokens.Grant | None


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


async def create_session(
    db: Db, *, token_id: int | None, admin_token: str | None
) -> tuple[str, str]:
    """A new session for a scoped token (token_id) or the administrator (admin_token, whose
    hash is kept so a changed WXGATE_API_TOKEN ends it). Returns (session id, CSRF token)."""
    session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    await db.execute(queries.get("console_session_purge"))
    await db.execute(
        queries.get("console_session_insert"),
        digest(session_id),
        token_id,
        digest(admin_token) if admin_token is not None else None,
        csrf,
        dt.datetime.now(dt.UTC) + LIFETIME,
    )
    return session_id, csrf


async def get_session(db: Db, session_id: str) -> Session | None:
    """The live session with this id and its token's grant, or None."""
    if not 0 < len(session_id) <= 128 or not session_id.isascii():
        return None
    row = await db.fetchrow(queries.get("console_session_get"), digest(session_id))
    if row is None:
        return None
    token = None
    if row["token_id"] is not None:
        token = api_tokens.Grant(
            row["token_id"], row["name"], row["all_accounts"], row["accounts"], row["scopes"]
        )
    return Session(row["admin_hash"], row["csrf"], row["expires_at"], token)


async def delete_session(db: Db, session_id: str) -> None:
    await db.execute(queries.get("console_session_delete"), digest(session_id))
