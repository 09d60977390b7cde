"""The menu job (SPEC 8): apply a stored menu with `/cgi-bin/menu/create` (or remove it with
`/cgi-bin/menu/delete`), retried like a message.

Any number of workers share the job: a menu is claimed with FOR UPDATE SKIP LOCKED and held
by a lease, so that one call per account is in flight and a worker that died is taken over
once its lease has run out. A stale token (40001/42001) is refreshed and the call made once
more; transport errors, HTTP 5xx, -1, 45009/45011 and a token that cannot be had are retried
with the message backoff; any other errcode fails the menu with WeChat's errcode and errmsg.
An answer for a version a newer PUT or DELETE replaced is dropped (that one is applied next).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

from gateway import errors as product_errors
from gateway.store import errors, menus
from gateway.wechat import client as wx
from scheduler import backoff, credentials, polling
from scheduler import options as options_mod

log = logging.getLogger(__name__)

DB_ERRORS = errors.FAILED


class _Retry(product_errors.WxgateError):
    """A failure worth another try later."""

    def __init__(self, errcode: int | None, errmsg: str) -> None:
        super().__init__(errmsg)
        self.errcode = errcode
        self.errmsg = errmsg


class MenuJob:
    """Applies due menus for one worker; `drain()` runs until none is due (tests)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        client: wx.WeChatClient,
        tokens: credentials.TokenCache,
        worker_id: str,
        *,
        options: options_mod.Options,
        stopping: asyncio.Event,
    ) -> None:
        self.pool = pool
        self.client = client
        self.tokens = tokens
        self.worker_id = worker_id
        self.options = options
        self.stopping = stopping

    async def run_once(self) -> bool:
        """Claim one due menu and settle it; False if none was due."""
        lease = await menus.claim(self.pool, self.worker_id, self.options.lease.total_seconds())
        if lease is None:
            return False
        try:
            await self._apply(lease)
        except asyncio.CancelledError:
            with contextlib.suppress(*DB_ERRORS):
                await asyncio.shield(menus.release(self.pool, lease, self.worker_id))
            raise
        return True

    async def drain(self, timeout: float = 60.0) -> int:  # noqa: ASYNC109
        """Settle menus until none is due; how many were claimed."""
        return await polling.drain(self.run_once, timeout)

    async def _apply(self, lease: menus.Lease) -> None:
        extra = {"account_id": lease.account_id, "version": lease.version}
        what = "menu delete" if lease.deleting else "menu"
        try:
            await self._call(lease)
        except _Retry as exc:
            opts = self.options
            delay = backoff.delay(
                lease.attempts, opts.jitter, base=opts.backoff_base, cap=opts.backoff_cap
            )
            await menus.retry(self.pool, lease, self.worker_id, exc.errcode, exc.errmsg, delay)
            log.info(
                "%s retried in %.1f s: %s",
                what,
                delay,
                exc.errmsg,
                extra={**extra, "action": "menu_retry", "errcode": exc.errcode},
            )
            return
        except wx.WeChatError as exc:
            await menus.failed(self.pool, lease, self.worker_id, exc.errcode, exc.errmsg)
            log.warning(
                "%s failed: %s %s",
                what,
                exc.errcode,
                exc.errmsg,
                extra={**extra, "action": "menu_failed", "errcode": exc.errcode},
            )
            return
        if await menus.applied(self.pool, lease, self.worker_id):
            log.info("%s applied", what, extra={**extra, "action": "menu_applied"})
        else:
            log.info("%s superseded", what, extra={**extra, "action": "menu_superseded"})

    async def _call(self, lease: menus.Lease) -> None:
        """The platform call with a valid token; _Retry for what is worth another try."""
        account = lease.account
        for refreshed in (False, True):
            try:
                token = await self.tokens.get(account)
            except wx.WeChatError as exc:
                raise _Retry(exc.errcode, f"no access token: {exc.errmsg}") from exc
            except wx.TransportError as exc:
                raise _Retry(None, f"no access token: {exc}") from exc
            try:
                if lease.body is None:
                    await self.client.delete_menu(token)
                else:
                    await self.client.create_menu(token, lease.body)
                return
            except wx.TransportError as exc:
                raise _Retry(None, str(exc)) from exc
            except wx.WeChatError as exc:
                if exc.errcode in wx.STALE_TOKEN_ERRCODES:
                    if not refreshed:
                        await self.tokens.stale(account, token)
                        continue
                    raise _Retry(exc.errcode, exc.errmsg) from exc
                if exc.errcode in wx.RETRYABLE_ERRCODES:
                    raise _Retry(exc.errcode, exc.errmsg) from exc
                raise
        raise AssertionError("unreachable")
