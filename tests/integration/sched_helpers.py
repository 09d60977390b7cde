"""Helpers for the scheduler's integration tests: rows inserted with plain SQL (the API and the
inbound path are exercised elsewhere), the mock platform on loopback, a callback sink, and a
clock tests can move."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway import settings as settings_mod
from gateway.mock import app as mock_app
from gateway.wechat import client as wx
from scheduler import options, ratelimit

ServerFactory = Callable[..., Awaitable[TestServer]]
TEXT = {"msgtype": "text", "text": {"content": "hello"}}
TEMPLATE = {"template_id": "tpl-1", "data": {"thing1": {"value": "order shipped"}}}

FAST = options.Options(
    limits=ratelimit.Limits(
        calls_per_second=1_000_000,
        burst=1_000_000,
        mass_calls_per_minute=1_000_000,
        concurrency_per_account=32,
    ),
    claim_per_account=1000,
    claim_total=2000,
)


class Clock:
    """A settable clock for the worker and the mock."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._fixed = start

    def __call__(self) -> dt.datetime:
        return self._fixed if self._fixed is not None else dt.datetime.now(dt.UTC)

    def set(self, at: dt.datetime) -> None:
        self._fixed = at

    def advance(self, **delta: float) -> dt.datetime:
        self._fixed = self() + dt.timedelta(**delta)
        return self._fixed


# --- database rows ------------------------------------------------------------------------


async def add_account(
    db: asyncpg.Pool, account_id: str, kind: str, *, profile: str = "seed"
) -> None:
    await db.execute(
        "INSERT INTO accounts (id, kind, app_id, app_secret, token, rule_profile,"
        " oauth_signing_key) VALUES ($1, $2, $3, $4, 'tok', $5, 'k')",
        account_id,
        kind,
        app_id(account_id),
        secret(account_id),
        profile,
    )


def app_id(account_id: str) -> str:
    return f"wx{account_id}"


def secret(account_id: str) -> str:
    return f"secret-{account_id}"


async def add_followers(
    db: asyncpg.Pool,
    account_id: str,
    openids: Sequence[str],
    *,
    subscribed: bool = True,
    window_ends_at: dt.datetime | None = None,
    window_remaining: int | None = None,
) -> None:
    await db.execute(
        "INSERT INTO followers (account_id, openid, subscribed, window_ends_at, window_remaining)"
        " SELECT $1, o, $3, $4, $5 FROM unnest($2::text[]) AS o",
        account_id,
        list(openids),
        subscribed,
        window_ends_at,
        window_remaining,
    )


async def add_messages(
    db: asyncpg.Pool,
    account_id: str,
    type_: str,
    recipients: Sequence[Sequence[str | None]],
    *,
    at: dt.datetime,
    content: dict[str, Any] | None = None,
    template: dict[str, Any] | None = None,
    audience: dict[str, Any] | None = None,
    outside_window: str = "hold",
    expires_at: dt.datetime | None = None,
    contents: Sequence[dict[str, Any]] | None = None,
) -> list[int]:
    """One message per element of `recipients` (its delivery openids), all due at `at`;
    returns the message ids in order. `contents` gives each message its own content. Two
    statements whatever the count."""
    expires = expires_at or at + dt.timedelta(days=7)
    if content is None and type_ != "template":
        content = TEXT
    if type_ == "template" and template is None:
        template = TEMPLATE
    per_message = list(contents) if contents is not None else [content] * len(recipients)
    ids = await db.fetch(
        "INSERT INTO messages (account_id, type, recipient, audience, content, template,"
        " outside_window, status, release_at, expires_at, recipients_total)"
        " SELECT $1, $2, r, $3, c, $4, $5, 'queued', $6, $7, n"
        " FROM unnest($8::text[], $9::int[], $10::jsonb[]) WITH ORDINALITY AS t (r, n, c, ord)"
        " ORDER BY ord RETURNING id",
        account_id,
        type_,
        audience,
        template,
        outside_window,
        at,
        expires,
        [r[0] if len(r) == 1 else None for r in recipients],
        [len(r) for r in recipients],
        per_message,
    )
    message_ids = [r["id"] for r in ids]
    flat_ids = [m for m, r in zip(message_ids, recipients, strict=True) for _ in r]
    flat_openids = [o for r in recipients for o in r]
    await db.execute(
        "INSERT INTO deliveries (account_id, message_id, openid, status, release_at)"
        " SELECT $1, m, o, 'queued', $4 FROM unnest($2::bigint[], $3::text[]) AS t (m, o)",
        account_id,
        flat_ids,
        flat_openids,
        at,
    )
    return message_ids


async def delivery_statuses(db: asyncpg.Pool, account_id: str) -> dict[str, int]:
    rows = await db.fetch(
        "SELECT status, count(*) AS n FROM deliveries WHERE account_id = $1 GROUP BY status",
        account_id,
    )
    return {r["status"]: r["n"] for r in rows}


