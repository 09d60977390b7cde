"""Webhook payloads (SPEC 7): event ids, `{"id","type","account_id","created_at","data"}`,
callback fields in snake case and the callback body as XML. Pure: rows in, bytes out.

The body of one event is the same bytes on every attempt and replay (sorted keys), so a
receiver may hash it as well as deduplicate on `webhook-id`.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Mapping
from typing import Any
from xml.sax import saxutils

INBOUND_PREFIX = "evt_i"  # + the inbound_events id, 16 hex digits
OTHER_PREFIX = "evt_o"  # + the webhook_events id
_WORD = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_ELEMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
# One encoder for every body (json.dumps with these options builds one per call).
_ENCODE = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode


def event_id(inbound: bool, row_id: int) -> str:
    """The stable `webhook-id` of a stored event (callback or other event)."""
    return f"{INBOUND_PREFIX if inbound else OTHER_PREFIX}{row_id:016x}"


def parse_event_id(value: str) -> tuple[bool, int] | None:
    """(inbound, row id) of an id made by event_id, or None."""
    for inbound, prefix in ((True, INBOUND_PREFIX), (False, OTHER_PREFIX)):
        rest = value.removeprefix(prefix)
        if rest != value and re.fullmatch(r"[0-9a-f]{16}", rest):
            return inbound, int(rest, 16)
    return None


def rfc3339(value: dt.datetime) -> str:
    utc = value if value.tzinfo is dt.UTC else value.astimezone(dt.UTC)  # the store's are UTC
    return utc.isoformat().replace("+00:00", "Z")


@functools.lru_cache(maxsize=4096)  # field names repeat: computed once each
def snake(name: str) -> str:
    """WeChat's field names in snake case: MsgId -> msg_id, Location_X -> location_x,
    MsgID -> msg_id, PicUrl -> pic_url."""
    return _WORD.sub("_", name).lower().replace("__", "_")


@functools.lru_cache(maxsize=4096)  # field names repeat: checked once each
def _element(name: str) -> bool:
    return _ELEMENT.fullmatch(name) is not None


def callback_xml(fields: Mapping[str, str]) -> str:
    """The decrypted callback as XML, rebuilt from the stored fields (one element each)."""
    parts = ["<xml>"]
    for name, value in fields.items():
        if not _element(name):
            continue
        if value.startswith(f"<{name}") and value.endswith(f"</{name}>"):
            parts.append(value)  # a nested element, stored as its own XML
        elif "]]>" not in value:
            parts.append(f"<{name}><![CDATA[{value}]]></{name}>")
        else:
            parts.append(f"<{name}>{saxutils.escape(str(value))}</{name}>")
    parts.append("</xml>")
    return "".join(parts)


def callback_data(
    openid: str, create_time: dt.datetime, fields: Mapping[str, str], xml: str | None = None
) -> dict[str, Any]:
    """`data` of message.* / event.*: openid, create_time, snake-case fields, xml (the body
    as received when it was kept, else rebuilt from the fields)."""
    data: dict[str, Any] = {}
    for name, value in fields.items():
        key = snake(name)
        if key not in ("to_user_name", "from_user_name", "create_time", "msg_type", "encrypt"):
            data[key] = value
    data["openid"] = openid
    data["create_time"] = rfc3339(create_time)
    data["xml"] = callback_xml(fields) if xml is None else xml
    return data


def payload(
    ev_id: str, event_type: str, account_id: str, created_at: dt.datetime, data: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "id": ev_id,
        "type": event_type,
        "account_id": account_id,
        "created_at": rfc3339(created_at),
        "data": dict(data),
    }


def body(value: Mapping[str, Any]) -> bytes:
    """The request body: compact JSON, sorted keys, UTF-8."""
    return _ENCODE(value).encode()
