"""The benchmarks' world: accounts and followers on both sides (the gateway's database, by
SQL, and the mock platform, through its bench routes), API calls, and the mock's sent log."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import asyncpg

from bench import common

SECRET = "bench-app-secret"
TOKEN = "benchtoken"
DIGITS = 22  # openids are 28 characters, like the platform's: a 6-character prefix + digits


def openid(prefix: str, n: int) -> str:
    return f"{prefix}{n:0{DIGITS}d}"


def app_id(account_id: str) -> str:
    return ("wx" + account_id.encode().hex() + "0" * 16)[:18]


async def sql_account(conn: asyncpg.Connection, account_id: str, kind: str = "service") -> None:
    await conn.execute(
        "INSERT INTO accounts (id, kind, app_id, app_secret, token, oauth_signing_key)"
        " VALUES ($1, $2, $3, $4, $5, 'bench-signing-key')",
        account_id,
        kind,
        app_id(account_id),
        SECRET,
        TOKEN,
    )


async def sql_followers(
    conn: asyncpg.Connection, account_id: str, prefix: str, count: int, window_open: bool = True
) -> float:
    """`count` subscribed followers (openid(prefix, 0..count-1)); returns the seconds taken."""
    start = time.monotonic()
    await conn.execute(
        "INSERT INTO followers (account_id, openid, subscribed, subscribed_at,"
        "                       last_interaction_at, last_interaction, window_ends_at)"
        " SELECT $1, $2 || lpad(g::text, $3, '0'), true, now() - interval '30 days',"
        "        i, 'message', i + interval '48 hours'"
        "   FROM generate_series(0, $4 - 1) AS g,"
        "        LATERAL (SELECT now() - CASE WHEN $5 THEN interval '1 hour'"
        "                                     ELSE interval '3 days' END AS i) AS t",
        account_id,
        prefix,
        DIGITS,
        count,
        window_open,
    )
    return time.monotonic() - start


async def register_mock(
    session: aiohttp.ClientSession, mock: str, account_id: str, callback_url: str, kind: str
) -> None:
    body = {
        "app_id": app_id(account_id),
        "app_secret": SECRET,
        "kind": kind,
        "token": TOKEN,
        "callback_url": callback_url,
    }
    async with session.post(f"{mock}/_mock/accounts", json=body) as resp:
        resp.raise_for_status()


async def mock_followers(
    session: aiohttp.ClientSession,
    mock: str,
    account_id: str,
    prefix: str,
    count: int,
    window_open: bool = True,
) -> None:
    for start in range(0, count, 20_000):
        body = {
            "app_id": app_id(account_id),
            "openids": [openid(prefix, n) for n in range(start, min(count, start + 20_000))],
            "window": "open" if window_open else "closed",
        }
        async with session.post(f"{mock}/_bench/followers", json=body) as resp:
            resp.raise_for_status()


async def mock_token(session: aiohttp.ClientSession, mock: str, account_id: str) -> str:
    body = {"grant_type": "client_credential", "appid": app_id(account_id), "secret": SECRET}
    async with session.post(f"{mock}/cgi-bin/stable_token", json=body) as resp:
        return str((await resp.json())["access_token"])


class SentLog:
    """The mock's sent log of one account, read incrementally."""

    def __init__(self, session: aiohttp.ClientSession, mock: str, account_id: str) -> None:
        self.session = session
        self.url = f"{mock}/_bench/sent/{app_id(account_id)}"
        self.entries: list[list[Any]] = []

    async def fetch(self) -> list[list[Any]]:
        async with self.session.get(self.url, params={"since": len(self.entries)}) as resp:
            resp.raise_for_status()
            fresh: list[list[Any]] = (await resp.json())["sent"]
        self.entries.extend(fresh)
        return fresh

    async def wait(self, done: Any, timeout: float, poll: float = 0.25) -> bool:  # noqa: ASYNC109
        """Fetch until `done(entries)` is true or `timeout` seconds pass."""
        deadline = time.monotonic() + timeout
        while True:
            await self.fetch()
            if done(self.entries):
                return True
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(poll)


class Api:
    """The gateway's internal API."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base
        self.headers = {"Authorization": f"Bearer {common.API_TOKEN}"}

    async def create_account(self, account_id: str, kind: str = "service") -> None:
        body = {
            "id": account_id,
            "kind": kind,
            "app_id": app_id(account_id),
            "app_secret": SECRET,
            "token": TOKEN,
        }
        async with self.session.post(
            f"{self.base}/api/v1/accounts", json=body, headers=self.headers
        ) as resp:
            if resp.status != 201:
                raise RuntimeError(f"account not created: {resp.status} {await resp.text()}")

    async def enqueue(self, account_id: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        async with self.session.post(
            f"{self.base}/api/v1/accounts/{account_id}/messages", json=body, headers=self.headers
        ) as resp:
            return resp.status, await resp.json()


def text(content: str) -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": content}}
