"""Helpers for the webhook delivery tests: a receiver that records what arrives and can be
told to fail, accounts and endpoints in SQL, callbacks stored through the real ingest path,
and a dispatcher driven with a settable clock."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

import aiohttp
import asyncpg
import pydantic
from aiohttp import web

from gateway import settings as settings_mod
from gateway.domain import kinds, window
from gateway.store import inbound, webhooks
from scheduler import webhooks as dispatch
from tests.integration.sched_helpers import Clock

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@dataclasses.dataclass
class Arrival:
    headers: dict[str, str]
    body: bytes

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]


class Receiver:
    """An aiohttp endpoint: records every request; `fail_first` answers 500 to the first n
    attempts of each webhook-id; `hang` never answers (until the test ends)."""

    def __init__(self) -> None:
        self.arrivals: list[Arrival] = []
        self.fail_first = 0
        self.status = 200
        self.hang = False
        self._seen: collections.Counter[str] = collections.Counter()
        self.release = asyncio.Event()
        self._arrived = asyncio.Event()

    async def wait_for(self, count: int, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Until `count` requests have arrived (bounded)."""
        async with asyncio.timeout(timeout):
            while len(self.arrivals) < count:
                self._arrived.clear()
                await self._arrived.wait()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        arrival = Arrival({k.lower(): v for k, v in request.headers.items()}, body)
        self.arrivals.append(arrival)
        self._arrived.set()
        self._seen[arrival.id] += 1
        if self.hang:
            await self.release.wait()
        if self._seen[arrival.id] <= self.fail_first:
            return web.Response(status=500, text="boom " * 400)
        return web.Response(status=self.status, text="ok")

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        return app

    def ids(self) -> list[str]:
        return [a.id for a in self.arrivals]


def settings(db_url: str, **extra: Any) -> settings_mod.Settings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "api_token": pydantic.SecretStr("t"),
        "webhook_allow_private": True,
        "webhook_retry_schedule": "5,10,20",
        "webhook_timeout": 2.0,
        **extra,
    }
    return settings_mod.Settings(**values)


async def add_account(pool: asyncpg.Pool, account_id: str = "acme") -> None:
    await pool.execute(
        "INSERT INTO accounts (id, kind, app_id, app_secret, token, oauth_signing_key)"
        " VALUES ($1, 'service', $2, 's', 't', 'k')",
        account_id,
        "wx" + account_id,
    )


async def add_endpoint(
    pool: asyncpg.Pool, url: str, types: list[str] | None = None, account_id: str = "acme"
) -> webhooks.Endpoint:
    return await webhooks.create_endpoint(
        pool,
        account_id,
        url=url,
        description=None,
        event_types=types,
        disabled=False,
        rate_limit=None,
    )


def record(n: int, openid: str, event: str | None = None) -> inbound.EventRecord:
    fields = {
        "ToUserName": "gh_1",
        "FromUserName": openid,
        "CreateTime": "1772366400",
        "MsgType": "event" if event else "text",
    }
    if event:
        fields["Event"] = event
    else:
        fields.update({"Content": f"hello {n}", "MsgId": str(n)})
    return inbound.EventRecord(
        account_id="acme",
        kind=kinds.AccountKind.SERVICE,
        profile=window.RuleProfile.SEED,
        dedupe_key=f"k{n}",
        openid=openid,
        msg_type="event" if event else "text",
        event=event,
        event_key=None,
        msg_id=None if event else n,
        create_time=T0,
        received_at=dt.datetime.now(dt.UTC),
        fields=fields,
        scene=None,
    )


async def store(pool: asyncpg.Pool, records: list[inbound.EventRecord]) -> None:
    async with pool.acquire() as conn:
        await inbound.store_batch(conn, records)


def clock() -> Clock:
    """A fixed clock a little ahead of the database's now() (deliveries are due at now())."""
    return Clock(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))


def dispatcher(
    cfg: settings_mod.Settings,
    pool: asyncpg.Pool,
    session: aiohttp.ClientSession,
    at: Clock,
    worker_id: str = "w1",
    jitter: Callable[[], float] | None = None,
    **options: Any,
) -> dispatch.Dispatcher:
    extra: dict[str, Any] = dict(options)
    if jitter is not None:
        extra["jitter"] = jitter
    return dispatch.Dispatcher(cfg, pool, session, worker_id=worker_id, clock=at, **extra)


async def attempts(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return list(
        await pool.fetch(
            "SELECT d.id, d.status, d.attempts, d.next_attempt_at, a.at, a.http_status, a.error,"
            " a.response FROM webhook_deliveries d JOIN webhook_attempts a"
            " ON a.account_id = d.account_id AND a.delivery_id = d.id ORDER BY d.id, a.id"
        )
    )
