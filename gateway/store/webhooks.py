"""Webhook endpoints and the outbox: the rows that make every stored event reach the
business's endpoints (SPEC 7). Deliveries are written in the caller's transaction."""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg

from gateway.domain import webhook_sign
from gateway.store import errors, pool, queries, rows

Db = pool.Connection | asyncpg.Pool
Key = tuple[str, str]  # (account_id, dedupe_key) of an inbound event


@dataclasses.dataclass(frozen=True, slots=True)
class Endpoint:
    """A business's webhook endpoint; `secret` is empty where the query does not read it (the
    list); the API shows it in the create and rotate answers only."""

    id: str
    url: str
    description: str | None
    event_types: list[str] | None
    disabled: bool
    disabled_reason: str | None
    rate_limit: int | None
    mode: str
    previous_expires_at: dt.datetime | None
    failing_since: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    secret: str = ""


def _endpoint(row: asyncpg.Record | None) -> Endpoint:
    if row is None:
        raise errors.NotFound("no such endpoint")
    return rows.build(Endpoint, row)


def new_endpoint_id() -> str:
    return "ep_" + secrets.token_hex(12)


async def outbox_inbound(conn: pool.Connection, keys: Sequence[Key]) -> None:
    """Queue the stored callbacks `keys` for every matching enabled endpoint (the general
    ingest path; the seed path does the same inside its one statement)."""
    await conn.execute(queries.get("wh_outbox_inbound"), [k[0] for k in keys], [k[1] for k in keys])


async def emit(
    conn: pool.Connection,
    account_id: str,
    event_type: str,
    openid: str | None,
    data: Mapping[str, Any],
) -> None:
    """Store a non-callback event (payment.*, oauth.*, marketing.*) and queue it, in the
    caller's transaction (outbound.* events are written by a trigger on transitions)."""
    await conn.execute(queries.get("wh_emit"), account_id, event_type, openid, dict(data))


async def create_endpoint(
    db: Db,
    account_id: str,
    *,
    url: str,
    description: str | None,
    event_types: Sequence[str] | None,
    disabled: bool,
    rate_limit: int | None,
    mode: str = "deliver",
) -> Endpoint:
    """A new endpoint with a fresh secret (returned here and by rotate only). A second
    endpoint in mode reply of one account is InvalidState (one per account)."""
    with errors.translated():  # the account's foreign key: NotFound; a second reply: InvalidState
        row = await db.fetchrow(
            queries.get("wh_endpoint_insert"),
            account_id,
            new_endpoint_id(),
            url,
            description,
            None if event_types is None else list(event_types),
            disabled,
            rate_limit,
            webhook_sign.new_secret(),
            mode,
        )
    assert row is not None
    return _endpoint(row)


async def list_endpoints(db: Db, account_id: str, after: str | None, limit: int) -> list[Endpoint]:
    found = await db.fetch(queries.get("wh_endpoint_list"), account_id, after, limit)
    return rows.build_all(Endpoint, found)


async def get_endpoint(db: Db, account_id: str, endpoint_id: str) -> Endpoint:
    return _endpoint(await db.fetchrow(queries.get("wh_endpoint_get"), account_id, endpoint_id))


async def update_endpoint(
    pool_: asyncpg.Pool, account_id: str, endpoint_id: str, change: Mapping[str, Any]
) -> Endpoint:
    """Apply the fields given in `change`; enabling again clears the disabled reason and
    the failure streak, and wakes the workers for the deliveries that waited."""
    async with pool_.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(queries.get("wh_endpoint_lock"), account_id, endpoint_id)
        if row is None:
            raise errors.NotFound("no such endpoint")
        merged = {**dict(row), **change}
        written = await conn.fetchrow(
            queries.get("wh_endpoint_write"),
            account_id,
            endpoint_id,
            merged["url"],
            merged["description"],
            merged["event_types"],
            merged["disabled"],
            merged["rate_limit"],
        )
        if row["disabled"] and not merged["disabled"]:
            await conn.execute(queries.get("wh_notify"))
    assert written is not None
    return _endpoint(written)


async def delete_endpoint(pool_: asyncpg.Pool, account_id: str, endpoint_id: str) -> Endpoint:
    """Delete an endpoint with its deliveries; returns the row deleted. The lock first waits
    for the statements writing deliveries for it (they hold FOR KEY SHARE) and holds off new
    ones; the delete then sees every delivery they wrote."""
    async with pool_.acquire() as conn, conn.transaction():
        if await conn.fetchrow(queries.get("wh_endpoint_lock"), account_id, endpoint_id) is None:
            raise errors.NotFound("no such endpoint")
        row = await conn.fetchrow(queries.get("wh_endpoint_delete"), account_id, endpoint_id)
    assert row is not None
    return _endpoint(row)


async def rotate_secret(db: Db, account_id: str, endpoint_id: str) -> Endpoint:
    """A new secret; the previous one signs too until 24 hours from now."""
    row = await db.fetchrow(
        queries.get("wh_endpoint_rotate"), account_id, endpoint_id, webhook_sign.new_secret()
    )
    return _endpoint(row)


def signing_secrets(
    secret: str, previous: str | None, expires: dt.datetime | None, now: dt.datetime
) -> tuple[str, ...]:
    """The secrets that sign a request now: the current one, and the previous one for 24
    hours after a rotation (`expires`)."""
    if previous and expires is not None and expires > now:
        return (str(secret), str(previous))
    return (str(secret),)
