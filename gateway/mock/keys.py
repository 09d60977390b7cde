"""Every piece of the mock application's state, under typed keys."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web

from gateway.mock import config, state

CONFIG = web.AppKey("mock_config", config.MockConfig)
STATE = web.AppKey("mock_state", state.MockState)
HTTP = web.AppKey("mock_http", aiohttp.ClientSession)
TASKS: web.AppKey[set[asyncio.Task[None]]] = web.AppKey("mock_tasks")
