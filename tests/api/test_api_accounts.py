"""`/api/v1/accounts` over HTTP: creation, secrets never answered, PATCH, upgrade, downgrade."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import pytest

from gateway.api import keys
from gateway.store import accounts as accounts_store
from tests.api import apihelp
from tests.api.apihelp import Client
from tests.api.conftest import AUTH

SECRET_FIELDS = {"app_secret", "token", "encoding_aes_key", "previous_aes_key"}


async def test_create_returns_signing_key_once(client: Client, pool: asyncpg.Pool) -> None:
    created = await apihelp.create_account(client, "acme", encoding_aes_key=apihelp.AES_KEY)
    assert created["id"] == "acme"
    assert created["kind"] == "service"
    assert created["rule_profile"] == "seed"
    assert created["has_encoding_aes_key"] is True
    assert created["callback_url"] == "http://gateway.test/wechat/acme"
    assert len(created["oauth_signing_key"]) >= 43
    assert not SECRET_FIELDS & set(created)
    stored = await pool.fetchval("SELECT oauth_signing_key FROM accounts WHERE id = 'acme'")
    assert stored == created["oauth_signing_key"]

    got = await (await client.get("/api/v1/accounts/acme", headers=AUTH)).json()
    assert "oauth_signing_key" not in got
    assert not SECRET_FIELDS & set(got)
    assert got["has_encoding_aes_key"] is True


async def test_list_pages_by_id_without_secrets(client: Client) -> None:
    for name in ("c-3", "a-1", "b-2"):
        await apihelp.create_account(client, name)
    resp = await client.get("/api/v1/accounts", params={"limit": "2"}, headers=AUTH)
    page = await resp.json()
    assert [a["id"] for a in page["items"]] == ["a-1", "b-2"]
    assert page["next_cursor"]
    params = {"limit": "2", "cursor": page["next_cursor"]}
    last = await (await client.get("/api/v1/accounts", params=params, headers=AUTH)).json()
    assert [a["id"] for a in last["items"]] == ["c-3"]
    assert last["next_cursor"] is None
    for item in page["items"] + last["items"]:
        assert "oauth_signing_key" not in item and not SECRET_FIELDS & set(item)


@pytest.mark.parametrize("field", ["id", "app_id"])
async def test_duplicate_is_a_conflict(client: Client, field: str) -> None:
    first = await apihelp.create_account(client, "acme")
    body = apihelp.account_body("other")
    body[field] = first[field]
    resp = await client.post("/api/v1/accounts", json=body, headers=AUTH)
    err = await apihelp.error(resp, 409, "conflict")
    assert err["details"] == {"field": field}


INVALID_ACCOUNTS: list[tuple[dict[str, Any], str]] = [
    ({"id": "Acme"}, "id"),
    ({"id": "-acme"}, "id"),
    ({"id": "a" * 65}, "id"),
    ({"id": "acme\n"}, "id"),
    ({"kind": "enterprise"}, "kind"),
    ({"encoding_aes_key": "short"}, "encoding_aes_key"),
    ({"encoding_aes_key": "a" * 42 + "!"}, "encoding_aes_key"),
    ({"rule_profile": "wechat-2024"}, "rule_profile"),
    ({"oauth_redirect_hosts": ["https://evil.example"]}, "oauth_redirect_hosts"),
    ({"surprise": 1}, "surprise"),
    ({"app_secret": 12345}, "app_secret"),
    ({"token": "has space"}, "token"),
]


async def test_create_validation(client: Client, pool: asyncpg.Pool) -> None:
    for change, loc in INVALID_ACCOUNTS:
        body = apihelp.account_body(**change)
        resp = await client.post("/api/v1/accounts", json=body, headers=AUTH)
        assert resp.status == 422, (change, await resp.text())
        err = await apihelp.error(resp, 422, "validation_error")
        assert any(d["loc"][0] == loc for d in err["details"]), err["details"]
        assert all("input" not in d for d in err["details"])
    assert await pool.fetchval("SELECT count(*) FROM accounts") == 0


async def test_missing_fields_are_listed(client: Client) -> None:
    resp = await client.post("/api/v1/accounts", json={"id": "acme"}, headers=AUTH)
    err = await apihelp.error(resp, 422, "validation_error")
    missing = {d["loc"][0] for d in err["details"] if d["type"] == "missing"}
    assert missing == {"kind", "app_id", "app_secret", "token"}


async def test_malformed_json_is_bad_request(client: Client) -> None:
    for raw in (b"{not json", b"", b"\xff\xfe", b'{"id": NaN}', b'{"a": Infinity}', b"[" * 100_000):
        resp = await client.post("/api/v1/accounts", data=raw, headers=AUTH)
        assert resp.status == 400, raw[:20]
        await apihelp.error(resp, 400, "bad_request")


@pytest.mark.parametrize("text", ["nul\x00byte", "lone \ud800 surrogate"])
async def test_text_postgres_cannot_store_is_refused(client: Client, text: str) -> None:
    body = apihelp.account_body(original_id=text)
    raw = json.dumps(body).encode()
    resp = await client.post("/api/v1/accounts", data=raw, headers=AUTH)
    await apihelp.error(resp, 422, "validation_error")


async def test_sql_metacharacters_are_stored_verbatim(client: Client, pool: asyncpg.Pool) -> None:
    evil = "gh_'; DROP TABLE accounts; --\\$1"
    await apihelp.create_account(client, "acme", original_id=evil)
    assert await pool.fetchval("SELECT original_id FROM accounts WHERE id = 'acme'") == evil
    got = await (await client.get("/api/v1/accounts/acme", headers=AUTH)).json()
    assert got["original_id"] == evil


async def test_get_unknown_and_malformed_ids_are_not_found(client: Client) -> None:
    for path in ("/api/v1/accounts/nobody", "/api/v1/accounts/UPPER", "/api/v1/accounts/a%00b"):
        await apihelp.error(await client.get(path, headers=AUTH), 404, "not_found")
    resp = await client.patch("/api/v1/accounts/nobody", json={}, headers=AUTH)
    await apihelp.error(resp, 404, "not_found")


async def test_patch_rotates_secrets_and_keeps_previous_aes_key(
    client: Client, pool: asyncpg.Pool
) -> None:
    await apihelp.create_account(client, "acme", encoding_aes_key=apihelp.AES_KEY)
    new_key = "Z" * 43
    change = {
        "app_secret": "n3w-secret",
        "token": "n3w-token",
        "encoding_aes_key": new_key,
        "rule_profile": "wechat-2023",
        "oauth_redirect_hosts": ["Shop.Example.com", "localhost:3000"],
    }
    resp = await client.patch("/api/v1/accounts/acme", json=change, headers=AUTH)
    assert resp.status == 200
    body = await resp.json()
    assert body["oauth_signing_key"] is None
    assert body["rule_profile"] == "wechat-2023"
    assert body["oauth_redirect_hosts"] == ["shop.example.com", "localhost:3000"]
    assert body["has_previous_aes_key"] is True
    row = await pool.fetchrow("SELECT * FROM accounts WHERE id = 'acme'")
    assert row is not None
    assert (row["app_secret"], row["token"]) == ("n3w-secret", "n3w-token")
    assert (row["encoding_aes_key"], row["previous_aes_key"]) == (new_key, apihelp.AES_KEY)


async def test_patch_records_when_the_aes_key_was_replaced(
    client: Client, pool: asyncpg.Pool
) -> None:
    await apihelp.create_account(client, "acme", encoding_aes_key=apihelp.AES_KEY)
    before = await pool.fetchval("SELECT now()")
    resp = await client.patch(
        "/api/v1/accounts/acme", json={"encoding_aes_key": "Z" * 43}, headers=AUTH
    )
    assert resp.status == 200
    rotated = await pool.fetchval("SELECT aes_key_rotated_at FROM accounts WHERE id = 'acme'")
    assert rotated is not None and rotated >= before
    # A PATCH that leaves the key (or gives the same one) is no rotation: the time stays.
    for change in ({"token": "other"}, {"encoding_aes_key": "Z" * 43}):
        resp = await client.patch("/api/v1/accounts/acme", json=change, headers=AUTH)
        assert resp.status == 200
        again = await pool.fetchval("SELECT aes_key_rotated_at FROM accounts WHERE id = 'acme'")
        assert again == rotated


async def test_patch_null_removes_aes_key_and_leaves_others(
    client: Client, pool: asyncpg.Pool
) -> None:
    await apihelp.create_account(client, "acme", encoding_aes_key=apihelp.AES_KEY)
    resp = await client.patch(
        "/api/v1/accounts/acme", json={"encoding_aes_key": None, "token": None}, headers=AUTH
    )
    body = await resp.json()
    assert body["has_encoding_aes_key"] is False
    row = await pool.fetchrow("SELECT * FROM accounts WHERE id = 'acme'")
    assert row is not None
    assert row["token"] == "tok3n"
    assert row["previous_aes_key"] == apihelp.AES_KEY


async def test_rotate_signing_key_returns_it_once(client: Client, pool: asyncpg.Pool) -> None:
    created = await apihelp.create_account(client, "acme")
    resp = await client.patch(
        "/api/v1/accounts/acme", json={"rotate_oauth_signing_key": True}, headers=AUTH
    )
    new_key = (await resp.json())["oauth_signing_key"]
    assert new_key and new_key != created["oauth_signing_key"]
    assert await pool.fetchval("SELECT oauth_signing_key FROM accounts") == new_key
    again = await client.patch("/api/v1/accounts/acme", json={}, headers=AUTH)
    assert (await again.json())["oauth_signing_key"] is None


async def test_downgrade_is_refused(client: Client, pool: asyncpg.Pool) -> None:
    await apihelp.create_account(client, "acme", kind="service")
    resp = await client.patch("/api/v1/accounts/acme", json={"kind": "subscription"}, headers=AUTH)
    await apihelp.error(resp, 409, "downgrade_not_allowed")
    assert await pool.fetchval("SELECT kind FROM accounts") == "service"


async def test_upgrade_wakes_held_deliveries(
    client: Client, pool: asyncpg.Pool, db_url: str
) -> None:
    await apihelp.create_account(client, "news", kind="subscription")
    msg = await apihelp.enqueue(client, "news", apihelp.text_message())
    await pool.execute(
        "UPDATE deliveries SET status = 'held', reason = 'window_closed', release_at = NULL,"
        " wait_for = 'interaction'"
    )
    listener = await asyncpg.connect(db_url)
    heard: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener("wxgate_release", lambda *args: heard.put_nowait(args[3]))
    try:
        resp = await client.patch("/api/v1/accounts/news", json={"kind": "service"}, headers=AUTH)
        body = await resp.json()
        assert body["kind"] == "service" and body["upgraded_at"] is not None
        assert await asyncio.wait_for(heard.get(), timeout=5) == "news"
    finally:
        await listener.close()
    row = await pool.fetchrow("SELECT release_at, status FROM deliveries")
    assert row is not None
    assert row["status"] == "held" and row["release_at"] is not None
    assert msg["status"] == "queued"


async def test_hooks_get_the_committed_row(client: Client) -> None:
    seen: list[accounts_store.Account] = []

    async def hook(account: accounts_store.Account) -> None:
        seen.append(account)

    async def broken(account: accounts_store.Account) -> None:
        raise RuntimeError("observer down")

    client.app[keys.ACCOUNT_CREATED_HOOKS].extend([broken, hook])
    client.app[keys.ACCOUNT_CHANGED_HOOKS].extend([hook, broken])
    await apihelp.create_account(client, "acme", encoding_aes_key=apihelp.AES_KEY)
    assert [a.id for a in seen] == ["acme"]
    assert seen[0].app_secret == "s3cret-app" and seen[0].encoding_aes_key
    resp = await client.patch("/api/v1/accounts/acme", json={"app_secret": "n3w"}, headers=AUTH)
    assert resp.status == 200
    assert [a.app_secret for a in seen] == ["s3cret-app", "n3w"]
