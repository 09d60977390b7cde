"""Console page of an account's custom menu (SPEC 8), read-only: the buttons as stored, the
state WeChat's answer left (errcode, errmsg), applied_at, through the API's store function."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from gateway.api import keys
from gateway.console import access
from gateway.console.pages import context
from gateway.store import errors as store_errors
from gateway.store import menus as store

ACCOUNT = "/console/accounts/{id}"
# What a button of each type points at, shown beside its type.
TARGETS = ("key", "url", "media_id", "article_id", "appid", "pagepath")


def rows(body: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The buttons as table rows: each top-level button, then its sub-buttons, indented."""
    found: list[dict[str, Any]] = []
    for button in (body or {}).get("button", []):
        subs = button.get("sub_button") or []
        found.append(_row(button, level=0, parent=bool(subs)))
        found.extend(_row(sub, level=1, parent=False) for sub in subs)
    return found


def _row(button: dict[str, Any], *, level: int, parent: bool) -> dict[str, Any]:
    targets = [(field, str(button[field])) for field in TARGETS if button.get(field)]
    return {
        "name": str(button.get("name", "")),
        "type": "sub-menu" if parent else str(button.get("type", "")),
        "targets": targets,
        "level": level,
    }


async def page(request: web.Request) -> web.Response:
    row = await access.account(request)
    try:
        menu: store.Menu | None = await store.get(request.app[keys.POOL], row.id)
    except store_errors.NotFound:
        menu = None
    return aiohttp_jinja2.render_template(
        "menu.html",
        request,
        context(
            request,
            account=row,
            menu=menu,
            buttons=rows(menu.body if menu else None),
            page="menu",
        ),
    )


def register(router: web.UrlDispatcher) -> None:
    """The menu page under /console/accounts/{id}/menu."""
    router.add_get(ACCOUNT + "/menu", page)
