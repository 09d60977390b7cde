"""Onsite check-in (C5): after a callback, a scan of an event's QR code (`SCAN`, or
`subscribe` with `qrscene_`) checks the follower in and queues their welcome message.

It runs after the callback's commit, for new and repeated callbacks alike (every step is
idempotent). If it cannot be stored, the callback is answered 503: WeChat's retry is a
duplicate of a stored callback, and runs the check-in again.
"""

from __future__ import annotations

import asyncio
import functools
import logging

from aiohttp import web

from gateway.api import events, keys
from gateway.domain import kinds
from gateway.store import errors as store_errors
from gateway.store import events as store
from gateway.store import inbound

log = logging.getLogger(__name__)

TIMEOUT = 1.5  # seconds; with the callback's own budget this stays within WeChat's 5 s


async def after_callback(app: web.Application, record: inbound.EventRecord) -> bool:
    """False when a check-in was due but could not be stored (answer 503)."""
    scene = record.scene
    if scene is None or not scene.startswith(events.SCENE_PREFIX):
        return True
    if record.kind != kinds.AccountKind.SERVICE:
        return True
    settings = app[keys.SETTINGS]
    try:
        async with asyncio.timeout(TIMEOUT):
            await store.check_in(
                app[keys.POOL],
                record.account_id,
                scene,
                record.openid,
                record.at,
                settings.default_ttl,
                functools.partial(events.survey_link, settings),
            )
    except store_errors.FAILED as exc:  # the database is down, slow or restarting
        log.warning(
            "check-in not stored: %s",
            type(exc).__name__,
            extra={"action": "event_check_in_failed", "account_id": record.account_id},
        )
        return False
    return True
