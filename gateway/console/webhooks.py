"""Console pages of an account's webhook endpoints (SPEC 7): the endpoints, one endpoint's
deliveries with their attempts (keyset pages, status filter), and the Retry button and
Replay form (the `send` scope), through the same store functions as the API."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import typing

import aiohttp_jinja2
from aiohttp import web

from gateway.api import bodies, errors, keys, webhooks
from gateway.console import access, filters
from gateway.console import session as sess
from gateway.console.pages import context
from gateway.domain import scopes, webhook_rules
from gateway.store import webhook_log
from gateway.store import webhooks as endpoints_store

PAGE = 25
# Attempts shown per delivery (the newest) and the characters shown of each answer.
ATTEMPTS = 10
ANSWER = 1024
ACCOUNT = "/console/accounts/{id}"
_DELIVERY_ID = re.compile(r"^[1-9][0-9]{0,18}$")


def _delivery_id(request: web.Request) -> int:
    value = request.match_info["did"]
    if not _DELIVERY_ID.fullmatch(value) or int(value) > 2**63 - 1:
        raise errors.ApiError("not_found", "no such delivery")
    return int(value)


def _newest_first(log: tuple[webhook_log.Attempt, ...]) -> tuple[webhook_log.Attempt, ...]:
    """A delivery's attempts as the page shows them: newest first, the answer's first KiB."""
    return tuple(
        dataclasses.replace(a, response=(a.response or "")[:ANSWER]) for a in reversed(log)
    )


async def endpoints_page(request: web.Request) -> web.Response:
    row = await access.account(request)
    query = filters.parse(request, filters.EndpointsQuery)
    after = bodies.text_cursor(query.cursor)
    rows = await endpoints_store.list_endpoints(request.app[keys.POOL], row.id, after, PAGE + 1)
    more = len(rows) > PAGE
    next_cursor = bodies.encode_cursor(rows[PAGE - 1].id) if more else None
    return aiohttp_jinja2.render_template(
        "endpoints.html",
        request,
        context(
            request,
            account=row,
            endpoints=rows[:PAGE],
            next_cursor=next_cursor,
            page="endpoints",
        ),
    )


async def endpoint_page(request: web.Request) -> web.Response:
    row = await access.account(request)
    eid = webhooks.endpoint_id(request)
    query = filters.parse(request, filters.DeliveriesQuery)
    before = bodies.int_cursor(query.cursor)
    pool = request.app[keys.POOL]
    endpoint = await endpoints_store.get_endpoint(pool, row.id, eid)
    rows = await webhook_log.list_deliveries(
        pool, row.id, eid, query.status, before, PAGE + 1, ATTEMPTS
    )
    more = len(rows) > PAGE
    next_cursor = bodies.encode_cursor(rows[PAGE - 1].id) if more else None
    shown = [dataclasses.replace(r, log=_newest_first(r.log)) for r in rows[:PAGE]]
    return aiohttp_jinja2.render_template(
        "endpoint.html",
        request,
        context(
            request,
            account=row,
            endpoint=endpoint,
            deliveries=shown,
            query=query,
            statuses=typing.get_args(filters.DeliveryStatus),
            next_cursor=next_cursor,
            can_send=access.grant(request).allows(scopes.SEND),
            shown_attempts=ATTEMPTS,
            page="endpoints",
        ),
    )


async def retry(request: web.Request) -> web.Response:
    row = await access.account(request)
    access.require(request, scopes.SEND)
    eid, did = webhooks.endpoint_id(request), _delivery_id(request)
    request[sess.SUMMARY] = f"retry delivery {did} of {eid}"
    pool = request.app[keys.POOL]
    await endpoints_store.get_endpoint(pool, row.id, eid)
    if await webhook_log.retry(pool, row.id, eid, did) is None:
        raise errors.ApiError("not_found", "no such delivery")
    return sess.redirect(f"/console/accounts/{row.id}/endpoints/{eid}?retried={did}")


async def replay(request: web.Request) -> web.Response:
    row = await access.account(request)
    access.require(request, scopes.SEND)
    eid = webhooks.endpoint_id(request)
    form = filters.parse_form(await sess.form(request), filters.ReplayForm)
    now = dt.datetime.now(dt.UTC)
    until = form.until or now
    refusal = webhook_rules.replay_period_error(form.since, until, now)
    if refusal is not None:
        raise errors.ApiError("validation_error", f"cannot replay: {refusal}")
    pool = request.app[keys.POOL]
    await endpoints_store.get_endpoint(pool, row.id, eid)
    count = await webhook_log.replay(pool, row.id, eid, form.since, until, form.types)
    request[sess.SUMMARY] = f"replay {count} events to {eid}"
    return sess.redirect(f"/console/accounts/{row.id}/endpoints/{eid}?replayed={count}")


def register(router: web.UrlDispatcher) -> None:
    """The endpoint pages under /console/accounts/{id}/endpoints."""
    router.add_get(ACCOUNT + "/endpoints", endpoints_page)
    router.add_get(ACCOUNT + "/endpoints/{eid}", endpoint_page)
    router.add_post(ACCOUNT + "/endpoints/{eid}/deliveries/{did}/retry", retry)
    router.add_post(ACCOUNT + "/endpoints/{eid}/replay", replay)
