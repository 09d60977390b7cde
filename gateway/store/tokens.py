"""Access tokens cached in Postgres; one process at a time refreshes an account's token."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable

import asyncpg

from gateway.store import delivery_rows, queries
from gateway.wechat import client as wx

log = logging.getLogger(__name__)

# Refresh this long before expiry; stable_token hands over with 5 minutes of overlap.
MARGIN = dt.timedelta(minutes=5)

Fetch = Callable[[bool], Awaitable[wx.Token]]


async def access_token(pool: asyncpg.Pool, account_id: str, fetch: Fetch, now: dt.datetime) -> str:
    """The account's valid token; fetches under an advisory lock with a double check, so many
    concurrent callers across processes cause one fetch."""
    row = await pool.fetchrow(queries.get("token_get"), account_id)
    if row is not None and row["expires_at"] - MARGIN > now:
        return str(row["token"])
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(queries.get("token_lock"), account_id)
        row = await conn.fetchrow(queries.get("token_get"), account_id)
        if row is not None and row["expires_at"] - MARGIN > now:
            return str(row["token"])
        token = await fetch(False)
        expires_at = now + dt.timedelta(seconds=token.expires_in)
        await conn.execute(queries.get("token_put"), account_id, token.access_token, expires_at)
        log.info(
            "access token refreshed", extra={"action": "token_refresh", "account_id": account_id}
        )
        return token.access_token


async def invalidate(pool: asyncpg.Pool, account_id: str, token: str) -> None:
    """WeChat said this token is stale (40001/42001): drop it unless another caller already
    replaced it, so one stale answer causes one refresh, not one per worker."""
    await pool.execute(queries.get("token_invalidate"), account_id, token)


async def tokens_expiring(pool_: asyncpg.Pool, before: dt.datetime) -> list[delivery_rows.Account]:
    """Accounts whose cached access token expires before `before`."""
    rows = await pool_.fetch(queries.get("list_expiring_tokens"), before)
    return [delivery_rows.Account.from_record(r) for r in rows]
