"""Writing the audit log from the HTTP shell: who made a change, what, from which address.

The address is the peer's, or the first `X-Forwarded-For` hop when WXGATE_TRUST_PROXY says a
proxy in front sets it (otherwise any client could write it)."""

from __future__ import annotations

import json
import logging

from aiohttp import web

from gateway.api import bodies, keys
from gateway.domain import scopes
from gateway.store import audit
from gateway.store import errors as store_errors

log = logging.getLogger(__name__)

MAX_ADDRESS = 100


def _clean(text: str, limit: int) -> str:
    """Text Postgres can store: no NUL, no lone surrogates, bounded."""
    return text[:limit].replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")


def remote_address(request: web.Request) -> str | None:
    if request.app[keys.SETTINGS].trust_proxy:
        forwarded = request.headers.get("X-Forwarded-For", "")
        first = forwarded.split(",", 1)[0].strip()
        if first:
            return _clean(first, MAX_ADDRESS)
    return request.remote


def route_of(request: web.Request) -> str:
    """The route template (`/api/v1/accounts/{id}/messages`), or the path when none matched."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else request.path


def account_of(request: web.Request) -> str | None:
    """The `{id}` of a route under /api/v1/accounts/{id} or /console/accounts/{id}."""
    route = route_of(request)
    if route.startswith(scopes.ACCOUNT) or route.startswith("/console/accounts/{id}"):
        value = request.match_info.get("id", "")
        return value if bodies.ACCOUNT_ID.fullmatch(value) else None
    return None


def _summary(response: web.StreamResponse) -> str | None:
    """The id of the resource a change answered with, when it has one (never the body: it may
    hold a secret, such as a new token)."""
    if not isinstance(response, web.Response) or response.content_type != "application/json":
        return None
    try:
        data = json.loads(response.body or b"null")  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if isinstance(data, dict) and isinstance(data.get("id"), int | str):
        return f"id {data['id']}"[:200]
    return None


async def record(
    request: web.Request,
    grant: scopes.Grant | None,
    status: int,
    *,
    via: str,
    summary: str | None = None,
    response: web.StreamResponse | None = None,
) -> None:
    """Write the audit entry of this request. The change is already committed: a database
    failure here is logged, not turned into an error answer for a change that was made."""
    entry = audit.Entry(
        actor=grant.name if grant is not None else "anonymous",
        token_id=grant.token_id if grant is not None else None,
        via=via,
        method=request.method,
        route=route_of(request),
        path=_clean(request.path, 2048),
        account_id=account_of(request),
        status=status,
        remote_addr=remote_address(request),
        summary=summary if summary is not None else (_summary(response) if response else None),
    )
    try:
        await audit.record(request.app[keys.POOL], entry)
    except store_errors.UNAVAILABLE as exc:
        log.error(
            "audit entry not written: %s",
            type(exc).__name__,
            extra={"action": "audit_failed", "path": entry.route, "account_id": entry.account_id},
        )
