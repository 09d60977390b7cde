"""The worker's side of webhook delivery in the store: lanes held, deliveries claimed (each a
frozen ClaimedWebhook, built here and only here), given back and recorded, and the queue
gauges. Driver errors leave as gateway/store/errors' (Unavailable, Retryable)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg

from gateway.store import errors, pool, queries, webhooks

Key = tuple[str, str]  # (account_id, endpoint_id): a lane
Held = tuple[str, int]  # (account_id, delivery id)


@dataclasses.dataclass(frozen=True, slots=True)
class HeldLane:
    """A lane a worker holds after a wh_lanes statement."""

    account_id: str
    endpoint_id: str
    rate_limit: int | None


@dataclasses.dataclass(frozen=True, slots=True)
class ClaimedWebhook:
    """A delivery leased to a worker with what its request needs: the endpoint (URL,
    secrets) and the stored event (`row_id` None: no longer stored, retention)."""

    account_id: str
    id: int
    endpoint_id: str
    openid: str  # the follower-order key ('' for none)
    event_type: str
    attempts: int  # made before this one
    url: str
    secret: str
    previous_secret: str | None
    previous_expires_at: dt.datetime | None
    inbound: bool  # a stored callback (inbound_events), else a webhook_events row
    row_id: int | None
    event_created_at: dt.datetime | None
    in_openid: str | None  # the callback's columns (inbound only)
    in_create_time: dt.datetime | None
    in_fields: Mapping[str, str] | None
    in_raw_xml: str | None
    data: Mapping[str, Any] | None  # the event's data (not inbound)

    @property
    def held(self) -> Held:
        return (self.account_id, self.id)

    def active_secrets(self, now: dt.datetime) -> tuple[str, ...]:
        """The secrets that sign a request now: the current one, and the previous one for
        24 hours after a rotation."""
        return webhooks.signing_secrets(
            self.secret, self.previous_secret, self.previous_expires_at, now
        )


def _claimed(r: asyncpg.Record) -> ClaimedWebhook:
    return ClaimedWebhook(
        r["account_id"],
        r["id"],
        r["endpoint_id"],
        r["openid"],
        r["event_type"],
        r["attempts"],
        r["url"],
        r["secret"],
        r["previous_secret"],
        r["previous_expires_at"],
        r["inbound"],
        r["row_id"],
        r["event_created_at"],
        r["in_openid"],
        r["in_create_time"],
        r["in_fields"],
        r["in_raw_xml"],
        r["data"],
    )


@dataclasses.dataclass(frozen=True)
class Outcome:
    """One attempt's result. `next_at` None with `ok` False: the delivery has failed."""

    account_id: str
    delivery_id: int
    ok: bool
    http_status: int | None
    error: str | None
    latency_ms: float
    response: str | None
    at: dt.datetime
    next_at: dt.datetime | None


@dataclasses.dataclass(frozen=True, slots=True)
class Depth:
    """Pending deliveries of one endpoint."""

    account_id: str
    endpoint_id: str
    depth: int


def _columns(pairs: Sequence[tuple[Any, Any]]) -> list[list[Any]]:
    return [[p[0] for p in pairs], [p[1] for p in pairs]]


async def lanes(
    conn: pool.Connection,
    now: dt.datetime,
    until: dt.datetime,
    *,
    worker_id: str,
    mine: Sequence[Key],
    held: Sequence[Held],
    take: int,
    renew: bool = True,
) -> list[HeldLane]:
    """If `renew`, renew until `until` the lanes `mine` and the leases of the deliveries
    `held`; take up to `take` free lanes with due work (SKIP LOCKED), none of `mine`. Returns
    the lanes renewed and taken: when renewing, one of `mine` missing is lost."""
    with errors.translated():
        rows = await conn.fetch(
            queries.get("wh_lanes"),
            now,
            worker_id,
            until,
            *_columns(mine),
            *_columns(held),
            take,
            renew,
        )
    return [HeldLane(r["account_id"], r["id"], r["rate_limit"]) for r in rows]


async def claim(
    conn: pool.Connection,
    now: dt.datetime,
    until: dt.datetime,
    *,
    worker_id: str,
    wants: Sequence[tuple[str, str, int]],
) -> list[ClaimedWebhook]:
    """Lease until `until` up to n due deliveries of each held lane (account, endpoint, n),
    with what their requests need; see wh_claim for the follower-order rule."""
    with errors.translated():
        rows = await conn.fetch(
            queries.get("wh_claim"),
            now,
            worker_id,
            until,
            [w[0] for w in wants],
            [w[1] for w in wants],
            [w[2] for w in wants],
        )
    return [_claimed(r) for r in rows]


async def release_lanes(
    conn: pool.Connection,
    worker_id: str,
    now: dt.datetime,
    lanes_: Sequence[Key],
    unsent: Sequence[Held],
    rate_window: float,
) -> None:
    """Give back idle lanes and claimed deliveries that were not sent."""
    with errors.translated():
        await conn.execute(
            queries.get("wh_lanes_release"),
            worker_id,
            now,
            *_columns(lanes_),
            *_columns(unsent),
            rate_window,
        )


async def record(
    conn: pool.Connection,
    worker_id: str,
    outcomes: Sequence[Outcome],
    disable_after: dt.timedelta,
) -> tuple[dict[Held, str], list[Key]]:
    """Write attempts and outcomes in one statement. Returns the new status of each delivery
    recorded (rows taken over by another worker are absent) and the endpoints disabled."""
    with errors.translated():
        rows = await conn.fetch(
            queries.get("wh_record"), worker_id, disable_after, *_outcome_columns(outcomes)
        )
    statuses = {(r["account_id"], r["id"]): r["status"] for r in rows if r["kind"] == "delivery"}
    disabled = [(r["account_id"], r["endpoint_id"]) for r in rows if r["kind"] == "disabled"]
    return statuses, disabled


def _outcome_columns(outcomes: Sequence[Outcome]) -> list[list[Any]]:
    return [
        [o.account_id for o in outcomes],
        [o.delivery_id for o in outcomes],
        [o.ok for o in outcomes],
        [o.http_status for o in outcomes],
        [o.error for o in outcomes],
        [o.latency_ms for o in outcomes],
        [o.response for o in outcomes],
        [o.at for o in outcomes],
        [o.next_at for o in outcomes],
    ]


async def queue_depths(conn: pool.Connection, limit: int) -> list[Depth]:
    """Pending deliveries of the `limit` deepest endpoints."""
    with errors.translated():
        rows = await conn.fetch(queries.get("wh_queue_depth"), limit)
    return [Depth(r["account_id"], r["endpoint_id"], r["depth"]) for r in rows]


async def disabled_endpoints(conn: pool.Connection) -> int:
    with errors.translated():
        return int(await conn.fetchval(queries.get("wh_disabled_count")) or 0)
