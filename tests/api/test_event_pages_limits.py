"""Event pages and OAuth: the cap on pending sign-ins answers a page, and an external survey
URL is checked as an OAuth target is (host and port)."""

from __future__ import annotations

import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.api.test_events_api import AUTH, _body, _create, _path, gateway, platform

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


async def test_survey_url_is_checked_as_an_oauth_target_is(gateway: Client) -> None:
    for url, status in (
        ("https://survey.example.com:8443/s", 422),  # the allow-list names no port
        ("https://survey.example.com\\@evil.example.org/", 422),
        ("https://survey.example.com:443/s", 201),
    ):
        resp = await gateway.post(
            "/api/v1/accounts/acme/events", json=_body(survey_url=url), headers=AUTH
        )
        assert resp.status == status, url
