"""`/api/v1/tokens` (administrator only): create a scoped token (its text shown once), list
them without it, revoke one at once."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.api import bodies, errors, keys, models, responses
from gateway.api.models import tokens
from gateway.store import api_tokens as store

_MAX_ID = 2**63 - 1


def _resource(row: store.Token) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "accounts": "*" if row.all_accounts else list(row.accounts),
        "scopes": list(row.scopes),
        "created_at": row.created_at,
        "revoked_at": row.revoked_at,
        "last_used_at": row.last_used_at,
    }


def _token_id(request: web.Request) -> int:
    value = request.match_info["token_id"]
    if not value.isascii() or not value.isdigit() or not 0 < int(value) <= _MAX_ID:
        raise errors.ApiError("not_found", "no such token")
    return int(value)


async def create_token(request: web.Request) -> web.Response:
    body = await bodies.read_json(request, tokens.NewToken)
    accounts = None if body.accounts == "*" else list(body.accounts)
    row, token = await store.create_token(
        request.app[keys.POOL], name=body.name, accounts=accounts, scopes=list(body.scopes)
    )
    return responses.ok(tokens.CreatedToken(**_resource(row), token=token), status=201)


async def list_tokens(request: web.Request) -> web.Response:
    query = bodies.parse_query(request, models.PageQuery)
    after = bodies.int_cursor(query.cursor)
    rows = await store.list_tokens(request.app[keys.POOL], after, query.limit + 1)
    items = [tokens.Token(**_resource(r)) for r in rows[: query.limit]]
    next_cursor = bodies.encode_cursor(items[-1].id) if len(rows) > query.limit else None
    return responses.ok(tokens.TokenPage(items=items, next_cursor=next_cursor))


async def revoke_token(request: web.Request) -> web.Response:
    token_id = _token_id(request)
    row = await store.revoke_token(request.app[keys.POOL], token_id)
    return responses.ok(tokens.Token(**_resource(row)))
