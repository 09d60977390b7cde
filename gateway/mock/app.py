"""The mock WeChat platform's application factory (standalone, or mounted under a prefix)."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from datetime import datetime

from aiohttp import web

from gateway.mock import config, jobs, keys, routes, state


def create_mock_app(
    *,
    clock: Callable[[], datetime] | None = None,
    quota_tz: str = "Asia/Shanghai",
    callback_timeout: float = 5.0,
    callback_attempts: int = 3,
    job_finish_delay: float = 0.05,
) -> web.Application:
    """An aiohttp app simulating the platform; `clock` returns aware datetimes (tests move it).

    Mount it with `parent.add_subapp("/mock-wechat", create_mock_app())`.
    """
    if callback_attempts < 1:
        raise ValueError("callback_attempts must be at least 1")
    if callback_timeout <= 0 or job_finish_delay < 0:
        raise ValueError("callback_timeout must be positive and job_finish_delay not negative")
    settings = config.MockConfig(
        clock=clock or config.system_clock,
        quota_tz=zoneinfo.ZoneInfo(quota_tz),
        callback_timeout=callback_timeout,
        callback_attempts=callback_attempts,
        job_finish_delay=job_finish_delay,
    )
    app = web.Application()
    app[keys.CONFIG] = settings
    app[keys.STATE] = state.MockState()
    app[keys.TASKS] = set()
    app.cleanup_ctx.append(jobs.resources)
    routes.setup_routes(app)
    return app
