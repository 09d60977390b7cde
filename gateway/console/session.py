"""Console sessions and CSRF: every /console/ page needs a session (else the sign-in page),
every POST carries the session's CSRF token (else 403) and is written to the audit log;
errors become HTML pages, never a 5xx for bad input.

The session cookie is HttpOnly, SameSite=Strict, Secure over https (WXGATE_PUBLIC_URL or the
request), 12 hours; the database keeps only the SHA-256 of its value.
"""

from __future__ import annotations

import dataclasses
import hmac
import logging
from typing import Any

import aiohttp_jinja2
from aiohttp import http_exceptions, web

from gateway.api import auth, errors, keys, trail
from gateway.domain import scopes
from gateway.store import console_sessions
from gateway.store import errors as store_errors

log = logging.getLogger(__name__)

ROOT = "/console/"
SIGN_IN = ROOT + "sign-in"
STATIC = ROOT + "static/"
COOKIE = "wxgate_console"
# Before a session exists, the sign-in form's CSRF token is a cookie of its own.
SIGN_IN_COOKIE = "wxgate_console_signin"
PUBLIC = frozenset({SIGN_IN})


@dataclasses.dataclass(frozen=True)
class Session:
    session_id: str
    grant: scopes.Grant
    csrf: str


SESSION = web.RequestKey("console_session", Session)
# What a console action did, for its audit entry ("cancel message 12").
SUMMARY = web.RequestKey("console_summary", str)


def secure(request: web.Request) -> bool:
    public = request.app[keys.SETTINGS].public_url or ""
    return request.secure or public.lower().startswith("https://")


def set_cookie(response: web.StreamResponse, request: web.Request, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        max_age=int(console_sessions.LIFETIME.total_seconds()),
        path=ROOT,
        httponly=True,
        samesite="Strict",
        secure=secure(request),
    )


def redirect(location: str) -> web.Response:
    """A 303 to a console path (never to a location taken from the request)."""
    return web.Response(status=303, headers={"Location": location})


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8", "replace"), b.encode("utf-8", "replace"))


async def _load(request: web.Request) -> Session | None:
    session_id = request.cookies.get(COOKIE)
    if not session_id:
        return None
    row = await console_sessions.get_session(request.app[keys.POOL], session_id)
    if row is None:
        return None
    if row.token is None:
        secret = request.app[keys.SETTINGS].api_token
        current = secret.get_secret_value() if secret is not None else ""
        # The administrator's session ends when WXGATE_API_TOKEN changes.
        if not current or not same(row.admin_hash or "", console_sessions.digest(current)):
            return None
        grant = scopes.ADMINISTRATOR
    else:
        grant = auth.grant_of(row.token)
    return Session(session_id, grant, row.csrf)


async def form(request: web.Request) -> dict[str, str]:
    """The POSTed form fields (first value of each); the console's forms are urlencoded,
    anything else is a 415, a malformed body a 400."""
    if request.content_type != "application/x-www-form-urlencoded":
        raise web.HTTPUnsupportedMediaType(reason="forms are application/x-www-form-urlencoded")
    try:
        data = await request.post()
    except web.HTTPException:
        raise
    except (ValueError, UnicodeDecodeError, http_exceptions.HttpProcessingError):
        raise web.HTTPBadRequest(reason="malformed form") from None
    return {k: v for k, v in data.items() if isinstance(v, str)}


async def _csrf_ok(request: web.Request, expected: str | None) -> bool:
    if not expected or request.content_type != "application/x-www-form-urlencoded":
        return False  # no form, no CSRF token: 403 like any other missing token
    return same((await form(request)).get("csrf", ""), expected)


def page_error(request: web.Request, status: int, message: str) -> web.Response:
    return aiohttp_jinja2.render_template(
        "error.html",
        request,
        {"status": status, "message": message, "session": request.get(SESSION)},
        status=status,
    )


async def _guarded(request: web.Request, handler: Any) -> web.StreamResponse:
    session = await _load(request)
    if session is not None:
        request[SESSION] = session
    if request.path not in PUBLIC:
        if session is None:
            if request.method in scopes.SAFE_METHODS:
                return redirect(SIGN_IN)
            return page_error(request, 403, "sign in first")
        if request.method == "POST" and not await _csrf_ok(request, session.csrf):
            return page_error(request, 403, "the form's CSRF token is missing or wrong")
    elif request.method == "POST" and not await _csrf_ok(
        request, request.cookies.get(SIGN_IN_COOKIE)
    ):
        return page_error(request, 403, "the form's CSRF token is missing or wrong; reload")
    result: web.StreamResponse = await handler(request)
    return result


async def _answer(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await _guarded(request, handler)
    except errors.ApiError as exc:
        return page_error(request, exc.status, exc.message)
    except store_errors.NotFound as exc:
        return page_error(request, 404, str(exc))
    except store_errors.InvalidState as exc:
        return page_error(request, 409, str(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return page_error(request, exc.status, exc.reason)


@web.middleware
async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.path == "/console":
        return redirect(ROOT)
    if not request.path.startswith(ROOT) or request.path.startswith(STATIC):
        passed: web.StreamResponse = await handler(request)
        return passed
    response = await _answer(request, handler)
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'",
    )
    if request.method == "POST":
        # Every console POST, accepted or not, with the grant it was made under (the
        # signed-in one for a sign-in).
        grant = request.get(SESSION)
        await trail.record(
            request,
            grant.grant if grant is not None else None,
            response.status,
            via="console",
            summary=request.get(SUMMARY),
        )
    return response
