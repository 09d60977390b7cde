"""The console over HTTP (SPEC 10): no page without a session, no POST without the CSRF
token, a scoped token sees only its accounts (404 on the others), revocation ends sessions at
once, the pages show the data, and hostile values are escaped or refused (never a 5xx)."""

from __future__ import annotations

import hashlib
import re

import asyncpg
import pydantic
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway import settings as settings_mod
from gateway.api import app as app_mod
from tests.api import apihelp
from tests.api.apihelp import Client
from tests.api.conftest import API_TOKEN, AUTH, ClientFactory
from tests.console import data

PAGES = [
    "/console/",
    "/console/accounts/acme",
    "/console/accounts/acme/followers",
    f"/console/accounts/acme/followers?openid={apihelp.openid(1)}",
    "/console/accounts/acme/messages",
    "/console/accounts/acme/messages?status=held&reason=window_closed",
    "/console/accounts/acme/messages/1",
    "/console/accounts/acme/events",
    "/console/accounts/acme/events?type=event.scan",
    "/console/accounts/acme/menu",
]


@pytest.fixture
async def seeded(client: Client, pool: asyncpg.Pool) -> dict[str, int]:
    ids = await data.seed(client, pool, "acme")
    await data.seed(client, pool, "other")
    return ids


@pytest.mark.usefixtures("seeded")
async def test_no_page_without_a_session(client: Client) -> None:
    for page in [*PAGES, "/console/accounts/nope", "/console/nothing"]:
        resp = await client.get(page, allow_redirects=False)
        assert resp.status == 303, page
        assert resp.headers["Location"] == "/console/sign-in"
    resp = await client.post("/console/accounts/acme/messages/2/cancel", allow_redirects=False)
    assert resp.status == 403
    assert (await client.get("/console", allow_redirects=False)).headers["Location"] == "/console/"
    sign_in = await client.get("/console/sign-in")
    assert sign_in.status == 200 and 'name="token"' in await sign_in.text()
    css = await client.get("/console/static/console.css")
    assert css.status == 200 and css.content_type == "text/css"


