"""Messages after enqueue: idempotency, reading with history, keyset listing, cancel."""

from __future__ import annotations

import asyncio
import datetime as dt

import asyncpg
import pytest

from tests.api import apihelp
from tests.api.apihelp import Client
from tests.api.conftest import AUTH

URL = "/api/v1/accounts/acme/messages"


@pytest.fixture(autouse=True)
async def account(client: Client) -> None:
    await apihelp.create_account(client, "acme", kind="service")
    await apihelp.create_account(client, "other", kind="service")


async def test_same_key_same_body_returns_the_original(client: Client, pool: asyncpg.Pool) -> None:
    body = apihelp.text_message(idempotency_key="order-42")
    first = await apihelp.enqueue(client, "acme", body)
    resp = await client.post(URL, json=body, headers=AUTH)
    assert resp.status == 200
    assert (await resp.json())["id"] == first["id"]
    # The same key with the same request through the header, and an equal instant spelled
    # in another offset, is the same request.
    header = {"Idempotency-Key": "order-42"}
    again = dict(body)
    del again["idempotency_key"]
    resp = await client.post(URL, json=again, headers={**AUTH, **header})
    assert resp.status == 200
    assert await pool.fetchval("SELECT count(*) FROM messages") == 1
    assert first["idempotency_key"] == "order-42"


async def test_same_key_other_body_is_a_conflict(client: Client, pool: asyncpg.Pool) -> None:
    await apihelp.enqueue(client, "acme", apihelp.text_message(idempotency_key="k1"))
    resp = await client.post(
        URL, json=apihelp.text_message(content="changed", idempotency_key="k1"), headers=AUTH
    )
    await apihelp.error(resp, 409, "idempotency_conflict")
    # Keys are per account.
    await apihelp.enqueue(
        client, "other", apihelp.text_message(content="changed", idempotency_key="k1")
    )
    assert await pool.fetchval("SELECT count(*) FROM messages") == 2


async def test_equal_instants_hash_the_same(client: Client) -> None:
    utc = apihelp.text_message(expires_at="2099-01-01T00:00:00Z", idempotency_key="t")
    shanghai = apihelp.text_message(expires_at="2099-01-01T08:00:00+08:00", idempotency_key="t")
    first = await apihelp.enqueue(client, "acme", utc)
    resp = await client.post(URL, json=shanghai, headers=AUTH)
    assert resp.status == 200 and (await resp.json())["id"] == first["id"]


async def test_header_and_body_keys_must_agree(client: Client) -> None:
    body = apihelp.text_message(idempotency_key="a")
    resp = await client.post(URL, json=body, headers={**AUTH, "Idempotency-Key": "b"})
    await apihelp.error(resp, 422, "validation_error")
    resp = await client.post(
        URL, json=apihelp.text_message(), headers={**AUTH, "Idempotency-Key": "k" * 256}
    )
    await apihelp.error(resp, 422, "validation_error")


async def test_racing_same_key_creates_one(client: Client, pool: asyncpg.Pool) -> None:
    body = apihelp.text_message(idempotency_key="race")
    answers = await asyncio.gather(*(client.post(URL, json=body, headers=AUTH) for _ in range(8)))
    statuses = sorted(r.status for r in answers)
    assert statuses == [200] * 7 + [202]
    ids = {(await r.json())["id"] for r in answers}
    assert len(ids) == 1
    assert await pool.fetchval("SELECT count(*) FROM messages") == 1
    assert await pool.fetchval("SELECT count(*) FROM deliveries") == 1


async def test_get_shows_history_and_wechat_answer(client: Client, pool: asyncpg.Pool) -> None:
    msg = await apihelp.enqueue(client, "acme", apihelp.text_message())
    await pool.execute(
        "UPDATE messages SET status = 'failed', attempts = 2, wechat_msgid = '3717005636572528642',"
        " errcode = 45015, errmsg = 'response out of time limit' WHERE id = $1",
        msg["id"],
    )
    await pool.execute(
        "INSERT INTO message_transitions (account_id, message_id, status, reason, detail)"
        " VALUES ('acme', $1, 'held', 'window_closed', '{\"wait_for\": \"interaction\"}'),"
        " ('acme', $1, 'failed', NULL, '{\"errcode\": 45015}')",
        msg["id"],
    )
    resp = await client.get(f"{URL}/{msg['id']}", headers=AUTH)
    body = await resp.json()
    assert body["status"] == "failed" and body["attempts"] == 2
    assert body["msgid"] == "3717005636572528642"
    assert (body["errcode"], body["errmsg"]) == (45015, "response out of time limit")
    assert [(h["status"], h["reason"]) for h in body["history"]] == [
        ("queued", None),
        ("held", "window_closed"),
        ("failed", None),
    ]
    assert body["history"][1]["detail"] == {"wait_for": "interaction"}


async def test_get_unknown_message_is_not_found(client: Client) -> None:
    for message_id in ("999", "abc", "0", "-1", "99999999999999999999", "1.5", "%C2%B2"):
        resp = await client.get(f"{URL}/{message_id}", headers=AUTH)
        assert resp.status == 404, message_id
        await apihelp.error(resp, 404, "not_found")


async def test_messages_are_scoped_to_their_account(client: Client) -> None:
    msg = await apihelp.enqueue(client, "acme", apihelp.text_message())
    resp = await client.get(f"/api/v1/accounts/other/messages/{msg['id']}", headers=AUTH)
    await apihelp.error(resp, 404, "not_found")
    resp = await client.delete(f"/api/v1/accounts/other/messages/{msg['id']}", headers=AUTH)
    await apihelp.error(resp, 404, "not_found")


