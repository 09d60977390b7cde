"""The delivery log of an endpoint, retry of one delivery, replay of a period, and the
stored callbacks as webhook payloads for polling (SPEC 7)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re

from aiohttp import web

from gateway.api import bodies, errors, keys, responses
from gateway.api.models import webhooks
from gateway.domain import webhook_payload, webhook_rules
from gateway.store import accounts as accounts_store
from gateway.store import webhook_log as store
from gateway.store import webhooks as endpoints_store

log = logging.getLogger(__name__)

_DELIVERY_ID = re.compile(r"^[1-9][0-9]{0,18}$")


def _delivery_id(request: web.Request) -> int:
    value = request.match_info["did"]
    if not _DELIVERY_ID.fullmatch(value) or int(value) > 2**63 - 1:
        raise errors.ApiError("not_found", "no such delivery")
    return int(value)


def _delivery(row: store.Delivery) -> webhooks.Delivery:
    event_id = None
    if row.row_id is not None:
        event_id = webhook_payload.event_id(row.inbound, row.row_id)
    return webhooks.Delivery(
        id=row.id,
        event_id=event_id,
        event_type=row.event_type,
        status=row.status,
        next_attempt_at=row.next_attempt_at if row.status == "pending" else None,
        created_at=row.created_at,
        attempts=[webhooks.Attempt(**dataclasses.asdict(a)) for a in row.log],
    )


async def list_deliveries(request: web.Request) -> web.Response:
    account_id, eid = bodies.account_id(request), bodies.endpoint_id(request)
    query = bodies.parse_query(request, webhooks.DeliveryQuery)
    before = bodies.int_cursor(query.cursor)
    pool = request.app[keys.POOL]
    await endpoints_store.get_endpoint(pool, account_id, eid)
    rows = await store.list_deliveries(pool, account_id, eid, query.status, before, query.limit + 1)
    items = [_delivery(r) for r in rows[: query.limit]]
    more = len(rows) > query.limit
    cursor = bodies.encode_cursor(items[-1].id) if more else None
    return responses.ok(webhooks.DeliveryPage(items=items, next_cursor=cursor))


async def retry_delivery(request: web.Request) -> web.Response:
    account_id, eid = bodies.account_id(request), bodies.endpoint_id(request)
    did = _delivery_id(request)
    pool = request.app[keys.POOL]
    await endpoints_store.get_endpoint(pool, account_id, eid)
    row = await store.retry(pool, account_id, eid, did)
    if row is None:
        raise errors.ApiError("not_found", "no such delivery")
    rows = await store.list_deliveries(pool, account_id, eid, None, did + 1, 1)
    log.info(
        "webhook delivery retried",
        extra={"action": "delivery_retry", "account_id": account_id, "endpoint_id": eid},
    )
    return responses.ok(_delivery(rows[0]), status=202)


async def replay(request: web.Request) -> web.Response:
    account_id, eid = bodies.account_id(request), bodies.endpoint_id(request)
    body = await bodies.read_json(request, webhooks.Replay)
    now = dt.datetime.now(dt.UTC)
    until = body.until or now
    refusal = webhook_rules.replay_period_error(body.since, until, now)
    if refusal is not None:
        raise errors.ApiError(
            "validation_error",
            "request is invalid",
            [{"type": "period", "loc": ["since"], "msg": refusal}],
        )
    pool = request.app[keys.POOL]
    await endpoints_store.get_endpoint(pool, account_id, eid)
    count = await store.replay(pool, account_id, eid, body.since, until, body.event_types)
    log.info(
        "webhook replay of %d events",
        count,
        extra={"action": "replay", "account_id": account_id, "endpoint_id": eid},
    )
    return responses.ok(webhooks.ReplayAccepted(count=count), status=202)


def inbound_payload(account_id: str, row: store.Inbound) -> webhooks.Payload:
    """A stored callback as the payload its webhook carries."""
    value = webhook_payload.payload(
        webhook_payload.event_id(True, row.id),
        webhook_rules.inbound_type(row.msg_type, row.event),
        account_id,
        row.received_at,
        webhook_payload.callback_data(row.openid, row.create_time, row.fields, row.raw_xml),
    )
    return webhooks.Payload(**value)


async def list_inbound(request: web.Request) -> web.Response:
    account_id = bodies.account_id(request)
    query = bodies.parse_query(request, webhooks.InboundQuery)
    after = bodies.int_cursor(query.cursor)
    pool = request.app[keys.POOL]
    await accounts_store.get_account(pool, account_id)
    rows = await store.list_inbound(
        pool,
        account_id,
        openid=query.openid,
        event_type=query.type,
        since=query.since,
        until=query.until,
        after=after,
        limit=query.limit + 1,
    )
    items = [inbound_payload(account_id, r) for r in rows[: query.limit]]
    more = len(rows) > query.limit
    cursor = bodies.encode_cursor(rows[query.limit - 1].id) if more else None
    return responses.ok(webhooks.InboundPage(items=items, next_cursor=cursor))
