"""Typed view of one inbound callback (message or event), validated before it is stored."""

from __future__ import annotations

import dataclasses
import re
import types
from collections.abc import Mapping

from gateway import errors

_DIGITS_RE = re.compile(r"[0-9]{1,20}")
_MAX_CREATE_TIME = 2**32 - 1
_MAX_MSG_ID = 2**64 - 1

# Required extra fields of the normal message types (platform doc 3.1). Only presence is
# checked, so an odd but real push is still stored; miniprogrampage requires none for the same
# reason (it is mainly a mini-program customer-service message).
_MESSAGE_FIELDS: Mapping[str, tuple[str, ...]] = {
    "text": ("Content",),
    "image": ("PicUrl", "MediaId"),
    "voice": ("MediaId", "Format"),
    "video": ("MediaId", "ThumbMediaId"),
    "shortvideo": ("MediaId", "ThumbMediaId"),
    "location": ("Location_X", "Location_Y", "Scale", "Label"),
    "link": ("Title", "Description", "Url"),
    "miniprogrampage": (),
}
# Events that carry the platform's job id, spelt MsgID (not MsgId).
_JOB_EVENTS = frozenset({"TEMPLATESENDJOBFINISH", "MASSSENDJOBFINISH"})


class InvalidMessage(errors.WxgateError, ValueError):
    """A callback lacks a required field or holds one that is malformed or out of bounds."""


@dataclasses.dataclass(frozen=True)
class Inbound:
    """One validated callback; `fields` keeps every raw field for storage."""

    to_user: str
    from_user: str
    create_time: int
    msg_type: str
    event: str | None
    event_key: str | None
    msg_id: int | None
    fields: Mapping[str, str] = dataclasses.field(hash=False, repr=False)

    @property
    def dedupe_key(self) -> str:
        """Same for every retry of one push, different for distinct pushes (doc 4.4).

        Messages key on MsgId and sender (MsgIds collide across users, WxJava#333); events on
        sender, time, Event and EventKey, plus MsgID for job-finish events, so two jobs that
        finish in the same second both count.
        """
        if self.event is None:
            if self.msg_id is not None:
                return f"m:{self.msg_id}:{self.from_user}"
            return f"u:{self.from_user}:{self.create_time}:{self.msg_type}"
        key = f"e:{self.from_user}:{self.create_time}:{self.event}:{self.event_key or ''}"
        return key if self.msg_id is None else f"{key}:{self.msg_id}"

    @property
    def scene(self) -> str | None:
        """The parametric-QR scene of a `subscribe` (qrscene_ prefix removed) or `SCAN`."""
        key = self.event_key
        if self.event == "subscribe" and key is not None and key.startswith("qrscene_"):
            return key.removeprefix("qrscene_") or None
        if self.event == "SCAN":
            return key or None
        return None


def _present(fields: Mapping[str, str], name: str) -> str:
    value = fields.get(name)
    if not isinstance(value, str):
        raise InvalidMessage(f"{name} is missing")
    return value


def _text(fields: Mapping[str, str], name: str, low: int, high: int) -> str:
    value = _present(fields, name)
    if not low <= len(value) <= high:
        raise InvalidMessage(f"{name} must be {low} to {high} characters long")
    return value


def _integer(fields: Mapping[str, str], name: str, high: int) -> int:
    value = _present(fields, name)
    # A strict pattern: int() would also take "+1", " 1", "1_0" and non-ASCII digits.
    if not _DIGITS_RE.fullmatch(value) or int(value) > high:
        raise InvalidMessage(f"{name} must be an integer from 0 to {high}")
    return int(value)


def parse_inbound(fields: Mapping[str, str]) -> Inbound:
    """Validate the raw fields of a callback and return its typed view.

    Unknown MsgType and Event values are accepted with only the common fields checked.
    """
    to_user = _text(fields, "ToUserName", 0, 64)  # empty in some MASSSENDJOBFINISH captures
    from_user = _text(fields, "FromUserName", 1, 64)
    create_time = _integer(fields, "CreateTime", _MAX_CREATE_TIME)
    msg_type = _text(fields, "MsgType", 1, 32)
    event: str | None = None
    event_key: str | None = None
    msg_id: int | None = None
    if msg_type == "event":
        event = _text(fields, "Event", 1, 64)
        key = fields.get("EventKey")
        event_key = key if isinstance(key, str) else None
        if event in _JOB_EVENTS:
            msg_id = _integer(fields, "MsgID", _MAX_MSG_ID)
    elif msg_type in _MESSAGE_FIELDS or "MsgId" in fields:
        # Known types must carry MsgId; an unknown type is keyed on it when present.
        msg_id = _integer(fields, "MsgId", _MAX_MSG_ID)
        for name in _MESSAGE_FIELDS.get(msg_type, ()):
            _present(fields, name)
    return Inbound(
        to_user=to_user,
        from_user=from_user,
        create_time=create_time,
        msg_type=msg_type,
        event=event,
        event_key=event_key,
        msg_id=msg_id,
        fields=types.MappingProxyType(dict(fields)),
    )
