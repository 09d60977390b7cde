"""Marketing events (C5) piece by piece: the API, the check-in hook of the callback path, and
the follower's pages (registration and survey) with their identity checks."""

from __future__ import annotations

import datetime as dt
import time
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pydantic
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway import oauth_sign
from gateway import settings as settings_mod
from gateway.api import app as app_mod
from gateway.mock import app as mock_app
from tests import wx

Client = TestClient[web.Request, web.Application]
AUTH = {"Authorization": "Bearer t"}
ANN = "oAnn000000000000000000000001"
TEMPLATE = {"template_id": "tpl-1", "data": {"thing1": {"value": "x"}}}


@pytest.fixture
async def platform(aiohttp_client: Callable[..., Awaitable[Client]]) -> Client:
    return await aiohttp_client(mock_app.create_mock_app())


@pytest.fixture
async def gateway(
    db_url: str,
    pool: asyncpg.Pool,
    platform: Client,
    aiohttp_client: Callable[..., Awaitable[Client]],
) -> AsyncIterator[Client]:
    base = str(platform.make_url("")).rstrip("/")
    await wx.insert_account(pool, "acme", oauth_hosts=("survey.example.com",))
    await wx.insert_account(pool, "news", kind="subscription", app_id="wx00000000000000aa")
    resp = await platform.post(
        "/_mock/accounts",
        json={
            "app_id": "wx0123456789abcdef",
            "app_secret": "secret-acme",
            "kind": "service",
            "token": wx.TOKEN,
            "callback_url": "http://127.0.0.1:9/unused",
        },
    )
    assert resp.status == 201
    settings = settings_mod.Settings(
        database_url=db_url,
        api_token=pydantic.SecretStr("t"),
        wechat_api_base=base,
        wechat_oauth_base=base,
        public_url="http://gateway.test",
    )
    yield await aiohttp_client(app_mod.create_app(settings))


def _body(hours: float = 2, **fields: Any) -> dict[str, Any]:
    start = dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)
    body: dict[str, Any] = {
        "name": "Fair",
        "starts_at": start.isoformat(),
        "ends_at": (start + dt.timedelta(hours=2)).isoformat(),
        "capacity": 10,
        "reminder_offsets": [600, 3600],
        "reminder_template": TEMPLATE,
        "survey_template": TEMPLATE,
    }
    body.update(fields)
    return body


async def _create(gateway: Client, **fields: Any) -> dict[str, Any]:
    resp = await gateway.post("/api/v1/accounts/acme/events", json=_body(**fields), headers=AUTH)
    assert resp.status == 201, await resp.text()
    event: dict[str, Any] = await resp.json()
    return event


async def test_create_and_read_an_event(
    gateway: Client, platform: Client, pool: asyncpg.Pool
) -> None:
    event = await _create(gateway)
    assert event["qrcode"]["scene"].startswith("evt-")
    assert event["qrcode"]["image_url"].endswith(
        urllib.parse.quote(event["qrcode"]["ticket"], safe="")
    )
    assert event["stats"] == {
        "registered": 0,
        "walk_ins": 0,
        "checked_in": 0,
        "reminders_queued": 0,
        "reminders_sent": 0,
        "welcomes_sent": 0,
        "surveys_queued": 0,
        "surveys_sent": 0,
        "surveys_answered": 0,
    }
    code = await pool.fetchrow("SELECT * FROM qr_codes WHERE scene = $1", event["qrcode"]["scene"])
    assert code is not None and not code["permanent"]
    lifetime = code["expires_at"] - dt.datetime.now(dt.UTC)
    assert dt.timedelta(hours=3, minutes=59) < lifetime <= dt.timedelta(hours=4)  # to the end
    resp = await gateway.get(f"/api/v1/accounts/acme/events/{event['id']}", headers=AUTH)
    assert resp.status == 200 and await resp.json() == event
    for path in ("/api/v1/accounts/acme/events/999", "/api/v1/accounts/acme/events/x1"):
        resp = await gateway.get(path, headers=AUTH)
        assert resp.status == 404 and (await resp.json())["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"hours": -1}, "starts_at must be in the future"),
        ({"hours": 24 * 30}, "30 days"),
        ({"reminder_template": None}, "reminder_template"),
        ({"survey_url": "https://evil.example.com/s"}, "oauth_redirect_hosts"),
        ({"survey_url": "ftp://survey.example.com/s"}, "oauth_redirect_hosts"),
    ],
)
async def test_invalid_events(gateway: Client, fields: dict[str, Any], text: str) -> None:
    resp = await gateway.post("/api/v1/accounts/acme/events", json=_body(**fields), headers=AUTH)
    assert resp.status == 422, await resp.text()
    assert text in await resp.text()


