"""The payment parts of the internal API: pay settings by PATCH (never returned), red packs
and coupons on the queue, and the list of notified payments."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests import paykeys
from tests.api import apihelp
from tests.api.conftest import AUTH

Client = TestClient[web.Request, web.Application]
CONFIG = {
    "mch_id": paykeys.MCH_ID,
    "apiv3_key": paykeys.APIV3_KEY,
    "platform_certificate": paykeys.pem(),
}
TO = apihelp.openid(1)


async def _patch(client: Client, account_id: str, body: dict[str, Any]) -> Any:
    return await client.patch(f"/api/v1/accounts/{account_id}", json=body, headers=AUTH)


def _red_pack(**extra: Any) -> dict[str, Any]:
    body = {"amount": 100, "wishing": "Thanks", "act_name": "Gift"}
    return {"type": "red_pack", "to": TO, "red_pack": body, **extra}


async def test_pay_settings_are_written_never_answered(client: Client, pool: asyncpg.Pool) -> None:
    created = await apihelp.create_account(client)
    assert created["has_pay_config"] is False
    resp = await _patch(client, "acme", {"pay": {"mch_id": paykeys.MCH_ID}})
    assert resp.status == 200 and (await resp.json())["has_pay_config"] is False  # partial
    resp = await _patch(client, "acme", {"pay": CONFIG})
    body = await resp.json()
    assert resp.status == 200 and body["has_pay_config"] is True
    text = await resp.text()
    assert paykeys.APIV3_KEY not in text and "BEGIN CERTIFICATE" not in text
    got = await (await client.get("/api/v1/accounts/acme", headers=AUTH)).json()
    assert got["has_pay_config"] is True
    listed = await (await client.get("/api/v1/accounts", headers=AUTH)).text()
    assert paykeys.APIV3_KEY not in listed
    row = await pool.fetchrow("SELECT * FROM accounts WHERE id = 'acme'")
    assert row is not None and row["pay_cert_serial"] == paykeys.serial()
    # Only the given fields change; the rest of the account is untouched.
    resp = await _patch(client, "acme", {"pay": {"apiv3_key": "Z" * 32}, "rule_profile": "seed"})
    row = await pool.fetchrow("SELECT * FROM accounts WHERE id = 'acme'")
    assert row is not None
    assert (row["pay_apiv3_key"], row["pay_mch_id"]) == ("Z" * 32, paykeys.MCH_ID)
    assert row["pay_previous_cert_pem"] is None  # the same certificate is no rotation


@pytest.mark.parametrize(
    "pay",
    [
        {"mch_id": "abc"},
        {"apiv3_key": "too-short"},
        {"platform_certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"},
        {"unknown": "x"},
        "not an object",
    ],
)
async def test_invalid_pay_settings(client: Client, pay: Any) -> None:
    await apihelp.create_account(client)
    err = await apihelp.error(await _patch(client, "acme", {"pay": pay}), 422, "validation_error")
    assert err["details"]


async def test_pay_settings_need_a_service_account(client: Client) -> None:
    await apihelp.create_account(client, "news", kind="subscription")
    err = await apihelp.error(
        await _patch(client, "news", {"pay": CONFIG}), 403, "capability_not_available"
    )
    assert "cannot receive payments" in err["message"]
    assert err["details"] == {"capability": "payments"}
    # Upgrading in the same request is fine.
    resp = await _patch(client, "news", {"kind": "service", "pay": CONFIG})
    body = await resp.json()
    assert resp.status == 200 and (body["kind"], body["has_pay_config"]) == ("service", True)
    await apihelp.error(await _patch(client, "nobody", {"pay": CONFIG}), 404, "not_found")


async def test_red_packs_and_coupons_on_the_queue(client: Client) -> None:
    await apihelp.create_account(client)
    err = await apihelp.error(
        await client.post("/api/v1/accounts/acme/messages", json=_red_pack(), headers=AUTH),
        409,
        "conflict",
    )
    assert "merchant id" in err["message"]
    await _patch(client, "acme", {"pay": CONFIG})
    message = await apihelp.enqueue(client, "acme", _red_pack(not_before="2030-01-01T00:00:00Z"))
    # Before its not_before it waits, shown as such (SPEC 2.2).
    assert (message["type"], message["to"], message["status"], message["reason"]) == (
        "red_pack",
        TO,
        "held",
        "not_before",
    )
    assert message["content"] == {
        "red_pack": {"amount": 100, "wishing": "Thanks", "act_name": "Gift"}
    }
    coupon = {"type": "coupon", "to": TO, "coupon": {"stock_id": "9856888"}}
    message = await apihelp.enqueue(client, "acme", coupon)
    assert message["content"] == {"coupon": {"stock_id": "9856888"}}
    listed = await (await client.get("/api/v1/accounts/acme/messages", headers=AUTH)).json()
    assert [m["type"] for m in listed["items"]] == ["coupon", "red_pack"]


@pytest.mark.parametrize(
    "body",
    [
        _red_pack(red_pack={"amount": 99, "wishing": "x", "act_name": "y"}),
        _red_pack(red_pack={"amount": 20001, "wishing": "x", "act_name": "y"}),
        _red_pack(outside_window="reach"),
        _red_pack(to="not an openid"),
        {"type": "coupon", "to": TO, "coupon": {}},
    ],
)
async def test_invalid_payment_messages(client: Client, body: dict[str, Any]) -> None:
    await apihelp.create_account(client)
    resp = await client.post("/api/v1/accounts/acme/messages", json=body, headers=AUTH)
    await apihelp.error(resp, 422, "validation_error")


async def test_payment_list_pages(client: Client, pool: asyncpg.Pool) -> None:
    await apihelp.create_account(client)
    for n in range(3):
        await pool.execute(
            "INSERT INTO payments (account_id, transaction_id, openid, amount_total,"
            " trade_state, transaction) VALUES ('acme', $1, $2, 100, 'SUCCESS', '{}')",
            f"42{n}",
            apihelp.openid(n % 2),
        )
    first = await (await client.get("/api/v1/accounts/acme/payments?limit=2", headers=AUTH)).json()
    assert [p["transaction_id"] for p in first["items"]] == ["422", "421"]
    rest = await (
        await client.get(
            f"/api/v1/accounts/acme/payments?cursor={first['next_cursor']}", headers=AUTH
        )
    ).json()
    assert [p["transaction_id"] for p in rest["items"]] == ["420"] and rest["next_cursor"] is None
    one = await (
        await client.get(f"/api/v1/accounts/acme/payments?openid={apihelp.openid(1)}", headers=AUTH)
    ).json()
    assert [p["transaction_id"] for p in one["items"]] == ["421"]
    resp = await client.get("/api/v1/accounts/nobody/payments", headers=AUTH)
    await apihelp.error(resp, 404, "not_found")
