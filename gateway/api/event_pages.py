"""A follower's pages of a marketing event (C5): registration and the survey form.

Each page is reached through OAuth (snsapi_base): without an identity it starts the flow
with itself as the target; the OAuth callback sends the browser back with `openid`,
`issued_at` and `signature` (gateway.oauth_sign, bound to the gateway's host), which the
page checks. The survey form carries that identity in hidden fields to its POST.
"""

from __future__ import annotations

import datetime as dt
import html
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

from aiohttp import web

import gateway.errors
from gateway import oauth_sign
from gateway.api import bodies, body_deadline, errors, events, keys, oauth
from gateway.domain import kinds, marketing
from gateway.store import accounts as accounts_store
from gateway.store import errors as store_errors
from gateway.store import events as store

IDENTITY_MAX_AGE = 300  # seconds from the OAuth callback to the page
FORM_MAX_AGE = 3600  # seconds to fill in the survey form
COMMENT_MAX = 2000
RATINGS = range(1, 6)


class PageError(gateway.errors.WxgateError):
    def __init__(self, status: int, title: str, text: str) -> None:
        super().__init__(text)
        self.status, self.title, self.text = status, title, text


def page(title: str, body: str, status: int = 200) -> web.Response:
    """A minimal mobile page; `body` is HTML whose variable parts the caller escaped."""
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return web.Response(status=status, text=document, content_type="text/html")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _text(value: str) -> str:
    return f"<p>{html.escape(value)}</p>"


async def _load(request: web.Request) -> tuple[accounts_store.Account, store.Event]:
    account_id = request.match_info["account_id"]
    if not bodies.ACCOUNT_ID.fullmatch(account_id):
        raise PageError(404, "Not found", "There is no such event.")
    pool = request.app[keys.POOL]
    try:
        account = await accounts_store.get_account(pool, account_id)
        kind = kinds.AccountKind(account.kind)
        if not kinds.has_capability(kind, kinds.Capability.MARKETING_EVENTS):
            text = kinds.refusal(kind, kinds.Capability.MARKETING_EVENTS)
            raise PageError(403, "Not available", text)
        wanted = request.match_info["event_id"]
        if not wanted.isascii() or not wanted.isdigit() or not 0 < int(wanted) < 2**63:
            raise store_errors.NotFound("no such event")
        event = await store.get_event(pool, account_id, int(wanted))
    except store_errors.NotFound:
        raise PageError(404, "Not found", "There is no such event.") from None
    return account, event


def _identity(
    request: web.Request, account: accounts_store.Account, fields: Mapping[str, Any], max_age: int
) -> str | None:
    """The signed openid in `fields`, None if there is none; PageError if it does not hold."""
    signature = fields.get("signature")
    if not signature:
        return None
    openid, issued_at = str(fields.get("openid", "")), str(fields.get("issued_at", ""))
    host = urllib.parse.urlsplit(request.app[keys.SETTINGS].public_base()).hostname or ""
    valid = (
        bodies.OPENID.fullmatch(openid) is not None
        and issued_at.isascii()
        and issued_at.isdigit()
        and len(issued_at) <= 12
        and oauth_sign.verify(
            str(account.oauth_signing_key),
            openid,
            int(issued_at),
            host,
            str(signature),
            int(time.time()),
            max_age,
        )
    )
    if not valid:
        raise PageError(403, "Link expired", "This link has expired: please open it again.")
    return openid


async def _sign_in(
    request: web.Request, account: accounts_store.Account, target: str
) -> web.Response:
    """Start OAuth with this page as the target (raises the redirect); a page, not JSON,
    when the account has too many sign-ins pending."""
    try:
        await oauth.begin(request, account, target, "snsapi_base")
    except errors.ApiError as exc:
        if exc.code != "too_many_requests":
            raise
        text = "Too many people are signing in right now: please try again in a few minutes."
        return page("Busy", _text(text), 429)


def _url(request: web.Request, event: store.Event, name: str) -> str:
    settings = request.app[keys.SETTINGS]
    return events.page_url(settings, event.account_id, event.id, name)