async def test_events_need_a_service_account(gateway: Client) -> None:
    resp = await gateway.post("/api/v1/accounts/news/events", json=_body(), headers=AUTH)
    error = (await resp.json())["error"]
    assert resp.status == 403 and error["code"] == "capability_not_available"
    assert error["details"] == {"capability": "marketing_events"}
    resp = await gateway.post("/api/v1/accounts/nobody/events", json=_body(), headers=AUTH)
    assert resp.status == 404


async def test_wechat_refusing_the_qr_code_is_a_502(gateway: Client, platform: Client) -> None:
    await platform.post("/_mock/faults", json={"path": "/cgi-bin/qrcode/create", "errcode": -1})
    resp = await gateway.post("/api/v1/accounts/acme/events", json=_body(), headers=AUTH)
    assert resp.status == 502 and (await resp.json())["error"]["code"] == "upstream_error"


# --- check-in through the callback path -------------------------------------------------


async def _scan(gateway: Client, scene: str, event: str = "SCAN", **kw: Any) -> int:
    key = scene if event == "SCAN" else f"qrscene_{scene}"
    fields = wx.event(event, key, openid=ANN, create_time=int(time.time()), **kw)
    query, body = wx.callback(fields)
    resp = await gateway.post("/wechat/acme", params=query, data=body)
    return resp.status


async def _queued(pool: asyncpg.Pool) -> list[tuple[str, str]]:
    rows = await pool.fetch(
        "SELECT e.purpose, m.type FROM event_messages e"
        " JOIN messages m ON m.account_id = e.account_id AND m.id = e.message_id ORDER BY m.id"
    )
    return [(r["purpose"], r["type"]) for r in rows]


async def test_a_scan_checks_in_once(gateway: Client, pool: asyncpg.Pool) -> None:
    event = await _create(gateway)
    assert await _scan(gateway, event["qrcode"]["scene"]) == 200
    assert await _queued(pool) == [("welcome", "customer_service"), ("survey", "template")]
    survey = await pool.fetchrow("SELECT * FROM messages WHERE type = 'template'")
    assert survey is not None
    assert survey["not_before"] == dt.datetime.fromisoformat(event["ends_at"])
    assert survey["template"]["url"] == event["survey_link"]
    row = await pool.fetchrow("SELECT * FROM event_registrations")
    assert row is not None and row["registered_at"] is None and row["checked_in_at"] is not None
    # The same callback again (WeChat's retry), and a later scan: nothing new.
    assert await _scan(gateway, event["qrcode"]["scene"], Ticket="T") == 200
    assert len(await _queued(pool)) == 2
    again = await pool.fetchrow("SELECT * FROM event_registrations")
    assert again is not None and again["checked_in_at"] == row["checked_in_at"]


async def test_a_subscribing_scan_checks_in(gateway: Client, pool: asyncpg.Pool) -> None:
    event = await _create(gateway, survey_template=None)
    assert await _scan(gateway, event["qrcode"]["scene"], "subscribe") == 200
    assert await _queued(pool) == [("welcome", "customer_service")]
    follower = await pool.fetchrow("SELECT subscribed FROM followers")
    assert follower is not None and follower["subscribed"] is True


async def test_scans_that_are_not_check_ins(gateway: Client, pool: asyncpg.Pool) -> None:
    event = await _create(gateway)
    assert await _scan(gateway, "evt-0000000000000000") == 200  # no such event
    assert await _scan(gateway, "spring-fair") == 200  # not an event scene
    await pool.execute(
        "UPDATE events SET starts_at = now() - interval '1 hour', ends_at = now() - interval '1 s'"
    )
    assert await _scan(gateway, event["qrcode"]["scene"]) == 200  # over: no check-in
    assert await _queued(pool) == []
    assert await pool.fetchval("SELECT count(*) FROM event_registrations") == 0


async def test_external_survey_link_goes_through_oauth(gateway: Client, pool: asyncpg.Pool) -> None:
    event = await _create(gateway, survey_url="https://survey.example.com/fair?x=1")
    link = urllib.parse.urlsplit(event["survey_link"])
    assert (link.netloc, link.path) == ("gateway.test", "/oauth/acme/authorize")
    assert dict(urllib.parse.parse_qsl(link.query)) == {
        "redirect": "https://survey.example.com/fair?x=1",
        "scope": "snsapi_base",
    }
    await _scan(gateway, event["qrcode"]["scene"])
    url = await pool.fetchval("SELECT template->>'url' FROM messages WHERE type = 'template'")
    assert url == event["survey_link"]


