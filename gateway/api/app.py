"""The aiohttp application factory: resources in cleanup contexts, every route in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from gateway import settings as settings_mod
from gateway.api import health, keys
from gateway.store import pool as pool_mod

MAX_BODY = 64 * 1024


async def _pool_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    assert settings.database_url, "create_app needs a database URL"
    app[keys.POOL] = await pool_mod.create(settings.database_url, size=settings.pool_size)
    yield
    await app[keys.POOL].close()


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", health.healthz)
    app.router.add_get("/readyz", health.readyz)


def create_app(settings: settings_mod.Settings) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app[keys.SETTINGS] = settings
    app.cleanup_ctx.append(_pool_ctx)
    setup_routes(app)
    return app
