"""Helpers for the /api/v1 tests: accounts, followers and messages made through HTTP or SQL."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.api.conftest import AUTH

Client = TestClient[web.Request, web.Application]

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
_app_ids = itertools.count(1)


def openid(n: int) -> str:
    """A 28-character openid like WeChat's."""
    return f"oAbCdEfGhIjKlMnOpQr{n:09d}"


def account_body(account_id: str = "acme", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": account_id,
        "kind": "service",
        "app_id": f"wx{next(_app_ids):016x}",
        "app_secret": "s3cret-app",
        "token": "tok3n",
    }
    body.update(fields)
    return body


async def create_account(client: Client, account_id: str = "acme", **fields: Any) -> Any:
    resp = await client.post(
        "/api/v1/accounts", json=account_body(account_id, **fields), headers=AUTH
    )
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def add_follower(
    pool: asyncpg.Pool,
    account_id: str,
    who: str,
    *,
    subscribed: bool = True,
    window_ends_at: dt.datetime | None = None,
    window_remaining: int | None = None,
    **columns: Any,
) -> None:
    names = ["account_id", "openid", "subscribed", "window_ends_at", "window_remaining", *columns]
    values = [account_id, who, subscribed, window_ends_at, window_remaining, *columns.values()]
    marks = ", ".join(f"${i}" for i in range(1, len(values) + 1))
    await pool.execute(
        f"INSERT INTO followers ({', '.join(names)}) VALUES ({marks})",  # test-only column names
        *values,
    )


def text_message(to: str = "", content: str = "hi", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "customer_service",
        "to": to or openid(1),
        "content": {"msgtype": "text", "text": {"content": content}},
    }
    body.update(fields)
    return body


async def enqueue(client: Client, account_id: str, body: dict[str, Any], **kw: Any) -> Any:
    headers = {**AUTH, **kw.pop("headers", {})}
    resp = await client.post(f"/api/v1/accounts/{account_id}/messages", json=body, headers=headers)
    assert resp.status == 202, await resp.text()
    return await resp.json()


async def error(resp: Any, status: int, code: str) -> dict[str, Any]:
    """Assert the error shape, status and code; return the error object."""
    assert resp.status == status, await resp.text()
    body = await resp.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    result: dict[str, Any] = body["error"]
    return result
