"""`/api/v1/accounts/{id}/endpoints`: the business's webhook endpoints (SPEC 7). The secret
is in the create and rotate answers only, and never logged."""

from __future__ import annotations

import logging

from aiohttp import web

from gateway import webhook_net
from gateway.api import bodies, errors, keys, models, responses
from gateway.api.models import webhooks
from gateway.store import accounts as accounts_store
from gateway.store import webhooks as store

log = logging.getLogger(__name__)

# The console's endpoint pages parse the path segment the same way.
endpoint_id = bodies.endpoint_id


def resource(row: store.Endpoint) -> webhooks.Endpoint:
    return webhooks.Endpoint(
        id=row.id,
        url=row.url,
        description=row.description,
        event_types=row.event_types,
        disabled=row.disabled,
        disabled_reason=row.disabled_reason,
        rate_limit=row.rate_limit,
        mode=row.mode,
        previous_secret_expires_at=row.previous_expires_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _with_secret(row: store.Endpoint) -> webhooks.EndpointWithSecret:
    return webhooks.EndpointWithSecret(**resource(row).model_dump(), secret=row.secret)


async def _check_destination(request: web.Request, url: str) -> None:
    allow = request.app[keys.SETTINGS].webhook_allow_private
    refusal = await webhook_net.check_destination(url, allow)
    if refusal is not None:
        raise errors.ApiError(
            "validation_error",
            "request is invalid",
            [{"type": "destination", "loc": ["url"], "msg": refusal}],
        )


async def create_endpoint(request: web.Request) -> web.Response:
    account_id = bodies.account_id(request)
    body = await bodies.read_json(request, webhooks.NewEndpoint)
    pool = request.app[keys.POOL]
    await accounts_store.get_account(pool, account_id)
    await _check_destination(request, body.url)
    row = await store.create_endpoint(
        pool,
        account_id,
        url=body.url,
        description=body.description,
        event_types=body.event_types,
        disabled=body.disabled,
        rate_limit=body.rate_limit,
        mode=body.mode,
    )
    log.info(
        "webhook endpoint created",
        extra={"action": "endpoint_create", "account_id": account_id, "endpoint_id": row.id},
    )
    return responses.ok(_with_secret(row), status=201)


async def list_endpoints(request: web.Request) -> web.Response:
    account_id = bodies.account_id(request)
    query = bodies.parse_query(request, models.PageQuery)
    after = bodies.text_cursor(query.cursor)
    pool = request.app[keys.POOL]
    await accounts_store.get_account(pool, account_id)
    rows = await store.list_endpoints(pool, account_id, after, query.limit + 1)
    items = [resource(r) for r in rows[: query.limit]]
    more = len(rows) > query.limit
    return responses.ok(
        webhooks.EndpointPage(
            items=items, next_cursor=bodies.encode_cursor(items[-1].id) if more else None
        )
    )


async def get_endpoint(request: web.Request) -> web.Response:
    account_id, eid = bodies.account_id(request), bodies.endpoint_id(request)
    row = await store.get_endpoint(request.app[keys.POOL], account_id, eid)
    return responses.ok(resource(row))


async def update_endpoint(request: web.Request) -> web.Response:
    account_id, eid = bodies.account_id(request), bodies.endpoint_id(request)
    body = await bodies.read_json(request, webhooks.EndpointChange)
    change = {name: getattr(body, name) for name in body.model_fields_set}
    if body.url is not None:
        await store.get_endpoint(request.app[keys.POOL], account_id, eid)
        await _check_destination(request, body.url)
    row = await store.update_endpoint(request.app[keys.POOL], account_id, eid, change)
    log.info(
        "webhook endpoint changed",
        extra={"action": "endpoint_update", "account_id": account_id, "endpoint_id": eid},
    )
    return responses.ok(resource(row))


async def delete_endpoint(request: web.Request) -> web.Response:
    account_id, eid = bodies.account_id(request), bodies.endpoint_id(request)
    row = await store.delete_endpoint(request.app[keys.POOL], account_id, eid)
    log.info(
        "webhook endpoint deleted",
        extra={"action": "endpoint_delete", "account_id": account_id, "endpoint_id": eid},
    )
    return responses.ok(resource(row))


async def rotate_secret(request: web.Request) -> web.Response:
    account_id, eid = bodies.account_id(request), bodies.endpoint_id(request)
    row = await store.rotate_secret(request.app[keys.POOL], account_id, eid)
    log.info(
        "webhook secret rotated",
        extra={"action": "endpoint_rotate", "account_id": account_id, "endpoint_id": eid},
    )
    return responses.ok(_with_secret(row))