async def test_the_session_cookie_and_what_the_database_keeps(
    client: Client, pool: asyncpg.Pool
) -> None:
    page = await (await client.get("/console/sign-in")).text()
    resp = await client.post(
        "/console/sign-in",
        data={"csrf": data.csrf_of(page), "token": API_TOKEN},
        allow_redirects=False,
    )
    assert resp.status == 303
    cookie = resp.cookies["wxgate_console"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and not cookie["secure"]
    assert cookie["path"] == "/console/" and int(cookie["max-age"]) == 12 * 3600
    rows = await pool.fetch("SELECT * FROM console_sessions")
    assert len(rows) == 1
    assert rows[0]["id_hash"] == hashlib.sha256(cookie.value.encode()).hexdigest()
    assert all(cookie.value not in str(v) and API_TOKEN not in str(v) for v in rows[0].values())
    hours = (rows[0]["expires_at"] - rows[0]["created_at"]).total_seconds() / 3600
    assert 11.99 < hours < 12.01


async def test_the_cookie_is_secure_behind_https(
    settings: settings_mod.Settings, aiohttp_client: ClientFactory
) -> None:
    client = await aiohttp_client(
        app_mod.create_app(settings.model_copy(update={"public_url": "https://gw.example"}))
    )
    page = await client.get("/console/sign-in")
    pre = page.cookies["wxgate_console_signin"]
    assert pre["secure"]
    # The client keeps Secure cookies for https only: send it by hand over the test's http.
    resp = await client.post(
        "/console/sign-in",
        data={"csrf": data.csrf_of(await page.text()), "token": API_TOKEN},
        headers={"Cookie": f"wxgate_console_signin={pre.value}"},
        allow_redirects=False,
    )
    assert resp.status == 303 and resp.cookies["wxgate_console"]["secure"]


async def test_sign_in_needs_a_valid_token_and_its_csrf(client: Client) -> None:
    page = await (await client.get("/console/sign-in")).text()
    csrf = data.csrf_of(page)
    for token in ["wrong", "", "wxg_" + "a" * 43, "x" * 600, "a\x00b", data.HOSTILE]:
        resp = await client.post("/console/sign-in", data={"csrf": csrf, "token": token})
        assert resp.status == 401, token
        assert "not accepted" in await resp.text()
        csrf = data.csrf_of(await resp.text())
    resp = await client.post("/console/sign-in", data={"token": API_TOKEN}, allow_redirects=False)
    assert resp.status == 403
    resp = await client.post(
        "/console/sign-in", data={"csrf": "forged", "token": API_TOKEN}, allow_redirects=False
    )
    assert resp.status == 403


@pytest.mark.usefixtures("seeded")
async def test_every_page_with_a_session(client: Client, seeded: dict[str, int]) -> None:
    await data.sign_in(client, API_TOKEN)
    for page in PAGES:
        resp = await client.get(page)
        assert resp.status == 200, page
        body = await resp.text()
        assert "<script>" not in body
    home = await (await client.get("/console/")).text()
    assert "acme" in home and "other" in home and "held: window_closed" in home
    account = await (await client.get("/console/accounts/acme")).text()
    assert account.count("<svg") == 3 and "Sends per minute: 1 in the last hour" in account
    assert "Callbacks per minute: 3 in the last hour" in account
    follower = await (await client.get(PAGES[3])).text()
    assert "open</b> until" in follower and "0 of 4 used" in follower
    held = await (await client.get(PAGES[5])).text()
    assert f'/messages/{seeded["held"]}"' in held and f'/messages/{seeded["sent"]}"' not in held
    message = await (await client.get(f"/console/accounts/acme/messages/{seeded['held']}")).text()
    assert "window_closed" in message and 'id="cancel"' in message
    events = await (await client.get("/console/accounts/acme/events")).text()
    assert "&lt;script&gt;alert(" in events and "<![CDATA[" in events.replace("&lt;", "<")
    scans = await (await client.get(PAGES[8])).text()
    assert scans.count('<details class="card event">') == 1 and "fair" in scans
    missing = await client.get("/console/accounts/acme/followers?openid=nobody")
    assert missing.status == 404


@pytest.mark.usefixtures("seeded")
async def test_no_post_without_the_csrf_token(
    client: Client, pool: asyncpg.Pool, seeded: dict[str, int]
) -> None:
    csrf = await data.sign_in(client, API_TOKEN)
    url = f"/console/accounts/acme/messages/{seeded['held']}/cancel"
    for form in [{}, {"csrf": ""}, {"csrf": "forged"}, {"csrf": csrf + "x"}]:
        resp = await client.post(url, data=form, allow_redirects=False)
        assert resp.status == 403, form
    status = "SELECT status FROM messages WHERE account_id = 'acme' AND id = $1"
    assert await pool.fetchval(status, seeded["held"]) == "held"
    assert (await client.post("/console/sign-out", allow_redirects=False)).status == 403
    resp = await client.post(url, data={"csrf": csrf}, allow_redirects=False)
    assert resp.status == 303
    assert await pool.fetchval(status, seeded["held"]) == "canceled"
    again = await client.post(url, data={"csrf": csrf}, allow_redirects=False)
    assert again.status == 409


@pytest.mark.usefixtures("seeded")
async def test_sign_out_ends_the_session(client: Client, pool: asyncpg.Pool) -> None:
    csrf = await data.sign_in(client, API_TOKEN)
    cookie = next(c for c in client.session.cookie_jar if c.key == "wxgate_console").value
    resp = await client.post("/console/sign-out", data={"csrf": csrf}, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/console/sign-in"
    assert await pool.fetchval("SELECT count(*) FROM console_sessions") == 0
    client.session.cookie_jar.update_cookies({"wxgate_console": cookie})
    assert (await client.get("/console/", allow_redirects=False)).status == 303


@pytest.mark.usefixtures("seeded")
async def test_a_scoped_token_sees_only_its_accounts(
    client: Client, seeded: dict[str, int]
) -> None:
    reader = await data.token(client, ["acme"], ["read"])
    csrf = await data.sign_in(client, reader["token"])
    home = await (await client.get("/console/")).text()
    assert "/console/accounts/acme" in home and "/console/accounts/other" not in home
    for page in PAGES[1:]:
        assert (await client.get(page)).status == 200, page
        other = await client.get(page.replace("/acme", "/other"))
        assert other.status == 404, page
        assert "no account &#39;other&#39;" in await other.text()
    message = await (await client.get(f"/console/accounts/acme/messages/{seeded['held']}")).text()
    assert 'id="cancel"' not in message
    url = f"/console/accounts/acme/messages/{seeded['held']}/cancel"
    assert (await client.post(url, data={"csrf": csrf}, allow_redirects=False)).status == 403
    other_url = f"/console/accounts/other/messages/{seeded['held']}/cancel"
    assert (await client.post(other_url, data={"csrf": csrf}, allow_redirects=False)).status == 404


@pytest.mark.usefixtures("seeded")
async def test_revoking_the_token_ends_its_sessions_at_once(client: Client) -> None:
    sender = await data.token(client, ["acme"], ["send"])
    await data.sign_in(client, sender["token"])
    assert (await client.get("/console/accounts/acme", allow_redirects=False)).status == 200
    resp = await client.delete(f"/api/v1/tokens/{sender['id']}", headers=AUTH)
    assert resp.status == 200
    resp = await client.get("/console/accounts/acme", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/console/sign-in"


async def test_a_changed_admin_token_ends_admin_sessions(
    settings: settings_mod.Settings, aiohttp_client: ClientFactory, pool: asyncpg.Pool
) -> None:
    first: Client = await aiohttp_client(app_mod.create_app(settings))
    await data.sign_in(first, API_TOKEN)
    cookie = next(c for c in first.session.cookie_jar if c.key == "wxgate_console").value
    rotated = settings.model_copy(update={"api_token": pydantic.SecretStr("new-admin-token")})
    second: Client = await aiohttp_client(app_mod.create_app(rotated))
    second.session.cookie_jar.update_cookies({"wxgate_console": cookie})
    assert (await second.get("/console/", allow_redirects=False)).status == 303


@pytest.mark.usefixtures("seeded")
async def test_console_posts_are_audited(client: Client, seeded: dict[str, int]) -> None:
    csrf = await data.sign_in(client, API_TOKEN)
    url = f"/console/accounts/acme/messages/{seeded['queued']}/cancel"
    assert (await client.post(url, data={"csrf": csrf}, allow_redirects=False)).status == 303
    assert (await client.post(url, data={}, allow_redirects=False)).status == 403
    await client.post("/console/sign-out", data={"csrf": csrf}, allow_redirects=False)
    resp = await client.get("/api/v1/audit?limit=10", headers=AUTH)
    entries = [e for e in (await resp.json())["items"] if e["via"] == "console"]
    assert [(e["route"], e["status"], e["summary"], e["actor"]) for e in entries] == [
        ("/console/sign-out", 303, "sign-out", "admin"),
        ("/console/accounts/{id}/messages/{message_id}/cancel", 403, None, "admin"),
        (
            "/console/accounts/{id}/messages/{message_id}/cancel",
            303,
            f"cancel message {seeded['queued']}",
            "admin",
        ),
        ("/console/sign-in", 303, "sign-in", "admin"),
    ]
    assert entries[1]["account_id"] == "acme" and entries[1]["remote_addr"] == "127.0.0.1"


HOSTILE_VALUES = [
    "<script>alert(1)</script>",
    '"><svg onload=alert(1)>',
    "' OR 1=1 --",
    "%00",
    "%ED%A0%80",  # a lone surrogate, UTF-8 encoded
    "x" * 5000,
    "../../etc/passwd",
    "-1",
    "9" * 30,
    "2026-13-45T99:99",
    "%E2%80%AE",
]
FILTERS = [
    ("/console/", "cursor"),
    ("/console/accounts/acme/followers", "openid"),
    ("/console/accounts/acme/messages", "status"),
    ("/console/accounts/acme/messages", "reason"),
    ("/console/accounts/acme/messages", "cursor"),
    ("/console/accounts/acme/events", "type"),
    ("/console/accounts/acme/events", "openid"),
    ("/console/accounts/acme/events", "since"),
    ("/console/accounts/acme/events", "until"),
    ("/console/accounts/acme/events", "cursor"),
    ("/console/accounts/acme/events", "nope"),
]


def _ok(status: int, body: str) -> None:
    assert status < 500, body[:300]
    assert "<script>alert" not in body and "<svg onload" not in body


@pytest.mark.usefixtures("seeded")
async def test_hostile_values_in_every_filter_and_form_field(client: Client) -> None:
    csrf = await data.sign_in(client, API_TOKEN)
    for path, name in FILTERS:
        for value in HOSTILE_VALUES:
            resp = await client.get(f"{path}?{name}={value}")
            _ok(resp.status, await resp.text())
        dup = await client.get(f"{path}?{name}=a&{name}=b")
        assert 400 <= dup.status < 500
    for value in HOSTILE_VALUES:
        for path in [
            f"/console/accounts/{value}",
            f"/console/accounts/acme/messages/{value}",
            f"/console/accounts/{value}/events",
        ]:
            resp = await client.get(path)
            _ok(resp.status, await resp.text())
            assert resp.status in (404, 200) or 400 <= resp.status < 500
        cancel = f"/console/accounts/acme/messages/{value}/cancel"
        resp = await client.post(cancel, data={"csrf": csrf, "extra": value})
        _ok(resp.status, await resp.text())
        resp = await client.post("/console/sign-in", data={"csrf": value, "token": value})
        _ok(resp.status, await resp.text())
    raw = await client.post(
        "/console/sign-out",
        data=b"csrf=%ff%fe&\x00=\xff",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    _ok(raw.status, await raw.text())
    big = await client.post("/console/sign-out", data={"csrf": "x" * 100_000})
    assert big.status == 413
    multipart = await client.post(
        "/console/sign-out",
        data=b"--b\r\nbroken",
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    _ok(multipart.status, await multipart.text())
    # Still signed in after all that.
    assert (await client.get("/console/", allow_redirects=False)).status == 200


async def test_pages_list_is_every_console_get_route(
    client: TestClient[web.Request, web.Application],
) -> None:
    routed = {
        r.resource.canonical
        for r in client.app.router.routes()
        if r.resource is not None
        and r.resource.canonical.startswith("/console/")
        and r.method == "GET"
        and "static" not in r.resource.canonical
    }
    shown = {
        re.sub(r"\?.*", "", p).replace("/acme", "/{id}").replace("/1", "/{message_id}")
        for p in PAGES
    }
    # The endpoint and sync pages are opened by tests/console/test_console_webhooks.py, the
    # reply-rules page by tests/console/test_console_replies.py.
    webhook_pages = {
        "/console/accounts/{id}/endpoints",
        "/console/accounts/{id}/endpoints/{eid}",
        "/console/accounts/{id}/syncs",
        "/console/accounts/{id}/replies",
    }
    assert routed - {"/console/sign-in"} == shown | webhook_pages


@pytest.mark.usefixtures("seeded")
async def test_a_hostile_token_name_is_shown_as_text(client: Client) -> None:
    hostile = await data.token(client, "*", ["read"], name="<script>alert(1)</script>")
    await data.sign_in(client, hostile["token"])
    home = await (await client.get("/console/")).text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in home and "<script>" not in home


@pytest.mark.usefixtures("seeded")
async def test_counts_stop_at_the_cap(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.store import account_stats

    monkeypatch.setattr(account_stats, "CAP", 2)
    await data.sign_in(client, API_TOKEN)
    page = await (await client.get("/console/accounts/acme")).text()
    followers = re.search(r"<dt>Followers</dt><dd>([^<]+)</dd>", page)
    assert followers is not None and followers.group(1) == "2+"
    assert re.search(r"<dt>Open windows</dt><dd>1</dd>", page)


async def test_messages_and_events_come_in_keyset_pages(client: Client, pool: asyncpg.Pool) -> None:
    await apihelp.create_account(client, "acme")
    for _ in range(55):
        await apihelp.enqueue(client, "acme", apihelp.text_message())
    await pool.execute(
        "INSERT INTO inbound_events (account_id, dedupe_key, openid, msg_type, create_time,"
        " fields) SELECT 'acme', 'k' || n, 'o' || n, 'text', now(), '{}'::jsonb"
        " FROM generate_series(1, 60) AS n"
    )
    await data.sign_in(client, API_TOKEN)
    for path, item, first in [
        ("/console/accounts/acme/messages", r'/messages/(\d+)"', 50),
        ("/console/accounts/acme/events", r'followers\?openid=o(\d+)"', 50),
    ]:
        page = await (await client.get(path)).text()
        seen = re.findall(item, page)
        assert len(seen) == first
        more = re.search(r'class="more" href="\?cursor=([^"&]+)', page)
        assert more is not None
        rest = await (await client.get(f"{path}?cursor={more.group(1)}")).text()
        later = re.findall(item, rest)
        assert later and not set(later) & set(seen)
        assert 'class="more"' not in rest
        assert len(seen) + len(later) in (55, 60)
