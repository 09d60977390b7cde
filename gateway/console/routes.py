"""The console's routes and templates, mounted on the gateway's app by create_app (so both
`wxgate serve` and `wxgate run` serve it)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from gateway.console import events, menu, messages, pages, replies, signin, syncs, webhooks
from gateway.console import session as sess

HERE = Path(__file__).parent
ACCOUNT = "/console/accounts/{id}"


def _when(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


def _count(value: int, cap: int) -> str:
    return f"{value:,}+" if value >= cap else f"{value:,}"


def setup(app: web.Application) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["when"] = _when
    env.filters["count"] = _count
    router = app.router
    router.add_get(sess.SIGN_IN, signin.sign_in_page)
    router.add_post(sess.SIGN_IN, signin.sign_in)
    router.add_post("/console/sign-out", signin.sign_out)
    router.add_get("/console/", pages.overview)
    router.add_get(ACCOUNT, pages.account)
    router.add_get(ACCOUNT + "/followers", pages.follower)
    router.add_get(ACCOUNT + "/messages", messages.list_page)
    router.add_get(ACCOUNT + "/messages/{message_id}", messages.detail)
    router.add_post(ACCOUNT + "/messages/{message_id}/cancel", messages.cancel)
    router.add_get(ACCOUNT + "/events", events.list_page)
    for module in (webhooks, menu, replies, syncs):
        module.register(router)
    router.add_static("/console/static/", HERE / "static")
