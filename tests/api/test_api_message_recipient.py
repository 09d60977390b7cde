"""`GET .../messages/{message_id}/recipients/{openid}`: one recipient's status, also for a
batched mass that keeps no row per recipient (issue 19: per-recipient status stays
answerable through the API)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import asyncpg
import pytest

from gateway.domain import periods
from gateway.store import mass_expansion
from tests.api import apihelp
from tests.api.apihelp import Client
from tests.api.conftest import AUTH

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
async def accounts(client: Client) -> None:
    await apihelp.create_account(client, "acme", kind="service")
    await apihelp.create_account(client, "other", kind="service")


def _url(message_id: int, openid: str, account: str = "acme") -> str:
    return f"/api/v1/accounts/{account}/messages/{message_id}/recipients/{openid}"


async def test_a_batched_mass_answers_each_recipient_from_its_batch_or_skip(
    client: Client, pool: asyncpg.Pool
) -> None:
    for n in range(4):
        await apihelp.add_follower(pool, "acme", apihelp.openid(n), subscribed=n != 3)
    now = dt.datetime.now(dt.UTC)
    # openid(0) has had its 4 mass messages this month: the expansion holds it until the next
    # month (the message lives 40 days, past that).
    await pool.execute(
        "INSERT INTO follower_mass_usage (account_id, openid, period, used)"
        " VALUES ('acme', $1, $2, 4)",
        apihelp.openid(0),
        periods.month_key(now, SHANGHAI),
    )
    body = {
        "type": "mass",
        "audience": {"all": True},
        "content": {"msgtype": "mpnews", "mpnews": {"media_id": "m-1"}},
        "expires_at": (now + dt.timedelta(days=40)).isoformat(),
    }
    msg = await apihelp.enqueue(client, "acme", body)
    # Before the worker expands it, nobody is a recipient yet.
    resp = await client.get(_url(msg["id"], apihelp.openid(1)), headers=AUTH)
    await apihelp.error(resp, 404, "not_found")
    async with pool.acquire() as conn:
        later = dt.datetime.now(dt.UTC)  # the message's release_at is its enqueue time
        expanded, _ = await mass_expansion.expand_due(conn, later, SHANGHAI, 10)
    assert expanded == 1
    # The batch carries openid(1) and openid(2); only the held openid(0) has a delivery row.
    assert await pool.fetchval("SELECT array_agg(openid) FROM deliveries") == [apihelp.openid(0)]

    resp = await client.get(_url(msg["id"], apihelp.openid(1)), headers=AUTH)
    assert resp.status == 200
    got = await resp.json()
    assert got == {
        "message_id": msg["id"],
        "openid": apihelp.openid(1),
        "status": "queued",
        "reason": None,
        "batch": 0,
        "msgid": None,
        "errcode": None,
        "errmsg": None,
    }
    resp = await client.get(_url(msg["id"], apihelp.openid(0)), headers=AUTH)
    held = await resp.json()
    assert (held["status"], held["reason"], held["batch"]) == ("held", "mass_quota_exhausted", None)
    # Unsubscribed before the expansion: not a recipient.
    resp = await client.get(_url(msg["id"], apihelp.openid(3)), headers=AUTH)
    await apihelp.error(resp, 404, "not_found")


async def test_a_delivery_is_answered_and_unknowns_are_404(
    client: Client, pool: asyncpg.Pool
) -> None:
    msg = await apihelp.enqueue(client, "acme", apihelp.text_message(to=apihelp.openid(7)))
    resp = await client.get(_url(msg["id"], apihelp.openid(7)), headers=AUTH)
    assert resp.status == 200
    got = await resp.json()
    assert (got["status"], got["batch"], got["openid"]) == ("queued", None, apihelp.openid(7))
    not_recipient = await apihelp.error(
        await client.get(_url(msg["id"], apihelp.openid(8)), headers=AUTH), 404, "not_found"
    )
    assert "not a recipient" in not_recipient["message"]
    no_message = await apihelp.error(
        await client.get(_url(msg["id"] + 1000, apihelp.openid(7)), headers=AUTH),
        404,
        "not_found",
    )
    assert "no such message" in no_message["message"]
    # Another account's message is not found through this account.
    await apihelp.error(
        await client.get(_url(msg["id"], apihelp.openid(7), account="other"), headers=AUTH),
        404,
        "not_found",
    )
    # Without a token: 401, nothing answered.
    resp = await client.get(_url(msg["id"], apihelp.openid(7)))
    assert resp.status == 401
