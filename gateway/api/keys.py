"""Every piece of application state, under a typed AppKey."""

from __future__ import annotations

import asyncpg
from aiohttp import web

from gateway import settings as settings_mod

SETTINGS = web.AppKey("settings", settings_mod.Settings)
POOL = web.AppKey("pool", asyncpg.Pool)
