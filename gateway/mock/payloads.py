"""Request bodies: JSON parsing and the shape of message payloads (`msgtype` + object)."""

from __future__ import annotations

import json
from typing import Any

from gateway.mock import errors

# The fields each message type's object must carry (customer-service and mass sends).
CUSTOM_TYPES: dict[str, tuple[str, ...]] = {
    "text": ("content",),
    "image": ("media_id",),
    "voice": ("media_id",),
    "video": ("media_id",),
    "music": ("musicurl", "thumb_media_id"),
    "news": ("articles",),
    "mpnews": ("media_id",),
    "mpnewsarticle": ("article_id",),
    "msgmenu": ("list",),
    "wxcard": ("card_id",),
    "miniprogrampage": ("appid", "pagepath"),
}
MASS_TYPES: dict[str, tuple[str, ...]] = {
    "text": ("content",),
    "mpnews": ("media_id",),
    "voice": ("media_id",),
    "image": ("media_id",),
    "images": ("media_ids",),
    "mpvideo": ("media_id",),
    "wxcard": ("card_id",),
    "music": ("musicurl",),
}


def parse(raw: bytes) -> dict[str, Any]:
    """The JSON object of a request body: 44002 if empty, 47001 if not a JSON object."""
    if not raw.strip():
        raise errors.ApiError(44002)
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise errors.ApiError(47001) from None
    if not isinstance(body, dict):
        raise errors.ApiError(47001)
    return body


def loggable(raw: bytes) -> Any:
    """What the sent log keeps of a body: its JSON if it parses, else its text."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return raw.decode("utf-8", "replace")


def content(body: dict[str, Any], kinds: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    """Check `msgtype` and its object; returns `{msgtype: object}` (the message's content)."""
    msgtype = body.get("msgtype")
    if not isinstance(msgtype, str) or not msgtype:
        raise errors.ApiError(47001, "msgtype is required")
    if msgtype not in kinds:
        raise errors.ApiError(40008)
    obj = body.get(msgtype)
    if not isinstance(obj, dict):
        raise errors.ApiError(47001, f"{msgtype} object is required")
    for field in kinds[msgtype]:
        value = obj.get(field)
        if value is None or value == "" or value == []:
            raise errors.ApiError(47001, f"{msgtype}.{field} is required")
    if msgtype == "text" and not isinstance(obj["content"], str):
        raise errors.ApiError(47001, "text.content must be a string")
    if msgtype == "news" and len(obj["articles"]) > 1:
        raise errors.ApiError(45008)
    return {"msgtype": msgtype, msgtype: obj}


def openid(body: dict[str, Any], field: str = "touser") -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value:
        raise errors.ApiError(40003, f"{field} is required")
    return value
