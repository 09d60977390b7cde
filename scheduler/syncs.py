"""The follower-sync job (SPEC 9): page `user/get`, fetch profiles 100 at a time, commit
each page with its cursor, and finish by marking followers the list no longer has.

One worker holds a sync at a time (a lease in `follower_syncs`, renewed by every page); a
worker that dies leaves the cursor of its last committed page, and any worker resumes
there once the lease has run out. Platform errors fail the sync with WeChat's code and
text; transport errors and `-1`/45011 are retried, then the lease is given back.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from gateway import errors as product_errors
from gateway.store import delivery_rows, errors, syncs, tags
from gateway.wechat import client as wx
from scheduler import credentials, polling

log = logging.getLogger(__name__)

BATCH = 100  # user/info/batchget
TRANSIENT_ERRCODES = frozenset({-1, 45011})
ATTEMPTS = 4
INTERNAL_TAG = re.compile(r"^wxgate-\d+$")  # the release worker's one-member tags
A = TypeVar("A")
R = TypeVar("R")
DB_ERRORS = errors.FAILED


@dataclasses.dataclass(frozen=True)
class _Page:
    profiles: list[syncs.Profile]
    cursor: str  # the platform's next_openid after this page
    total: int | None


class _LostLease(product_errors.WxgateError):
    """Another worker took the sync over (this one stalled past its lease)."""


def profile(info: dict[str, Any]) -> syncs.Profile:
    """A `user/info` answer as the row a sync writes."""
    openid = str(info["openid"])
    if not info.get("subscribe"):
        return syncs.Profile(openid, False, None, None, None, None, None, ())
    when = info.get("subscribe_time")
    qr = info.get("qr_scene_str") or (str(info["qr_scene"]) if info.get("qr_scene") else None)
    return syncs.Profile(
        openid,
        True,
        dt.datetime.fromtimestamp(int(when), dt.UTC) if when else None,
        info.get("subscribe_scene") or None,
        qr,
        info.get("remark"),
        info.get("unionid") or None,
        tuple(int(t) for t in info.get("tagid_list") or ()),
    )


class FollowerSync:
    """Runs follower syncs for one worker; `drain()` runs them to the end (tests)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        client: wx.WeChatClient,
        tokens: credentials.TokenCache,
        worker_id: str,
        *,
        lease: dt.timedelta,
        stopping: asyncio.Event,
        concurrency: int = 8,
        retry_delay: float = 0.5,
    ) -> None:
        self.pool = pool
        self.client = client
        self.tokens = tokens
        self.worker_id = worker_id
        self.lease_seconds = lease.total_seconds()
        self.stopping = stopping
        self.gate = asyncio.Semaphore(concurrency)
        self.retry_delay = retry_delay

    async def run_once(self) -> bool:
        """Claim one sync and work on it until it ends or this worker stops; False if no
        sync was waiting."""
        lease = await syncs.claim(self.pool, self.worker_id, self.lease_seconds)
        if lease is None:
            return False
        extra = {"action": "sync_claimed", "account_id": lease.account_id, "sync_id": lease.id}
        log.info("follower sync claimed at page %d", lease.pages, extra=extra)
        try:
            await self._run(lease)
        except _LostLease:
            log.warning("follower sync lease lost", extra={**extra, "action": "sync_lost"})
        except asyncio.CancelledError:
            with contextlib.suppress(*DB_ERRORS):
                await asyncio.shield(syncs.release(self.pool, lease, self.worker_id))
            raise
        return True

    async def drain(self, timeout: float = 60.0) -> int:  # noqa: ASYNC109
        """Run syncs until none is waiting; how many were claimed."""
        return await polling.drain(self.run_once, timeout)

    async def _run(self, lease: syncs.Lease) -> None:
        account = await syncs.account(self.pool, lease.account_id)
        # The next page is fetched while this one is committed; pages are still committed
        # in order, each with the cursor after it.
        upcoming = asyncio.create_task(self._page(account, lease.next_openid or ""))
        try:
            while True:
                try:
                    page = await upcoming
                except wx.WeChatError as exc:
                    await self._fail(lease, exc)
                    return
                except wx.TransportError as exc:
                    log.warning(
                        "follower sync paused: %s",
                        exc,
                        extra={"action": "sync_paused", "account_id": lease.account_id},
                    )
                    await syncs.release(self.pool, lease, self.worker_id)
                    return
                if page is None:
                    await self._finish(account, lease)
                    return
                if self.stopping.is_set():
                    await syncs.release(self.pool, lease, self.worker_id)
                    return
                upcoming = asyncio.create_task(self._page(account, page.cursor))
                if not await syncs.commit_page(
                    self.pool,
                    lease,
                    self.worker_id,
                    page.profiles,
                    page.cursor,
                    page.total,
                    self.lease_seconds,
                ):
                    raise _LostLease()
        finally:
            if not upcoming.done():
                upcoming.cancel()
            await asyncio.gather(upcoming, return_exceptions=True)

    async def _page(self, account: delivery_rows.Account, cursor: str) -> _Page | None:
        """The page after `cursor` with its profiles; None after the last one."""
        answer = await self._call(account, self.client.list_followers, cursor)
        openids = [str(o) for o in (answer.get("data") or {}).get("openid") or ()]
        if not openids:
            return None
        profiles = await self._profiles(account, openids)
        total = answer.get("total")
        return _Page(
            profiles,
            str(answer.get("next_openid") or openids[-1]),
            int(total) if total is not None else None,
        )

    async def _profiles(
        self, account: delivery_rows.Account, openids: list[str]
    ) -> list[syncs.Profile]:
        async def batch(chunk: list[str]) -> list[dict[str, Any]]:
            async with self.gate:
                return await self._call(account, self.client.batchget_users, chunk)

        chunks = [openids[i : i + BATCH] for i in range(0, len(openids), BATCH)]
        answers = await asyncio.gather(*(batch(c) for c in chunks))
        return [profile(info) for answer in answers for info in answer]

    async def _call(
        self, account: delivery_rows.Account, method: Callable[[str, A], Awaitable[R]], arg: A
    ) -> R:
        """One platform call with a valid token: a stale token (40001/42001) is invalidated
        and the call made once more; transient failures are retried with backoff."""
        refreshed = False
        for attempt in range(ATTEMPTS):
            token = await self.tokens.get(account)
            try:
                return await method(token, arg)
            except wx.WeChatError as exc:
                if exc.errcode in wx.STALE_TOKEN_ERRCODES and not refreshed:
                    await self.tokens.stale(account, token)
                    refreshed = True
                    continue
                if exc.errcode not in TRANSIENT_ERRCODES or attempt == ATTEMPTS - 1:
                    raise
            except wx.TransportError:
                if attempt == ATTEMPTS - 1:
                    raise
            await asyncio.sleep(self.retry_delay * 2**attempt)
        raise AssertionError("unreachable")

    async def _finish(self, account: delivery_rows.Account, lease: syncs.Lease) -> None:
        listed = await self._call(account, lambda token, _: self.client.list_tags(token), None)
        rows = [
            (int(t["id"]), str(t["name"]), int(t.get("count", 0)))
            for t in listed
            if not INTERNAL_TAG.match(str(t.get("name", "")))
        ]
        await tags.replace(self.pool, account.id, rows)
        marked = await syncs.complete(self.pool, lease, self.worker_id)
        if marked is None:
            raise _LostLease()
        log.info(
            "follower sync completed; %d followers no longer listed, marked unsubscribed",
            marked,
            extra={"action": "sync_completed", "account_id": account.id, "sync_id": lease.id},
        )

    async def _fail(self, lease: syncs.Lease, exc: wx.WeChatError) -> None:
        error = f"{exc.errcode} {exc.errmsg}"
        await syncs.fail(self.pool, lease, self.worker_id, error, exc.errcode)
        log.warning(
            "follower sync failed: %s",
            error,
            extra={"action": "sync_failed", "account_id": lease.account_id, "sync_id": lease.id},
        )
