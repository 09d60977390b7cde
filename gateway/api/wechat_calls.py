"""Synchronous calls to WeChat from an API handler, with the account's cached token.

As for QR codes: the token comes from the Postgres cache (`gateway.store.tokens`), a stale
token (40001/42001) is invalidated and the call tried once more, and WeChat's refusals and
silences become 502 `upstream_error` unless the caller maps the errcode itself.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web

from gateway.api import errors, keys
from gateway.store import accounts as accounts_store
from gateway.store import tokens
from gateway.wechat import client as wx

log = logging.getLogger(__name__)

T = TypeVar("T")


async def _token(app: web.Application, account: accounts_store.Account) -> str:
    client = app[keys.WECHAT]

    async def fetch(force: bool) -> wx.Token:
        return await client.stable_token(account.app_id, account.app_secret, force)

    return await tokens.access_token(app[keys.POOL], account.id, fetch, dt.datetime.now(dt.UTC))


async def call(
    app: web.Application,
    account: accounts_store.Account,
    what: Callable[[wx.WeChatClient, str], Awaitable[T]],
    mapped: dict[int, tuple[str, str]] | None = None,
) -> T:
    """`what(client, token)`; errcodes in `mapped` become the given (API code, message)."""
    pool = app[keys.POOL]
    try:
        for attempt in range(2):
            token = await _token(app, account)
            try:
                return await what(app[keys.WECHAT], token)
            except wx.WeChatError as exc:
                if attempt == 0 and exc.errcode in wx.STALE_TOKEN_ERRCODES:
                    await tokens.invalidate(pool, account.id, token)
                    continue
                raise
    except wx.WeChatError as exc:
        details = {"errcode": exc.errcode, "errmsg": exc.errmsg}
        if mapped and exc.errcode in mapped:
            code, message = mapped[exc.errcode]
            raise errors.ApiError(code, message, details) from None
        _log(account, exc)
        raise errors.ApiError("upstream_error", f"WeChat failed: {exc}", details) from None
    except wx.TransportError as exc:
        _log(account, exc)
        raise errors.ApiError("upstream_error", f"WeChat failed: {exc}") from None
    raise AssertionError("unreachable")


def _log(account: accounts_store.Account, exc: Exception) -> None:
    log.warning(
        "WeChat call failed: %s",
        exc,
        extra={"action": "api_wechat_failed", "account_id": account.id},
    )
