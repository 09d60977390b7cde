"""The customer-service window (SPEC 1.1 and 1.2): which interactions open it and for how long.

Profile `seed` (the default): every interaction opens an unlimited window for 48 hours after
the latest one. Profile `wechat-2023`: each trigger grants a number of messages within a
validity (message 5/48 h; follow, QR scan, counted menu click 3/1 min; payment unlimited/48 h).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import types
from collections.abc import Mapping

from gateway.domain import kinds, periods

SEED_VALIDITY = dt.timedelta(hours=48)


class RuleProfile(enum.StrEnum):
    SEED = "seed"
    WECHAT_2023 = "wechat-2023"


class Interaction(enum.StrEnum):
    MESSAGE = "message"
    SUBSCRIBE = "subscribe"
    QR_SCAN = "qr_scan"
    MENU_CLICK = "menu_click"
    PAYMENT = "payment"


_MESSAGE_TYPES = frozenset(
    {"text", "image", "voice", "video", "shortvideo", "location", "link", "miniprogrampage"}
)
# Event names are case-sensitive exactly as WeChat pushes them.
_MENU_EVENTS = frozenset({"CLICK", "scancode_push", "scancode_waitmsg"})
_QR_PREFIX = "qrscene_"


@dataclasses.dataclass(frozen=True)
class Window:
    """A follower's allowance: open until `ends_at`; `remaining` None means unlimited."""

    ends_at: dt.datetime | None = None
    remaining: int | None = None

    def __post_init__(self) -> None:
        if self.remaining is not None and self.remaining < 0:
            raise ValueError(f"remaining must be >= 0, got {self.remaining}")


# wechat-2023 grants per trigger: (validity, count), count None = unlimited.
_WECHAT_2023: Mapping[Interaction, tuple[dt.timedelta, int | None]] = types.MappingProxyType(
    {
        Interaction.MESSAGE: (dt.timedelta(hours=48), 5),
        Interaction.SUBSCRIBE: (dt.timedelta(minutes=1), 3),
        Interaction.QR_SCAN: (dt.timedelta(minutes=1), 3),
        Interaction.MENU_CLICK: (dt.timedelta(minutes=1), 3),
        Interaction.PAYMENT: (dt.timedelta(hours=48), None),
    }
)


def classify(msg_type: str, event: str | None, event_key: str | None) -> Interaction | None:
    """The window trigger a pushed message or event is, or None if it opens no window.

    A `subscribe` is a trigger whether or not it carries a `qrscene_` key; marking the
    follower subscribed is the caller's job and does not depend on this answer.
    """
    if msg_type != "event":
        return Interaction.MESSAGE if msg_type in _MESSAGE_TYPES else None
    if event == "subscribe":
        if event_key is not None and event_key.startswith(_QR_PREFIX):
            return Interaction.QR_SCAN
        return Interaction.SUBSCRIBE
    if event == "SCAN":
        return Interaction.QR_SCAN
    if event in _MENU_EVENTS:
        return Interaction.MENU_CLICK
    return None


def clamp(create_time: dt.datetime, received_at: dt.datetime) -> dt.datetime:
    """The interaction time: CreateTime, but never later than when we received it (UTC)."""
    return min(periods.utc(create_time), periods.utc(received_at))


def is_open(window: Window, now: dt.datetime) -> bool:
    """True iff a customer-service message may go out at `now`: before the end, count left.

    The end is exclusive: 48:00:00 after the interaction the window is closed.
    """
    if window.ends_at is None or periods.utc(now) >= window.ends_at:
        return False
    return window.remaining is None or window.remaining > 0


def _join(current: Window, end: dt.datetime, count: int | None, at: dt.datetime) -> Window:
    # The least allowance that shortens neither: latest end, largest count (None = unlimited).
    # A current window that is closed at `at` (expired or used up) counts for nothing.
    if current.ends_at is None or not is_open(current, at):
        return Window(end, count)
    if current.remaining is None or count is None:
        remaining = None
    else:
        remaining = max(current.remaining, count)
    return Window(max(current.ends_at, end), remaining)


def open_window(
    current: Window,
    interaction: Interaction,
    at: dt.datetime,
    profile: RuleProfile,
    kind: kinds.AccountKind,
) -> Window:
    """The window after `interaction` at `at` (already clamped); never shorter while open.

    seed: unlimited until max(current end, at + 48 h). wechat-2023: if `current` is still
    open at `at`, the result is the join of both allowances (latest end, largest count, None
    if either is unlimited); otherwise the trigger's own grant. A payment counts only on a
    service account; on a subscription account `current` comes back unchanged.
    """
    at = periods.utc(at)
    if interaction == Interaction.PAYMENT and kind != kinds.AccountKind.SERVICE:
        return current
    if profile == RuleProfile.SEED:
        end = at + SEED_VALIDITY
        if current.ends_at is not None and current.ends_at > end:
            end = current.ends_at
        return Window(end, None)
    validity, count = _WECHAT_2023[interaction]
    return _join(current, at + validity, count, at)


def consume(window: Window) -> Window:
    """The window after one customer-service message was sent in it; never below zero."""
    if window.remaining is None:
        return window
    return dataclasses.replace(window, remaining=max(window.remaining - 1, 0))
