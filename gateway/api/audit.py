"""`GET /api/v1/audit` (administrator only): every change made through the API or the
console, newest first, in keyset pages, filtered by account, actor, token, method, time."""

from __future__ import annotations

import dataclasses

from aiohttp import web

from gateway.api import bodies, keys, responses
from gateway.api.models import tokens
from gateway.store import audit as store


async def list_audit(request: web.Request) -> web.Response:
    query = bodies.parse_query(request, tokens.AuditQuery)
    before = bodies.int_cursor(query.cursor)
    where = store.Filter(
        account_id=query.account_id,
        actor=query.actor,
        token_id=query.token_id,
        method=query.method,
        since=query.since,
        until=query.until,
    )
    rows = await store.list_entries(request.app[keys.POOL], where, before, query.limit + 1)
    items = [tokens.AuditEntry(**dataclasses.asdict(r)) for r in rows[: query.limit]]
    next_cursor = bodies.encode_cursor(items[-1].id) if len(rows) > query.limit else None
    return responses.ok(tokens.AuditPage(items=items, next_cursor=next_cursor))
