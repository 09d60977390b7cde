"""`POST /api/v1/accounts/{id}/messages/{message_id}/retry`: a failed message (also one that
failed `outcome_unknown`) is queued again as a new send; anything else is 409."""

from __future__ import annotations

import asyncpg
import pytest

from gateway.store import message_status
from tests.api import apihelp
from tests.api.apihelp import Client
from tests.api.conftest import AUTH

OPENIDS = [apihelp.openid(1), apihelp.openid(2)]


@pytest.fixture(autouse=True)
async def account(client: Client, pool: asyncpg.Pool) -> None:
    await apihelp.create_account(client, "acme", kind="service")
    for who in OPENIDS:
        await apihelp.add_follower(pool, "acme", who)


async def _fail_unknown(pool: asyncpg.Pool, message_id: int) -> None:
    """What a worker leaves: the batch failed outcome_unknown, keeping its key and units."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO follower_mass_usage (account_id, openid, period, used)"
            " SELECT 'acme', o, '2026-12-01', 1 FROM unnest($1::text[]) AS o",
            OPENIDS,
        )
        await conn.execute(
            "UPDATE deliveries SET status = 'failed', reason = 'outcome_unknown',"
            " channel = 'mass_openids', client_msg_id = 'wxgate-m1-old', attempts = 1,"
            " quota_kind = 'follower_month', quota_key = '2026-12-01', unknown_since = now()"
            " WHERE account_id = 'acme' AND message_id = $1",
            message_id,
        )
        now = await conn.fetchval("SELECT now()")
        await message_status.refresh_messages(conn, [("acme", message_id)], now)


async def test_a_failed_message_is_queued_again_as_a_new_send(
    client: Client, pool: asyncpg.Pool
) -> None:
    body = {
        "type": "mass",
        "audience": {"openids": OPENIDS},
        "content": {"msgtype": "text", "text": {"content": "sale"}},
    }
    message = await apihelp.enqueue(client, "acme", body)
    keys_before = await pool.fetch("SELECT send_key FROM deliveries ORDER BY id")
    await _fail_unknown(pool, message["id"])
    url = f"/api/v1/accounts/acme/messages/{message['id']}"
    resp = await client.get(url, headers=AUTH)
    assert ((await resp.json())["status"], (await resp.json())["reason"]) == (
        "failed",
        "outcome_unknown",
    )

    resp = await client.post(url + "/retry", headers=AUTH)
    assert resp.status == 202, await resp.text()
    answer = await resp.json()
    assert (answer["status"], answer["reason"]) == ("queued", None)
    assert [h["status"] for h in answer["history"]][-2:] == ["failed", "queued"]
    rows = await pool.fetch("SELECT * FROM deliveries ORDER BY id")
    assert {(r["status"], r["channel"], r["client_msg_id"], r["unknown_since"]) for r in rows} == {
        ("queued", None, None, None)
    }
    assert {r["send_key"] for r in rows}.isdisjoint({r["send_key"] for r in keys_before})
    # the units the failed batch kept come back: the new send takes its own
    assert await pool.fetchval("SELECT sum(used) FROM follower_mass_usage") == 0

    resp = await client.post(url + "/retry", headers=AUTH)
    await apihelp.error(resp, 409, "conflict")  # queued: nothing to retry


async def test_only_failed_messages_can_be_retried(client: Client) -> None:
    message = await apihelp.enqueue(client, "acme", apihelp.text_message())
    resp = await client.post(f"/api/v1/accounts/acme/messages/{message['id']}/retry", headers=AUTH)
    await apihelp.error(resp, 409, "conflict")
    resp = await client.post("/api/v1/accounts/acme/messages/999999/retry", headers=AUTH)
    await apihelp.error(resp, 404, "not_found")
    resp = await client.post(f"/api/v1/accounts/acme/messages/{message['id']}/retry")
    assert resp.status == 401
