"""`/api/v1/accounts/{id}/menu`: store the custom menu for a worker to apply (SPEC 8)."""

from __future__ import annotations

import dataclasses
from typing import Any

from aiohttp import web

from gateway.api import bodies, errors, keys, responses
from gateway.api.models import menus
from gateway.domain import menu
from gateway.store import menus as store


def _problems(data: Any) -> errors.ApiError | None:
    """422 with every problem WeChat would refuse, each naming its path."""
    found = menu.problems(data)
    if not found:
        return None
    details = [{"type": "menu", "loc": list(p.loc), "msg": p.message} for p in found]
    first = found[0]
    where = first.path or "body"
    return errors.ApiError("validation_error", f"{where}: {first.message}", details)


async def put_menu(request: web.Request) -> web.Response:
    """202: stored as pending; a worker calls /cgi-bin/menu/create."""
    account_id = bodies.account_id(request)
    text, data = await bodies.read_data(request)
    problem = _problems(data)
    if problem is not None:
        raise problem
    bodies.validate_json(text, menus.MenuIn)
    row = await store.put(request.app[keys.POOL], account_id, data)
    return responses.ok(menus.MenuAccepted(**dataclasses.asdict(row)), status=202)


async def get_menu(request: web.Request) -> web.Response:
    account_id = bodies.account_id(request)
    row = await store.get(request.app[keys.POOL], account_id)
    return responses.ok(resource(row))


async def delete_menu(request: web.Request) -> web.Response:
    """202: a worker calls /cgi-bin/menu/delete, then the menu is gone (GET 404)."""
    account_id = bodies.account_id(request)
    row = await store.delete(request.app[keys.POOL], account_id)
    return responses.ok(menus.MenuAccepted(**dataclasses.asdict(row)), status=202)


def resource(row: store.Menu) -> menus.Menu:
    body = row.body
    return menus.Menu(
        account_id=row.account_id,
        button=None if body is None else list(body["button"]),
        state=row.state,
        version=row.version,
        errcode=row.errcode,
        errmsg=row.errmsg,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at if row.state in ("pending", "deleting") else None,
        applied_at=row.applied_at,
        updated_at=row.updated_at,
    )
