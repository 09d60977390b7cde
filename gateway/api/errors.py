"""The one error shape of the HTTP API: {"error": {"code", "message", "details"}}, and the one
table from error class to (HTTP status, code) that the middleware answers with."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from gateway import errors
from gateway.api import body_deadline
from gateway.domain import kinds
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


class ApiError(errors.WxgateError):
    """Raised by handlers and turned into the error shape by the middleware."""

    def __init__(self, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    @property
    def status(self) -> int:
        return STATUS[self.code]


# What a store or domain error answers: the nearest class of the error's MRO listed here. An
# error not listed (a bug, a duplicate the store should have handled) stays a 500.
MAPPED: dict[type[BaseException], tuple[int, str]] = {
    store_errors.NotFound: (404, "not_found"),
    store_errors.AccountExists: (409, "conflict"),  # details: {"field": "id" | "app_id"}
    store_errors.IdempotencyConflict: (409, "idempotency_conflict"),
    store_errors.InvalidState: (409, "conflict"),
    store_errors.PermanentQrLimit: (409, "qr_permanent_limit_reached"),
    store_errors.SyncRunning: (409, "sync_running"),
    store_errors.Unavailable: (503, "unavailable"),
    kinds.DowngradeNotAllowed: (409, "downgrade_not_allowed"),
}


def mapped(exc: BaseException) -> tuple[errors.WxgateError, int, str] | None:
    """The error to answer with and its (status, code), for an error the table lists,
    directly or once the store translated a driver error; None for any other."""
    error = exc if isinstance(exc, errors.WxgateError) else store_errors.translate(exc)
    if error is None:
        return None
    for cls in type(error).__mro__:
        if cls in MAPPED:
            status, code = MAPPED[cls]
            return error, status, code
    return None


def body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def response(code: str, message: str, details: Any = None) -> web.Response:
    return web.json_response(body(code, message, details), status=STATUS[code])


@web.middleware
async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """ApiError, the errors MAPPED lists and aiohttp's own 404/405/413 become the error
    shape."""
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
    except Exception as exc:
        found = mapped(exc)
        if found is None:
            raise
        error, status, code = found
        if code != "unavailable":
            return web.json_response(body(code, str(error), error.details), status=status)
        # Nothing was done: the client may retry (with its idempotency key, for an enqueue).
        cause = exc.__cause__ if isinstance(exc, store_errors.Unavailable) else exc
        log.warning(
            "database unavailable: %s",
            type(cause or exc).__name__,
            extra={"action": "api_unavailable", "path": request.path},
        )
        resp = web.json_response(body(code, str(error)), status=status)
        resp.headers["Retry-After"] = "1"
        return resp
