"""Console test data: accounts with followers, held, queued and sent messages and stored
callbacks, made through the API where it can and with SQL for what only the scheduler and the
callback path write; and signing in through the console's own form."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import asyncpg

from tests.api import apihelp
from tests.api.apihelp import Client
from tests.api.conftest import AUTH

HOSTILE = "<script>alert('x')</script>&\"'"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def seed(client: Client, pool: asyncpg.Pool, account_id: str = "acme") -> dict[str, Any]:
    """One service account: two followers (one window open), a sent, a held and a queued
    message, and three stored callbacks (one carries hostile text). Returns their ids."""
    await apihelp.create_account(client, account_id)
    now = dt.datetime.now(dt.UTC)
    await apihelp.add_follower(
        pool,
        account_id,
        apihelp.openid(1),
        window_ends_at=now + dt.timedelta(hours=40),
        last_interaction_at=now,
        last_interaction="text",
    )
    await apihelp.add_follower(pool, account_id, apihelp.openid(2))
    ids = {}
    for name in ("sent", "held", "queued"):
        message = await apihelp.enqueue(client, account_id, apihelp.text_message(content=name))
        ids[name] = message["id"]
    await pool.execute(
        "UPDATE messages SET status = 'sent' WHERE account_id = $1 AND id = $2",
        account_id,
        ids["sent"],
    )
    await pool.execute(
        "UPDATE deliveries SET status = 'sent', sent_at = now() WHERE account_id = $1"
        " AND message_id = $2",
        account_id,
        ids["sent"],
    )
    await pool.execute(
        "UPDATE messages SET status = 'held', reason = 'window_closed' WHERE account_id = $1"
        " AND id = $2",
        account_id,
        ids["held"],
    )
    await pool.execute(
        "UPDATE deliveries SET status = 'held', reason = 'window_closed' WHERE account_id = $1"
        " AND message_id = $2",
        account_id,
        ids["held"],
    )
    await pool.execute(
        "INSERT INTO message_transitions (account_id, message_id, status, reason)"
        " VALUES ($1, $2, 'held', 'window_closed')",
        account_id,
        ids["held"],
    )
    events = [
        ("subscribe", apihelp.openid(1), {"MsgType": "event", "Event": "subscribe"}),
        ("text", apihelp.openid(1), {"MsgType": "text", "Content": HOSTILE, "MsgId": "1"}),
        ("scan", apihelp.openid(2), {"MsgType": "event", "Event": "SCAN", "EventKey": "fair"}),
    ]
    for n, (kind, who, fields) in enumerate(events):
        full = {"ToUserName": "gh_acme", "FromUserName": who, "CreateTime": "1700000000", **fields}
        await pool.execute(
            "INSERT INTO inbound_events (account_id, dedupe_key, openid, msg_type, event,"
            " event_key, msg_id, create_time, received_at, fields) VALUES ($1, $2, $3, $4, $5,"
            " $6, $7, now(), now() - make_interval(mins => $9::int * 9), $8)",
            account_id,
            f"k{n}-{kind}",
            who,
            fields["MsgType"],
            fields.get("Event"),
            fields.get("EventKey"),
            fields.get("MsgId"),
            full,
            n,
        )
    return ids


def csrf_of(page: str) -> str:
    match = _CSRF.search(page)
    assert match, "no CSRF field on the page"
    return html.unescape(match.group(1))


async def sign_in(client: Client, token: str) -> str:
    """Sign in through the form; returns the session's CSRF token."""
    page = await (await client.get("/console/sign-in")).text()
    resp = await client.post(
        "/console/sign-in", data={"csrf": csrf_of(page), "token": token}, allow_redirects=False
    )
    assert resp.status == 303, await resp.text()
    assert resp.headers["Location"] == "/console/"
    home = await client.get("/console/")
    assert home.status == 200
    return csrf_of(await home.text())


async def token(client: Client, accounts: Any, scopes: list[str], name: str = "ops") -> Any:
    body = {"name": name, "accounts": accounts, "scopes": scopes}
    resp = await client.post("/api/v1/tokens", json=body, headers=AUTH)
    assert resp.status == 201
    return await resp.json()