async def deliveries_of(db: asyncpg.Pool, account_id: str, message_id: int) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT * FROM deliveries WHERE account_id = $1 AND message_id = $2 ORDER BY id",
        account_id,
        message_id,
    )


async def message(db: asyncpg.Pool, account_id: str, message_id: int) -> asyncpg.Record:
    row = await db.fetchrow(
        "SELECT * FROM messages WHERE account_id = $1 AND id = $2", account_id, message_id
    )
    assert row is not None
    return row


async def history(db: asyncpg.Pool, account_id: str, message_id: int) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT status, reason, detail FROM message_transitions"
        " WHERE account_id = $1 AND message_id = $2 ORDER BY id",
        account_id,
        message_id,
    )


# --- the mock platform and a callback sink ------------------------------------------------


@dataclasses.dataclass
class Mock:
    """The mock WeChat platform on loopback, driven through its control API."""

    base: str
    session: aiohttp.ClientSession

    async def _json(self, method: str, path: str, body: Any = None) -> Any:
        async with self.session.request(method, self.base + path, json=body) as resp:
            text = await resp.text()
            assert resp.status < 300, f"{method} {path}: {resp.status} {text}"
            return json.loads(text)

    async def register(
        self, account_id: str, kind: str, callback_url: str, profile: str = "seed"
    ) -> None:
        body = {
            "app_id": app_id(account_id),
            "app_secret": secret(account_id),
            "kind": kind,
            "token": "tok",
            "callback_url": callback_url,
            "rule_profile": profile,
        }
        await self._json("POST", "/_mock/accounts", body)

    async def act(self, account_id: str, openid: str, action: str, **extra: Any) -> None:
        path = f"/_mock/accounts/{app_id(account_id)}/followers/{openid}/actions"
        await self._json("POST", path, {"action": action, **extra})

    async def act_many(
        self, account_id: str, openids: Sequence[str], action: str, **extra: Any
    ) -> None:
        limit = asyncio.Semaphore(32)

        async def one(openid: str) -> None:
            async with limit:
                await self.act(account_id, openid, action, **extra)

        await asyncio.gather(*(one(o) for o in openids))

    async def sent(self, account_id: str) -> list[dict[str, Any]]:
        answer = await self._json("GET", f"/_mock/accounts/{app_id(account_id)}/sent")
        sent: list[dict[str, Any]] = answer["sent"]
        return sent

    async def account(self, account_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = await self._json("GET", f"/_mock/accounts/{app_id(account_id)}")
        return answer

    async def follower(self, account_id: str, openid: str) -> dict[str, Any]:
        path = f"/_mock/accounts/{app_id(account_id)}/followers/{openid}"
        answer: dict[str, Any] = await self._json("GET", path)
        return answer

    async def fault(self, **fault: Any) -> None:
        await self._json("POST", "/_mock/faults", fault)

    async def clear_faults(self) -> None:
        await self._json("DELETE", "/_mock/faults")

    async def invalidate_tokens(self, account_id: str) -> None:
        await self._json("POST", f"/_mock/accounts/{app_id(account_id)}/tokens/invalidate")

    async def wait_sent(
        self, account_id: str, count: int, *, path: str | None = None, within: float = 10.0
    ) -> list[dict[str, Any]]:
        """The sent log once it holds `count` delivered records (of `path`), bounded."""
        deadline = time.monotonic() + within
        while True:
            records = [
                r
                for r in await self.sent(account_id)
                if r["delivered"] and (path is None or r["path"] == path)
            ]
            if len(records) >= count:
                return records
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(records)} of {count} sends within {within}s")
            await asyncio.sleep(0.005)


async def _sink(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(text="success")


async def start_sink(aiohttp_server: ServerFactory) -> str:
    """A callback URL that answers every push `success` (stands in for the gateway)."""
    app = web.Application()
    app.router.add_post("/{tail:.*}", _sink)
    server = await aiohttp_server(app)
    return str(server.make_url("/wechat"))


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Serve `app` on 127.0.0.1 like the real platform: a request whose client went away is
    still carried out (aiohttp's test server would cancel it instead)."""
    runner = web.AppRunner(app, handler_cancellation=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def platform(
    aiohttp_server: ServerFactory, clock: Clock | None = None
) -> AsyncIterator[tuple[Mock, wx.WeChatClient, str]]:
    """The mock platform, a WeChat client pointed at it, and a callback sink URL."""
    sink = await start_sink(aiohttp_server)
    app = mock_app.create_mock_app(clock=clock, job_finish_delay=60.0)
    async with serve(app) as base, aiohttp.ClientSession() as session:
        mock = Mock(base, session)
        yield mock, wx.WeChatClient(session, mock.base, timeout=5.0), sink


def settings(db_url: str, api_base: str) -> settings_mod.Settings:
    return settings_mod.Settings(database_url=db_url, wechat_api_base=api_base)
