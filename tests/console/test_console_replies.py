"""The console's read-only reply-rules page (SPEC 8, 10): no page without a session, the
rules in order with what each matches and answers, the default reply and the reply endpoint;
hostile names and replies are escaped."""

from __future__ import annotations

import asyncpg

from tests.api.apihelp import Client
from tests.api.conftest import API_TOKEN, AUTH
from tests.console import data

PAGE = "/console/accounts/acme/replies"
HOSTILE = "<script>alert('x')</script>"


async def _rules(client: Client) -> None:
    body = {
        "rules": [
            {
                "name": HOSTILE,
                "match": {"on": "subscribe"},
                "reply": {"msgtype": "text", "text": {"content": "Welcome " + HOSTILE}},
            },
            {
                "name": "hours",
                "match": {"on": "text", "keyword": "hours", "mode": "contains"},
                "reply": {"msgtype": "news", "news": {"articles": [{"title": "Open 9-18"}]}},
            },
            {
                "name": "codes",
                "match": {"on": "text", "regex": "^[0-9]{6}$"},
                "reply": {"msgtype": "transfer_customer_service"},
            },
        ],
        "default_reply": {"msgtype": "text", "text": {"content": "Sorry?"}},
    }
    resp = await client.put("/api/v1/accounts/acme/reply-rules", json=body, headers=AUTH)
    assert resp.status == 200, await resp.text()


async def test_the_page_shows_the_rules_and_the_endpoint(
    client: Client, pool: asyncpg.Pool
) -> None:
    await data.seed(client, pool, "acme")
    resp = await client.get(PAGE, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/console/sign-in"
    await data.sign_in(client, API_TOKEN)
    empty = await (await client.get(PAGE)).text()
    assert 'id="no-rules"' in empty and "None. An endpoint created with" in empty
    await _rules(client)
    made = await client.post(
        "/api/v1/accounts/acme/endpoints",
        json={"url": "https://replies.example.com/hook", "mode": "reply"},
        headers=AUTH,
    )
    assert made.status == 201
    html = await (await client.get(PAGE)).text()
    assert html.count('<tr class="rule">') == 3
    assert HOSTILE not in html and "&lt;script&gt;" in html
    assert "subscribe (QR code too)" in html
    assert "text contains “hours”" in html and "news: Open 9-18" in html
    assert "text matching /^[0-9]{6}$/ (RE2)" in html and "to customer service" in html
    assert "Sorry?" in html and "https://replies.example.com/hook" in html
    assert "Version 1" in html
    nav = await (await client.get("/console/accounts/acme")).text()
    assert 'href="/console/accounts/acme/replies"' in nav
