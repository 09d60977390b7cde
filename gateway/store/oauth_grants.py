"""OAuth grants: the account an OAuth route serves, and the grant a follower gave it."""

from __future__ import annotations

import dataclasses
from typing import Any

import asyncpg

from gateway.store import queries, rows, webhooks


@dataclasses.dataclass(frozen=True, slots=True)
class OAuthAccount:
    """What the OAuth routes need of an account (its secrets stay server-side)."""

    id: str
    kind: str
    app_id: str
    app_secret: str
    oauth_redirect_hosts: list[str]
    oauth_signing_key: str


async def get_oauth_account(db: asyncpg.Pool, account_id: str) -> OAuthAccount | None:
    """The account an OAuth route serves; None if there is no such account."""
    row = await db.fetchrow(queries.get("oauth_account"), account_id)
    return None if row is None else rows.build(OAuthAccount, row)


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
