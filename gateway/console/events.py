"""The console's inbound event log of an account: stored callbacks filtered by type, openid
and time, newest first in keyset pages, each with its XML (escaped by the template)."""

from __future__ import annotations

import dataclasses
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from gateway.api import bodies, keys
from gateway.console import access, filters
from gateway.console.pages import context
from gateway.store import console_webhooks, inbound_log
from gateway.wechat import xmlcodec

PAGE = 50


def xml_of(event: inbound_log.StoredCallback) -> str:
    """The callback's XML, rebuilt from its stored fields (a row has no `xml` column: the
    branch that showed one as stored never ran, and is gone)."""
    try:
        return xmlcodec.build(event.fields)
    except xmlcodec.XmlError:
        return "(the stored fields cannot be shown as XML)"


async def list_page(request: web.Request) -> web.Response:
    row = await access.account(request)
    query = filters.parse(request, filters.EventsQuery)
    before = bodies.int_cursor(query.cursor)
    msg_type, event = filters.event_type(query.type)
    where = inbound_log.Filter(
        openid=query.openid, msg_type=msg_type, event=event, since=query.since, until=query.until
    )
    rows = await inbound_log.list_events(request.app[keys.POOL], row.id, where, before, PAGE + 1)
    more = len(rows) > PAGE
    next_cursor = bodies.encode_cursor(rows[PAGE - 1].id) if more else None
    shown = rows[:PAGE]
    sent = await console_webhooks.inbound_deliveries(
        request.app[keys.POOL], row.id, [r.dedupe_key for r in shown]
    )
    events: list[dict[str, Any]] = [
        {**dataclasses.asdict(r), "xml": xml_of(r), "webhooks": sent.get(r.dedupe_key, [])}
        for r in shown
    ]
    return aiohttp_jinja2.render_template(
        "events.html",
        request,
        context(
            request,
            account=row,
            events=events,
            query=query,
            next_cursor=next_cursor,
            page="events",
        ),
    )
