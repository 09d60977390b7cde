"""The platform's error answers: HTTP 200 with `errcode` and an `errmsg` ending in a rid."""

from __future__ import annotations

import json
import secrets
from typing import Any

from aiohttp import web

MESSAGES: dict[int, str] = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40007: "invalid media_id",
    40008: "invalid message type",
    40013: "invalid appid",
    40016: "invalid button size",
    40017: "invalid button type",
    40018: "invalid button name size",
    40019: "invalid button key size",
    40020: "invalid button url size",
    40022: "invalid sub_menu level",
    40023: "invalid sub button size",
    40024: "invalid sub button type",
    40025: "invalid sub button name size",
    40026: "invalid sub button key size",
    40027: "invalid sub button url size",
    40029: "invalid code",
    40032: "invalid openid list size",
    40037: "invalid template_id",
    40053: "invalid action info",
    40097: "invalid args",
    40125: "invalid appsecret",
    40163: "code been used",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    41008: "missing code",
    42001: "access_token expired",
    43004: "require subscribe",
    44002: "empty post data",
    45008: "article size out of limit",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit mustslower retry next minute",
    45015: "response out of time limit or subscription is canceled",
    45028: "has no masssend quota",
    45047: "out of response count limit",
    45056: "too many tags",
    45057: "can't delete the tag that has too many fans",
    45058: "can't modify sys tag",
    45059: "too many tags for user",
    45065: "clientmsgid exist",
    45067: "clientmsgid size out of limit",
    46003: "menu no exist",
    45157: "invalid tag name",
    45158: "tag name too long",
    45159: "invalid tag id",
    47001: "data format error",
    47003: "argument invalid!",
    48001: "api unauthorized",
}


def message(errcode: int) -> str:
    return MESSAGES.get(errcode, "system error" if errcode < 0 else f"error {errcode}")


class ApiError(Exception):
    """A platform error answer; `detail` narrows the standard text for the caller."""

    def __init__(
        self,
        errcode: int,
        detail: str | None = None,
        extra: dict[str, Any] | None = None,
        *,
        injected: bool = False,
    ) -> None:
        self.errcode = errcode
        self.injected = injected
        self.errmsg = message(errcode) + (f": {detail}" if detail else "")
        self.extra = extra or {}
        super().__init__(f"{errcode} {self.errmsg}")


def rid() -> str:
    return "-".join(secrets.token_hex(4) for _ in range(3))


def payload(error: ApiError) -> dict[str, Any]:
    return {"errcode": error.errcode, "errmsg": f"{error.errmsg} rid: {rid()}", **error.extra}


def response(error: ApiError) -> web.Response:
    return web.json_response(payload(error))


CONTROL_STATUSES: dict[int, type[web.HTTPException]] = {
    400: web.HTTPBadRequest,
    404: web.HTTPNotFound,
    409: web.HTTPConflict,
}


def control(status: int, code: str, text: str, details: Any = None) -> web.HTTPException:
    """An error of the mock's own control API (not a platform answer), to raise."""
    error: dict[str, Any] = {"code": code, "message": text}
    if details is not None:
        error["details"] = details
    return CONTROL_STATUSES[status](
        text=json.dumps({"error": error}), content_type="application/json"
    )