# --- the follower's pages ---------------------------------------------------------------


def _signed(url: str, openid: str = ANN, key: str = "sign-acme", age: int = 0) -> str:
    issued_at = int(time.time()) - age
    signature = oauth_sign.sign(key, openid, issued_at, "gateway.test")
    query = urllib.parse.urlencode(
        {"openid": openid, "issued_at": issued_at, "signature": signature}
    )
    return f"{url}?{query}"


def _path(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def test_registration_starts_oauth_then_registers(
    gateway: Client, pool: asyncpg.Pool
) -> None:
    event = await _create(gateway)
    register = _path(event["registration_url"])
    resp = await gateway.get(register, allow_redirects=False)
    assert resp.status == 302
    location = urllib.parse.urlsplit(resp.headers["Location"])
    query = dict(urllib.parse.parse_qsl(location.query))
    assert location.path == "/connect/oauth2/authorize" and query["scope"] == "snsapi_base"
    target = await pool.fetchval("SELECT target FROM oauth_states WHERE state = $1", query["state"])
    assert target == event["registration_url"]
    resp = await gateway.get(_path(_signed(event["registration_url"])))
    assert resp.status == 200 and "You are registered for Fair" in await resp.text()
    assert resp.content_type == "text/html"
    reminders = await pool.fetch("SELECT not_before, expires_at FROM messages ORDER BY not_before")
    start = dt.datetime.fromisoformat(event["starts_at"])
    assert [r["not_before"] for r in reminders] == [
        start - dt.timedelta(seconds=3600),
        start - dt.timedelta(seconds=600),
    ]
    assert {r["expires_at"] for r in reminders} == {start}


@pytest.mark.parametrize(
    "signed",
    [
        lambda url: _signed(url, key="wrong-key"),
        lambda url: _signed(url, age=301),  # older than the 5 minutes an identity lives
        lambda url: _signed(url).replace(ANN, "oSomeoneElse0000000000000001"),
        lambda url: url + "?openid=x&issued_at=soon&signature=abc",
    ],
)
async def test_forged_or_stale_identities_are_refused(
    gateway: Client, pool: asyncpg.Pool, signed: Callable[[str], str]
) -> None:
    event = await _create(gateway)
    for page in (event["registration_url"], event["survey_link"]):
        resp = await gateway.get(_path(signed(page)))
        assert resp.status == 403 and "expired" in await resp.text()
    assert await pool.fetchval("SELECT count(*) FROM event_registrations") == 0


async def test_page_errors(gateway: Client, pool: asyncpg.Pool) -> None:
    event = await _create(gateway)
    for path in ("/events/acme/999/register", "/events/acme/x/register", "/events/NO/1/survey"):
        resp = await gateway.get(path)
        assert resp.status == 404 and "no such event" in await resp.text()
    resp = await gateway.get("/events/news/1/register")
    assert resp.status == 403 and "cannot run marketing events" in await resp.text()
    await pool.execute("UPDATE events SET starts_at = now() - interval '1 minute'")
    resp = await gateway.get(_path(event["registration_url"]), allow_redirects=False)
    assert resp.status == 409 and "has started" in await resp.text()
    resp = await gateway.get(_path(_signed(event["registration_url"])))
    assert resp.status == 409


async def test_survey_form_checks(gateway: Client, pool: asyncpg.Pool) -> None:
    event = await _create(gateway)
    survey = _path(event["survey_link"])
    resp = await gateway.get(_path(_signed(event["survey_link"])))
    assert resp.status == 403 and "checked in" in await resp.text()  # not an attendee
    await _scan(gateway, event["qrcode"]["scene"])
    resp = await gateway.get(_path(_signed(event["survey_link"])))
    assert resp.status == 200 and 'name="signature"' in await resp.text()
    identity = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(_signed("x")).query))
    for form, status, text in (
        ({"rating": "5"}, 403, "open the survey from its link"),
        ({**identity, "rating": "6"}, 400, "rating from 1 to 5"),
        ({**identity, "rating": "5", "comment": "x" * 2001}, 400, "at most 2000"),
        ({**identity, "signature": "0" * 64, "rating": "5"}, 403, "expired"),
    ):
        resp = await gateway.post(survey, data=form)
        assert resp.status == status and text in await resp.text()
    resp = await gateway.post(survey, data={**identity, "rating": "4", "comment": "<b>ok</b>"})
    assert resp.status == 200 and "Thank you" in await resp.text()
    answers = await pool.fetchval("SELECT answers FROM survey_answers")
    assert answers == {"rating": 4, "comment": "<b>ok</b>"}
