"""Console pages of an account's messages: filtered by status and hold reason (keyset
pages), one message with its history, and the cancel button (the `send` scope)."""

from __future__ import annotations

import typing

import aiohttp_jinja2
from aiohttp import web

from gateway.api import bodies, keys
from gateway.console import access, filters
from gateway.console import session as sess
from gateway.console.pages import context
from gateway.domain import scopes
from gateway.store import messages as store

PAGE = 50
CANCELABLE = ("queued", "held", "sending")


async def list_page(request: web.Request) -> web.Response:
    row = await access.account(request)
    query = filters.parse(request, filters.MessagesQuery)
    before = bodies.int_cursor(query.cursor)
    rows = await store.list_messages(
        request.app[keys.POOL], row.id, query.status, before, PAGE + 1, reason=query.reason
    )
    more = len(rows) > PAGE
    next_cursor = bodies.encode_cursor(rows[PAGE - 1].id) if more else None
    return aiohttp_jinja2.render_template(
        "messages.html",
        request,
        context(
            request,
            account=row,
            messages=rows[:PAGE],
            query=query,
            statuses=typing.get_args(filters.Status),
            next_cursor=next_cursor,
            page="messages",
        ),
    )


async def detail(request: web.Request) -> web.Response:
    row = await access.account(request)
    message = await store.get_message(request.app[keys.POOL], row.id, bodies.message_id(request))
    can_cancel = message.status in CANCELABLE and access.grant(request).allows(scopes.SEND)
    return aiohttp_jinja2.render_template(
        "message.html",
        request,
        context(request, account=row, message=message, can_cancel=can_cancel, page="messages"),
    )


async def cancel(request: web.Request) -> web.Response:
    row = await access.account(request)
    access.require(request, scopes.SEND)
    message_id = bodies.message_id(request)
    request[sess.SUMMARY] = f"cancel message {message_id}"
    await store.cancel_message(request.app[keys.POOL], row.id, message_id)
    return sess.redirect(f"/console/accounts/{row.id}/messages/{message_id}")
