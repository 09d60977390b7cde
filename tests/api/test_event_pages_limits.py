"""Event pages under load: the OAuth cap answers a page, and a slow survey POST is a 408."""

from __future__ import annotations

import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.api.test_events_api import _create, _path, gateway, platform

__all__ = ["gateway", "platform"]  # fixtures, shared with test_events_api

Client = TestClient[web.Request, web.Application]
CAP = 10_000


async def test_a_full_account_answers_a_busy_page(gateway: Client, pool: asyncpg.Pool) -> None:
    event = await _create(gateway)
    await pool.execute(
        "INSERT INTO oauth_states (account_id, state, target, scope, expires_at)"
        " SELECT 'acme', 'f' || i, 'https://x.example/', 'snsapi_base',"
        "        now() + interval '5 minutes'"
        "   FROM generate_series(1, $1) AS i",
        CAP,
    )
    resp = await gateway.get(_path(event["registration_url"]), allow_redirects=False)
    assert resp.status == 429
    assert resp.content_type == "text/html" and "try again" in await resp.text()
    resp = await gateway.get(_path(event["survey_link"]), allow_redirects=False)
    assert resp.status == 429
