"""Every piece of application state, under a typed AppKey."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiohttp
import asyncpg
from aiohttp import web

from gateway import settings as settings_mod
from gateway.api import account_cache
from gateway.domain import scopes
from gateway.store import accounts as accounts_store
from gateway.store import group_commit
from gateway.wechat import client as wechat_client

SETTINGS = web.AppKey("settings", settings_mod.Settings)
POOL = web.AppKey("pool", asyncpg.Pool)
ACCOUNT_CACHE = web.AppKey("account_cache", account_cache.AccountCache)
GROUP_COMMIT = web.AppKey("group_commit", group_commit.GroupCommitter)

# The one outbound session for reply endpoints (SPEC 8), private addresses refused unless
# WXGATE_WEBHOOK_ALLOW_PRIVATE.
REPLY_HTTP = web.AppKey("reply_http", aiohttp.ClientSession)

# The outbound WeChat API client (QR codes; any handler that calls WeChat may use it).
WECHAT = web.AppKey("wechat", wechat_client.WeChatClient)
# Awaited after an account is created through the API, with the new row (secrets included);
# `wxgate run` registers accounts with the embedded mock this way.
AccountHook = Callable[[accounts_store.Account], Awaitable[None]]
ACCOUNT_CREATED_HOOKS: web.AppKey[list[AccountHook]] = web.AppKey("account_created_hooks")
# Awaited after an account is changed through the API (PATCH), with the new row.
ACCOUNT_CHANGED_HOOKS: web.AppKey[list[AccountHook]] = web.AppKey("account_changed_hooks")

# The grant of the bearer of an /api/v1 request (the administrator or a scoped token), set by
# gateway.api.auth before the handler runs.
GRANT = web.RequestKey("grant", scopes.Grant)
