"""The periodic upkeep the jobs run: token refresh ahead of expiry, the expiry sweep, and
retention. Each step logs its failure and returns; the next run tries again."""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Callable

import asyncpg

from gateway import metrics
from gateway.domain import periods
from gateway.store import errors, expiry, oauth_states, retention, webhook_log
from scheduler import credentials, options

log = logging.getLogger(__name__)

SWEEP_BATCH = 5000
DB_ERRORS = errors.FAILED


class Maintenance:
    def __init__(
        self,
        pool: asyncpg.Pool,
        tokens: credentials.TokenCache,
        clock: Callable[[], dt.datetime],
        tz: zoneinfo.ZoneInfo,
        opts: options.Options,
    ) -> None:
        self.pool = pool
        self.tokens = tokens
        self.clock = clock
        self.tz = tz
        self.options = opts

    async def refresh_tokens(self) -> int:
        """Renew the cached access tokens that expire within `token_refresh_ahead`."""
        try:
            return await self.tokens.refresh_expiring(self.options.token_refresh_ahead)
        except DB_ERRORS:
            log.exception("token refresh job failed", extra={"action": "token_refresh_failed"})
            return 0

    async def sweep_expired(self) -> int:
        """Expire the unfinished deliveries of messages past `expires_at`, with the reason
        they waited for; returns how many."""
        total = 0
        try:
            while True:
                async with self.pool.acquire() as conn:
                    count = await expiry.expire_overdue(conn, self.clock(), SWEEP_BATCH)
                total += count
                if count < SWEEP_BATCH:
                    break
        except DB_ERRORS:
            log.exception("expiry sweep failed", extra={"action": "expiry_sweep_failed"})
        if total:
            metrics.MESSAGES.labels(status="expired", reason="sweep").inc(total)
            log.info("expired %d deliveries", total, extra={"action": "expiry_sweep"})
        return total

    async def purge_old(self) -> dict[str, int]:
        """Retention: inbound events after `events_retention` (30 days), finished messages
        after `messages_retention` (90 days), quota counters of months that old, and OAuth
        states once expired (10 minutes after /authorize)."""
        now = self.clock()
        opts = self.options
        usage_before = periods.month_key(now - opts.messages_retention, self.tz)
        try:
            async with self.pool.acquire() as conn:
                deleted = await retention.purge_old(
                    conn, now - opts.events_retention, now - opts.messages_retention, usage_before
                )
                deleted["oauth_states"] = await oauth_states.purge_expired(conn, now)
                # Webhook events and finished deliveries live as long as callbacks do.
                deleted["webhooks"] = await webhook_log.purge_old(conn, now - opts.events_retention)
        except DB_ERRORS:
            log.exception("retention failed", extra={"action": "retention_failed"})
            return {}
        log.info("retention: deleted %s", deleted, extra={"action": "retention"})
        return deleted
