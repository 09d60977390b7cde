"""Access tokens as one worker uses them: an in-memory copy in front of the Postgres cache
(`gateway.store.tokens`), one fetch at a time per account, and one refresh per stale token.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable

import asyncpg

from gateway.store import delivery_rows, tokens
from gateway.wechat import client as wx

log = logging.getLogger(__name__)


class TokenCache:
    """Many concurrent sends of one account share one token and cause at most one fetch;
    across workers the advisory lock in `tokens.access_token` does the same."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        client: wx.WeChatClient,
        clock: Callable[[], dt.datetime],
        ttl: float = 60.0,
    ) -> None:
        self._pool = pool
        self._client = client
        self._clock = clock
        self._ttl = ttl
        self._tokens: dict[str, tuple[str, float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, account_id: str) -> asyncio.Lock:
        lock = self._locks.get(account_id)
        if lock is None:
            lock = self._locks[account_id] = asyncio.Lock()
        return lock

    def _cached(self, account_id: str) -> str | None:
        entry = self._tokens.get(account_id)
        if entry is not None and entry[1] > time.monotonic():
            return entry[0]
        return None

    async def get(self, account: delivery_rows.Account) -> str:
        """A valid token for the account (from memory, Postgres, or one stable_token call)."""
        token = self._cached(account.id)
        if token is not None:
            return token
        async with self._lock(account.id):
            token = self._cached(account.id)
            if token is not None:
                return token

            async def fetch(force: bool) -> wx.Token:
                return await self._client.stable_token(account.app_id, account.app_secret, force)

            token = await tokens.access_token(self._pool, account.id, fetch, self._clock())
            self._tokens[account.id] = (token, time.monotonic() + self._ttl)
            return token

    async def stale(self, account: delivery_rows.Account, token: str) -> None:
        """WeChat called `token` stale (40001/42001): forget it, here and in Postgres, unless
        it was already replaced, so that many failed calls cause one refresh."""
        async with self._lock(account.id):
            entry = self._tokens.get(account.id)
            if entry is not None and entry[0] != token:
                return
            self._tokens.pop(account.id, None)
            await tokens.invalidate(self._pool, account.id, token)
        log.info(
            "access token invalidated", extra={"action": "token_stale", "account_id": account.id}
        )

    async def refresh_expiring(self, ahead: dt.timedelta) -> int:
        """The refresh job: renew the cached tokens that expire within `ahead`; returns how
        many accounts were looked at. The fetch itself happens once `tokens.MARGIN` is
        reached (stable_token returns the same token until then)."""
        now = self._clock()
        accounts = await tokens.tokens_expiring(self._pool, now + ahead)
        for account in accounts:
            self._tokens.pop(account.id, None)
            try:
                await self.get(account)
            except (wx.WeChatError, wx.TransportError) as exc:
                log.warning(
                    "token refresh failed: %s",
                    exc,
                    extra={"action": "token_refresh_failed", "account_id": account.id},
                )
        return len(accounts)
