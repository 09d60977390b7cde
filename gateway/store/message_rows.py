"""The frozen values the message store hands out: a listed message, a message with its
recipient counts and history, and one transition of its history."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any


@dataclasses.dataclass(frozen=True, slots=True)
class Transition:
    """One entry of a message's history; `detail` is its stored JSON document."""

    at: dt.datetime
    status: str
    reason: str | None
    detail: Any


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Listed:
    """A message as the keyset listing reads it (no content, counts or history)."""

    id: int
    account_id: str
    type: str
    recipient: str | None
    status: str
    reason: str | None
    release_at: dt.datetime | None
    not_before: dt.datetime | None
    expires_at: dt.datetime
    idempotency_key: str | None
    attempts: int
    wechat_msgid: str | None
    errcode: int | None
    errmsg: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Message(Listed):
    """A message with every column the API shows; audience, content and template are its
    stored JSON documents, `counts` its recipients by status, `history` oldest first."""

    audience: dict[str, Any] | None
    content: dict[str, Any] | None
    template: dict[str, Any] | None
    outside_window: str
    recipients_total: int
    counts: dict[str, int]
    history: tuple[Transition, ...]