async def register(request: web.Request) -> web.Response:
    """GET /events/{account_id}/{event_id}/register"""
    try:
        account, event = await _load(request)
        openid = _identity(request, account, request.query, IDENTITY_MAX_AGE)
    except PageError as exc:
        return page(exc.title, _text(exc.text), exc.status)
    name = html.escape(event.name)
    if openid is None:
        if not marketing.registration_open(event.starts_at, _now()):
            return page("Registration closed", f"<p>{name} has started.</p>", 409)
        return await _sign_in(request, account, _url(request, event, "register"))
    result = await store.register(
        request.app[keys.POOL], event.account_id, event.id, openid, _now()
    )
    if result == "registered":
        return page("Registered", f"<p>You are registered for {name}. See you there!</p>")
    if result == "already_registered":
        return page("Registered", f"<p>You were already registered for {name}.</p>")
    if result == "full":
        return page("Event full", f"<p>{name} is full.</p>", 409)
    return page("Registration closed", f"<p>{name} has started.</p>", 409)


def _form(event: store.Event, fields: Mapping[str, str], action: str) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{k}" value="{html.escape(fields[k])}">'
        for k in ("openid", "issued_at", "signature")
    )
    ratings = "".join(
        f'<label><input type="radio" name="rating" value="{n}" required> {n}</label> '
        for n in RATINGS
    )
    return (
        f"<p>How was {html.escape(event.name)}?</p>"
        f'<form method="post" action="{html.escape(action)}">{hidden}'
        f"<p>{ratings}</p>"
        f'<p><textarea name="comment" maxlength="{COMMENT_MAX}" rows="5" cols="40" '
        'placeholder="Anything to tell us?"></textarea></p>'
        '<p><button type="submit">Send</button></p></form>'
    )


async def _attendee(request: web.Request, event: store.Event, openid: str) -> None:
    row = await store.attendee(request.app[keys.POOL], event.account_id, event.id, openid)
    if row is None or row.checked_in_at is None:
        raise PageError(403, "Survey", "The survey is for attendees who checked in.")


async def survey(request: web.Request) -> web.Response:
    """GET /events/{account_id}/{event_id}/survey: the form, after OAuth."""
    try:
        account, event = await _load(request)
        openid = _identity(request, account, request.query, IDENTITY_MAX_AGE)
        if openid is None:
            return await _sign_in(request, account, _url(request, event, "survey"))
        await _attendee(request, event, openid)
    except PageError as exc:
        return page(exc.title, _text(exc.text), exc.status)
    pool = request.app[keys.POOL]
    if await store.answered(pool, event.account_id, event.id, openid):
        return page("Survey", "<p>You have answered already. Thank you!</p>")
    return page("Survey", _form(event, request.query, _url(request, event, "survey")))


def _answers(form: Mapping[str, Any]) -> dict[str, Any]:
    rating, comment = form.get("rating"), form.get("comment", "")
    if not isinstance(rating, str) or not rating.isdigit() or int(rating) not in RATINGS:
        raise PageError(400, "Survey", "Please choose a rating from 1 to 5.")
    if not isinstance(comment, str) or len(comment) > COMMENT_MAX or "\x00" in comment:
        raise PageError(400, "Survey", f"The comment may be at most {COMMENT_MAX} characters.")
    return {"rating": int(rating), "comment": comment.strip()}


async def submit_survey(request: web.Request) -> web.Response:
    """POST /events/{account_id}/{event_id}/survey: the answers, once per attendee."""
    try:
        account, event = await _load(request)
        form = await body_deadline.post(request)
        openid = _identity(request, account, form, FORM_MAX_AGE)
        if openid is None:
            raise PageError(403, "Survey", "Please open the survey from its link.")
        answers = _answers(form)
        await _attendee(request, event, openid)
    except PageError as exc:
        return page(exc.title, _text(exc.text), exc.status)
    except body_deadline.TooSlow:
        text = "The form did not arrive in time: please send it again."
        return await body_deadline.answer_and_close(request, page("Survey", _text(text), 408))
    pool = request.app[keys.POOL]
    if not await store.save_answers(pool, event.account_id, event.id, openid, answers):
        return page("Survey", "<p>You have answered already. Thank you!</p>")
    return page("Thank you", "<p>Your answers are saved. Thank you!</p>")
