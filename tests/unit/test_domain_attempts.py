"""The repeat rules of gateway.domain.attempts, as tables."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.domain import attempts, decide

T0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
C = decide.Channel


@pytest.mark.parametrize(
    ("channel", "unknown_since", "now", "allowed"),
    [
        (C.TEMPLATE, None, T0 + dt.timedelta(days=3), True),  # nothing unknown
        (C.TEMPLATE, T0, T0 + dt.timedelta(minutes=8, seconds=59), True),
        (C.TEMPLATE, T0, T0 + dt.timedelta(minutes=9), False),  # 10 min window - 1 min margin
        (C.TEMPLATE, T0, T0 + dt.timedelta(hours=1), False),
        (C.MASS_OPENIDS, T0, T0 + dt.timedelta(hours=22, minutes=58), True),
        (C.MASS_OPENIDS, T0, T0 + dt.timedelta(hours=23, minutes=59), False),
        (C.MASS_SINGLE, T0, T0 + dt.timedelta(hours=23, minutes=59), False),
        (C.SENDALL, T0, T0 + dt.timedelta(days=2), False),
        ("sendall", T0, T0 + dt.timedelta(minutes=30), True),
        (C.CUSTOM, T0, T0 + dt.timedelta(days=2), True),  # no key: at-least-once
        (C.RED_PACK, T0, T0 + dt.timedelta(days=2), True),  # mch_billno is never forgotten
        (C.COUPON, T0, T0 + dt.timedelta(days=2), True),
        (None, T0, T0 + dt.timedelta(days=2), True),
    ],
)
def test_repeat_allowed(
    channel: decide.Channel | str | None,
    unknown_since: dt.datetime | None,
    now: dt.datetime,
    allowed: bool,
) -> None:
    assert attempts.repeat_allowed(channel, unknown_since, now) is allowed


@pytest.mark.parametrize(("takeovers", "allowed"), [(1, True), (3, True), (4, False), (9, False)])
def test_takeover_allowed(takeovers: int, allowed: bool) -> None:
    assert attempts.takeover_allowed(takeovers) is allowed
