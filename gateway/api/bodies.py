"""Reading API requests: JSON bodies with a 1 MiB cap, query strings, path ids, cursors.

Everything a client sends is checked here before it reaches SQL: text Postgres cannot store
(NUL, lone surrogates) and JSON it cannot store (NaN, Infinity) are refused up front.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any, TypeVar

import pydantic
from aiohttp import web

from gateway.api import body_deadline, errors

# /api/v1 bodies may be up to 1 MiB (a 10,000-openid audience is ~310 KB); every other route
# keeps the app's 64 KiB client_max_size.
API_MAX_BODY = 1024 * 1024

ACCOUNT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
OPENID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
ENDPOINT_ID = re.compile(r"^ep_[0-9a-f]{24}$")
_MAX_BIGINT = 2**63 - 1

M = TypeVar("M", bound=pydantic.BaseModel)


def _invalid(loc: list[str | int], msg: str, kind: str) -> errors.ApiError:
    return errors.ApiError(
        "validation_error", "request is invalid", [{"type": kind, "loc": loc, "msg": msg}]
    )


def invalid(loc: list[str | int], msg: str, kind: str) -> errors.ApiError:
    """A 422 validation_error naming one field, in pydantic's error-list shape."""
    return _invalid(loc, msg, kind)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _check_text(value: Any, loc: list[str | int]) -> None:
    """Postgres text and jsonb hold neither NUL nor unpaired surrogates: refuse them."""
    if isinstance(value, str):
        if "\x00" in value:
            raise _invalid(loc, "text must not contain NUL characters", "string_unicode")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise _invalid(loc, "text must be valid Unicode", "string_unicode") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, loc)
            _check_text(item, [*loc, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_text(item, [*loc, index])


async def read_body(request: web.Request) -> bytes:
    """The raw body, at most API_MAX_BODY bytes (413 payload_too_large beyond), within the
    read deadline (body_deadline.TooSlow: errors.middleware answers 408 and disconnects)."""
    if request.content_length is not None and request.content_length > API_MAX_BODY:
        raise errors.ApiError("payload_too_large", f"request body exceeds {API_MAX_BODY} bytes")
    try:
        return await body_deadline.read(request.clone(client_max_size=API_MAX_BODY))
    except web.HTTPRequestEntityTooLarge:
        raise errors.ApiError(
            "payload_too_large", f"request body exceeds {API_MAX_BODY} bytes"
        ) from None


async def read_data(request: web.Request) -> tuple[str, Any]:
    """The body's text and its JSON value, checked for text Postgres can store: 400
    bad_request for malformed JSON (for a check of its own before or after a model's)."""
    raw = await read_body(request)
    try:
        text = raw.decode("utf-8")
        data = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise errors.ApiError("bad_request", f"request body is not valid JSON: {exc}") from None
    _check_text(data, [])
    return text, data


async def read_json_value(request: web.Request) -> Any:
    """The body as a JSON value, for a domain check of its own (400 for malformed JSON)."""
    return (await read_data(request))[1]


async def read_json(request: web.Request, model: type[M]) -> M:
    """The body validated by `model` (strict): 400 bad_request for malformed JSON, 422
    validation_error with pydantic's error list for a well-formed body that does not fit."""
    text, _ = await read_data(request)
    return validate_json(text, model)


def validate_json(text: str, model: type[M]) -> M:
    """`text` validated by `model` (strict), or a 422 validation_error."""
    try:
        return model.model_validate_json(text, strict=True)
    except pydantic.ValidationError as exc:
        raise validation_error(exc) from None


def validation_error(exc: pydantic.ValidationError) -> errors.ApiError:
    # No inputs in details: they may be secrets or a 10,000-element list.
    details = json.loads(exc.json(include_url=False, include_input=False))
    return errors.ApiError("validation_error", "request is invalid", details)


def parse_query(request: web.Request, model: type[M]) -> M:
    """The query string validated by `model` (lax: query values are strings)."""
    data: dict[str, str] = {}
    for key, value in request.query.items():
        if key in data:
            raise _invalid(["query", key], "parameter given more than once", "duplicate")
        data[key] = value
    _check_text(data, ["query"])
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise validation_error(exc) from None


def account_id(request: web.Request) -> str:
    """The {id} path segment; a malformed id cannot exist, so it is a 404."""
    value = request.match_info["id"]
    if not ACCOUNT_ID.fullmatch(value):
        raise errors.ApiError("not_found", f"no account {value!r}")
    return value


def endpoint_id(request: web.Request) -> str:
    """The {eid} path segment of a webhook endpoint; a malformed id is a 404."""
    value = request.match_info["eid"]
    if not ENDPOINT_ID.fullmatch(value):
        raise errors.ApiError("not_found", "no such endpoint")
    return value


def openid(request: web.Request) -> str:
    value = request.match_info["openid"]
    if not OPENID.fullmatch(value):
        raise errors.ApiError("not_found", "no such follower")
    return value


def message_id(request: web.Request) -> int:
    value = request.match_info["message_id"]
    if not value.isascii() or not value.isdigit() or not 0 < int(value) <= _MAX_BIGINT:
        raise errors.ApiError("not_found", "no such message")
    return int(value)


def encode_cursor(key: str | int) -> str:
    """An opaque page cursor holding the last key of the page."""
    raw = json.dumps({"k": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor_key(cursor: str) -> object:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key: object = json.loads(raw)["k"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise _bad_cursor() from None
    return key


def _bad_cursor() -> errors.ApiError:
    return _invalid(["query", "cursor"], "cursor is not valid", "cursor")


def text_cursor(cursor: str | None) -> str | None:
    """The text key inside a cursor (None for the first page); a forged one is a 422."""
    if cursor is None:
        return None
    key = _cursor_key(cursor)
    if not isinstance(key, str):
        raise _bad_cursor()
    _check_text(key, ["query", "cursor"])
    return key


def int_cursor(cursor: str | None) -> int | None:
    """The integer key inside a cursor (None for the first page); a forged one is a 422."""
    if cursor is None:
        return None
    key = _cursor_key(cursor)
    if type(key) is not int or not 0 <= key <= _MAX_BIGINT:
        raise _bad_cursor()
    return key
