"""Sign-in with an API token (the administrator's or a scoped one) and sign-out."""

from __future__ import annotations

import secrets

import aiohttp_jinja2
from aiohttp import web

from gateway.api import auth, keys
from gateway.console import session as sess
from gateway.store import console_sessions

MAX_TOKEN = 512


def _form(request: web.Request, message: str | None, status: int) -> web.Response:
    csrf = secrets.token_urlsafe(32)
    response = aiohttp_jinja2.render_template(
        "signin.html", request, {"csrf": csrf, "message": message, "session": None}, status=status
    )
    sess.set_cookie(response, request, sess.SIGN_IN_COOKIE, csrf)
    return response


async def sign_in_page(request: web.Request) -> web.Response:
    if sess.SESSION in request:
        return sess.redirect(sess.ROOT)
    return _form(request, None, 200)


async def sign_in(request: web.Request) -> web.Response:
    token = (await sess.form(request)).get("token", "").strip()
    grant = None
    if 0 < len(token) <= MAX_TOKEN and "\x00" not in token:
        grant = await auth.grant_for(request.app, token)
    if grant is None:
        request[sess.SUMMARY] = "sign-in refused"
        return _form(request, "This token is not accepted.", 401)
    session_id, csrf = await console_sessions.create_session(
        request.app[keys.POOL],
        token_id=grant.token_id,
        admin_token=token if grant.admin else None,
    )
    request[sess.SESSION] = sess.Session(session_id, grant, csrf)
    request[sess.SUMMARY] = "sign-in"
    response = sess.redirect(sess.ROOT)
    sess.set_cookie(response, request, sess.COOKIE, session_id)
    response.del_cookie(sess.SIGN_IN_COOKIE, path=sess.ROOT)
    return response


async def sign_out(request: web.Request) -> web.Response:
    await console_sessions.delete_session(request.app[keys.POOL], request[sess.SESSION].session_id)
    request[sess.SUMMARY] = "sign-out"
    response = sess.redirect(sess.SIGN_IN)
    response.del_cookie(sess.COOKIE, path=sess.ROOT)
    return response
