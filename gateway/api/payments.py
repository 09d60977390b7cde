"""`GET /api/v1/accounts/{id}/payments`: the payments WeChat Pay notified (C2), newest first."""

from __future__ import annotations

import dataclasses

from aiohttp import web

from gateway.api import bodies, capability, keys, responses
from gateway.api.models import payments
from gateway.domain import kinds
from gateway.store import accounts as accounts_store
from gateway.store import payments as store


async def list_payments(request: web.Request) -> web.Response:
    account_id = bodies.account_id(request)
    query = bodies.parse_query(request, payments.PaymentQuery)
    before = bodies.int_cursor(query.cursor)
    pool = request.app[keys.POOL]
    account = await accounts_store.get_account(pool, account_id)
    capability.require(account.kind, kinds.Capability.PAYMENTS)
    rows = await store.list_payments(pool, account_id, query.openid, before, query.limit + 1)
    items = [payments.Payment(**dataclasses.asdict(r)) for r in rows[: query.limit]]
    next_cursor = bodies.encode_cursor(items[-1].id) if len(rows) > query.limit else None
    return responses.ok(payments.PaymentPage(items=items, next_cursor=next_cursor))
