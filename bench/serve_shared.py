"""`wxgate serve`'s application on a port shared with other processes (SO_REUSEPORT): the
kernel spreads incoming connections over the processes, as a deployment behind one port
would. Configuration as `wxgate serve` (WXGATE_* variables)."""

from __future__ import annotations

import asyncio

import uvloop
from aiohttp import web

from gateway import logs
from gateway import settings as settings_mod
from gateway.api import app as app_mod


def main() -> None:
    settings = settings_mod.load()
    logs.configure(settings.log_format, settings.log_level)
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    web.run_app(
        app_mod.create_app(settings),
        host=settings.host,
        port=settings.port,
        reuse_port=True,
        print=None,
        access_log=None,
    )


if __name__ == "__main__":
    main()
