"""The one error shape of the HTTP API: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from gateway.api import body_deadline
from gateway.store import errors as store_errors

log = logging.getLogger(__name__)

STATUS = {
    "unauthorized": 401,
    "not_found": 404,
    "validation_error": 422,
    "capability_not_available": 403,
    # A scoped API token lacks the scope (or the route is the administrator's only).
    "forbidden": 403,
    "downgrade_not_allowed": 409,
    "idempotency_conflict": 409,
    "qr_permanent_limit_reached": 409,
    "sync_running": 409,  # a follower sync of the account is running (SPEC 9)
    "tag_limit_reached": 409,  # 100 tags per account
    "too_many_tags": 409,  # 20 tags per follower
    "payload_too_large": 413,
    "request_timeout": 408,
    "too_many_requests": 429,
    # A duplicate account id/app_id, or an operation the resource's state forbids (cancel of
    # a message already sent).
    "conflict": 409,
    "bad_request": 400,
    "invalid_state": 400,
    "unavailable": 503,
    "upstream_error": 502,
}


class ApiError(Exception):
    """Raised by handlers and turned into the error shape by the middleware."""

    def __init__(self, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    @property
    def status(self) -> int:
        return STATUS[self.code]


def body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def response(code: str, message: str, details: Any = None) -> web.Response:
    return web.json_response(body(code, message, details), status=STATUS[code])


@web.middleware
async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """ApiError and aiohttp's own 404/405/413 become the error shape."""
    try:
        resp: web.StreamResponse = await handler(request)
        return resp
    except ApiError as exc:
        return response(exc.code, exc.message, exc.details)
    except web.HTTPRequestEntityTooLarge:
        return response("payload_too_large", "request body is too large")
    except body_deadline.TooSlow:
        answer = response("request_timeout", "the request body did not arrive in time")
        return await body_deadline.answer_and_close(request, answer)
    except web.HTTPNotFound:
        return response("not_found", "no such resource")
    except web.HTTPMethodNotAllowed as exc:
        resp = web.json_response(
            body("bad_request", f"method {request.method} not allowed"), status=405
        )
        resp.headers["Allow"] = ",".join(sorted(exc.allowed_methods))
        return resp
    except store_errors.UNAVAILABLE as exc:
        # Nothing was done: the client may retry (with its idempotency key, for an enqueue).
        log.warning(
            "database unavailable: %s",
            type(exc).__name__,
            extra={"action": "api_unavailable", "path": request.path},
        )
        resp = response("unavailable", "the database is unavailable; retry later")
        resp.headers["Retry-After"] = "1"
        return resp
