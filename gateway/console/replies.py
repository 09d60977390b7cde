"""Console page of an account's reply rules (SPEC 8), read-only: the rules in order with what
each matches and answers, the default reply, and the reply endpoint; read through the same
store function as the API. (The menu is not on this page.)"""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from gateway.api import keys
from gateway.console import access
from gateway.console.pages import context
from gateway.store import replies as store

ACCOUNT = "/console/accounts/{id}"


def describe_match(match: dict[str, Any]) -> str:
    """What a rule matches, in a few words."""
    on = match.get("on")
    if on == "scan":
        return f"scan of scene {match['scene']}" if match.get("scene") else "scan (any scene)"
    if on == "click":
        return f"click on key {match.get('key')}"
    if on == "text" and "regex" in match:
        return f"text matching /{match['regex']}/ (RE2)"
    if on == "text":
        return f"text {match.get('mode', 'exact')} “{match.get('keyword')}”"
    if on == "subscribe":
        return "subscribe (QR code too)"
    return "any user message"


def describe_reply(reply: dict[str, Any] | None) -> str:
    """What a reply answers, in a few words."""
    if not reply:
        return "—"
    kind = reply.get("msgtype", "")
    body = reply.get(kind) or {}
    if kind == "text":
        return str(body.get("content", ""))
    if kind == "news":
        titles = [a.get("title", "") for a in body.get("articles", [])]
        return f"news: {', '.join(titles)}"
    if kind == "transfer_customer_service":
        agent = body.get("kf_account")
        return f"to customer service{f' ({agent})' if agent else ''}"
    detail = body.get("title") or body.get("media_id") or body.get("thumb_media_id") or ""
    return f"{kind}: {detail}"


async def replies_page(request: web.Request) -> web.Response:
    row = await access.account(request)
    stored = await store.get_rules(request.app[keys.POOL], row.id)
    rules = (stored.rules or {}).get("rules", [])
    default = (stored.rules or {}).get("default_reply")
    return aiohttp_jinja2.render_template(
        "replies.html",
        request,
        context(
            request,
            account=row,
            rules=[
                {
                    "name": r["name"],
                    "match": describe_match(r["match"]),
                    "msgtype": r["reply"]["msgtype"],
                    "reply": describe_reply(r["reply"]),
                }
                for r in rules
            ],
            default_reply=describe_reply(default) if default else None,
            version=stored.version or 0,
            updated_at=stored.updated_at,
            endpoint=(
                {
                    "id": stored.endpoint_id,
                    "url": stored.endpoint_url,
                    "disabled": stored.endpoint_disabled,
                }
                if stored.endpoint_id
                else None
            ),
            page="replies",
        ),
    )


def register(router: web.UrlDispatcher) -> None:
    """The reply-rules page under /console/accounts/{id}/replies."""
    router.add_get(ACCOUNT + "/replies", replies_page)
