"""`/api/v1/accounts/{id}/followers/sync`: start a follower sync (SPEC 9), watch it."""

from __future__ import annotations

import pydantic
from aiohttp import web

from gateway.api import bodies, errors, keys, responses
from gateway.api.models import syncs
from gateway.store import syncs as store

MAX_ID = 2**63 - 1


def sync_id(request: web.Request) -> int:
    value = request.match_info["sync_id"]
    if not value.isascii() or not value.isdigit() or not 0 < int(value) <= MAX_ID:
        raise errors.ApiError("not_found", "no such follower sync")
    return int(value)


def resource(row: store.Sync) -> syncs.FollowerSync:
    return syncs.FollowerSync(
        id=row.id,
        account_id=row.account_id,
        status=row.status,
        error=row.error,
        errcode=row.errcode,
        pages=row.pages,
        followers_seen=row.followers_seen,
        total=row.total,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


async def start_sync(request: web.Request) -> web.Response:
    """202 with the new sync; 409 `sync_running` while one runs. A worker does the work."""
    account_id = bodies.account_id(request)
    raw = await bodies.read_body(request)
    if raw.strip():  # no body at all is fine too
        try:
            syncs.NewSync.model_validate_json(raw, strict=True)
        except pydantic.ValidationError as exc:
            raise bodies.validation_error(exc) from None
    row = await store.start(request.app[keys.POOL], account_id)
    return responses.ok(syncs.SyncStarted(id=row.id, status="running"), status=202)


async def get_sync(request: web.Request) -> web.Response:
    account_id, wanted = bodies.account_id(request), sync_id(request)
    row = await store.get(request.app[keys.POOL], account_id, wanted)
    return responses.ok(resource(row))
