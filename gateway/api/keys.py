"""Every piece of application state, under a typed AppKey."""

from __future__ import annotations

import asyncpg
from aiohttp import web

from gateway import settings as settings_mod
from gateway.api import account_cache
from gateway.store import group_commit

SETTINGS = web.AppKey("settings", settings_mod.Settings)
POOL = web.AppKey("pool", asyncpg.Pool)
ACCOUNT_CACHE = web.AppKey("account_cache", account_cache.AccountCache)
GROUP_COMMIT = web.AppKey("group_commit", group_commit.GroupCommitter)
