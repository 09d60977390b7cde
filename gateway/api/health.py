"""Liveness and readiness."""

from __future__ import annotations

import asyncio

from aiohttp import web

from gateway.api import keys
from gateway.store import errors as store_errors
from gateway.store import migrate


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


# The database is down, restarting or slow, or the migration files cannot be read.
_NOT_READY: tuple[type[Exception], ...] = (*store_errors.FAILED, migrate.MigrationError)


async def readyz(request: web.Request) -> web.Response:
    """Ready when the database answers and every migration file is applied."""
    app = request.app
    settings = app[keys.SETTINGS]
    try:
        async with asyncio.timeout(2):
            async with app[keys.POOL].acquire() as conn:
                missing = await migrate.pending(
                    conn, migrate.load(settings.sql_dir or migrate.default_sql_dir())
                )
    except _NOT_READY as exc:
        body = {"status": "unavailable", "database": type(exc).__name__}
        return web.json_response(body, status=503)
    if missing:
        return web.json_response({"status": "migrations_pending", "pending": missing}, status=503)
    return web.json_response({"status": "ready", "database": "connected"})
