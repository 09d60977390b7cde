"""OAuth grants: the account an OAuth route serves, and the grant a follower gave it."""

from __future__ import annotations

from typing import Any

import asyncpg

from gateway.store import queries, webhooks


async def get_oauth_account(db: asyncpg.Pool, account_id: str) -> dict[str, Any] | None:
    """What the OAuth routes need of an account (its secrets stay server-side); None if
    there is no such account."""
    row = await db.fetchrow(queries.get("oauth_account"), account_id)
    return None if row is None else dict(row)


async def record_grant(
    db: asyncpg.Pool,
    account_id: str,
    openid: str,
    scope: str,
    unionid: str | None,
    nickname: str | None,
) -> None:
    """Remember who authorized, with what scope and profile, and emit `oauth.granted` (SPEC
    7) in the same transaction."""
    async with db.acquire() as conn, conn.transaction():
        await conn.execute(
            queries.get("oauth_record_grant"), account_id, openid, scope, unionid, nickname
        )
        data: dict[str, Any] = {"openid": openid, "scope": scope, "unionid": unionid}
        if nickname is not None:
            data["nickname"] = nickname
        await webhooks.emit(conn, account_id, "oauth.granted", openid, data)