async def test_list_newest_first_in_pages_with_status(client: Client, pool: asyncpg.Pool) -> None:
    ids = [(await apihelp.enqueue(client, "acme", apihelp.text_message(content=str(n))))["id"]
           for n in range(5)]  # fmt: skip
    await pool.execute("UPDATE messages SET status = 'sent' WHERE id = ANY($1)", ids[1::2])

    async def collect(params: dict[str, str]) -> list[int]:
        seen: list[int] = []
        cursor = None
        while True:
            query = {**params, "limit": "2", **({"cursor": cursor} if cursor else {})}
            page = await (await client.get(URL, params=query, headers=AUTH)).json()
            seen += [m["id"] for m in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                return seen

    assert await collect({}) == ids[::-1]
    assert await collect({"status": "sent"}) == [ids[3], ids[1]]
    assert await collect({"status": "queued"}) == [ids[4], ids[2], ids[0]]
    resp = await client.get(URL, params={"status": "lost"}, headers=AUTH)
    await apihelp.error(resp, 422, "validation_error")
    resp = await client.get("/api/v1/accounts/ghost/messages", headers=AUTH)
    await apihelp.error(resp, 404, "not_found")


async def test_cancel_then_cancel_again(client: Client, pool: asyncpg.Pool) -> None:
    ids = [apihelp.openid(n) for n in range(3)]
    msg = await apihelp.enqueue(
        client, "acme", {"type": "mass", "audience": {"openids": ids},
                         "content": {"msgtype": "text", "text": {"content": "x"}}}
    )  # fmt: skip
    # A retried mass batch keeps the quota unit it consumed; cancel gives it back.
    period = dt.date.today().replace(day=1)
    await pool.execute(
        "UPDATE deliveries SET status = 'held', reason = 'retry_backoff',"
        " quota_kind = 'follower_month', quota_key = $2 WHERE openid = $1",
        ids[0],
        period,
    )
    await pool.execute("INSERT INTO follower_mass_usage VALUES ('acme', $1, $2, 1)", ids[0], period)
    resp = await client.delete(f"{URL}/{msg['id']}", headers=AUTH)
    assert resp.status == 200
    body = await resp.json()
    assert body["status"] == "canceled"
    assert body["recipients"]["canceled"] == 3 and body["recipients"]["total"] == 3
    assert body["history"][-1]["status"] == "canceled"
    assert body["history"][-1]["detail"]["recipients"] == {"canceled": 3}
    statuses = await pool.fetch("SELECT DISTINCT status, release_at FROM deliveries")
    assert [(r["status"], r["release_at"]) for r in statuses] == [("canceled", None)]
    assert await pool.fetchval("SELECT used FROM follower_mass_usage") == 0
    again = await client.delete(f"{URL}/{msg['id']}", headers=AUTH)
    await apihelp.error(again, 409, "conflict")


async def test_cancel_leaves_rows_being_sent(client: Client, pool: asyncpg.Pool) -> None:
    ids = [apihelp.openid(n) for n in range(3)]
    content = {"msgtype": "text", "text": {"content": "x"}}
    msg = await apihelp.enqueue(
        client, "acme", {"type": "mass", "audience": {"openids": ids}, "content": content}
    )
    await pool.execute("UPDATE deliveries SET status = 'sending' WHERE openid = $1", ids[0])
    await pool.execute("UPDATE messages SET status = 'sending'")
    body = await (await client.delete(f"{URL}/{msg['id']}", headers=AUTH)).json()
    assert body["status"] == "sending"
    assert body["recipients"]["sending"] == 1 and body["recipients"]["canceled"] == 2
    # Nothing left to cancel: the rest is in flight.
    resp = await client.delete(f"{URL}/{msg['id']}", headers=AUTH)
    await apihelp.error(resp, 409, "conflict")


@pytest.mark.parametrize("status", ["sent", "delivered", "failed", "expired"])
async def test_cancel_after_terminal_is_a_conflict(
    client: Client, pool: asyncpg.Pool, status: str
) -> None:
    msg = await apihelp.enqueue(client, "acme", apihelp.text_message())
    await pool.execute("UPDATE messages SET status = $1", status)
    await pool.execute("UPDATE deliveries SET status = $1", status)
    err = await apihelp.error(
        await client.delete(f"{URL}/{msg['id']}", headers=AUTH), 409, "conflict"
    )
    assert status in err["message"]


async def test_metrics_count_enqueue_and_cancel(client: Client) -> None:
    def value(text: str, status: str) -> float:
        for line in text.splitlines():
            if line.startswith("wxgate_messages_total{") and f'status="{status}"' in line:
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    before = await (await client.get("/metrics")).text()
    msg = await apihelp.enqueue(client, "acme", apihelp.text_message())
    await client.delete(f"{URL}/{msg['id']}", headers=AUTH)
    resp = await client.get("/metrics")
    assert resp.status == 200 and resp.content_type == "text/plain"
    after = await resp.text()
    assert value(after, "queued") == value(before, "queued") + 1
    assert value(after, "canceled") == value(before, "canceled") + 1
    for name in (
        "wxgate_callbacks_total",
        "wxgate_release_latency_seconds",
        "wxgate_wechat_calls_total",
    ):
        assert f"# TYPE {name.removesuffix('_total')}" in after
