"""Red packs and coupons in decide() (C2), and the pure rules of marketing events (C5)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from gateway.domain import decide, kinds, marketing, window

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
SERVICE = kinds.AccountKind.SERVICE
SUBSCRIPTION = kinds.AccountKind.SUBSCRIPTION
MT = decide.MessageType
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)
NOW = dt.datetime(2026, 3, 10, 4, 0, tzinfo=dt.UTC)
EXP = NOW + 7 * D


def _msg(kind: decide.MessageType, **kw: object) -> decide.Message:
    return decide.Message(type=kind, expires_at=EXP, **kw)  # type: ignore[arg-type]


def _decide(
    kind: kinds.AccountKind,
    follower: decide.Follower | None,
    message: decide.Message,
    now: dt.datetime = NOW,
) -> decide.Decision:
    account = decide.Account(kind, window.RuleProfile.SEED, SHANGHAI)
    return decide.decide(account, follower, message, decide.Usage(), now)


OPEN = decide.Follower(True, window.Window(NOW + H))
CLOSED = decide.Follower(True, window.Window(NOW - H))
GONE = decide.Follower(False, window.Window(NOW + H))
NOT_SUBSCRIBED = decide.Hold(decide.HoldReason.NOT_SUBSCRIBED, None, decide.WaitFor.SUBSCRIBE)


@pytest.mark.parametrize(
    ("kind", "channel"),
    [(MT.RED_PACK, decide.Channel.RED_PACK), (MT.COUPON, decide.Channel.COUPON)],
)
@pytest.mark.parametrize(
    ("follower", "expected_send"),
    [(OPEN, True), (CLOSED, True), (GONE, False), (None, False)],
)
def test_payment_sends_need_a_subscriber_not_a_window(
    kind: decide.MessageType,
    channel: decide.Channel,
    follower: decide.Follower | None,
    expected_send: bool,
) -> None:
    decision = _decide(SERVICE, follower, _msg(kind))
    if expected_send:
        assert decision == decide.Send(channel, 0, None)  # no quota unit either
    else:
        assert decision == NOT_SUBSCRIBED


@pytest.mark.parametrize("kind", [MT.RED_PACK, MT.COUPON])
def test_subscription_accounts_cannot_pay(kind: decide.MessageType) -> None:
    rejected = decide.check_enqueue(SUBSCRIPTION, _msg(kind))
    assert rejected is not None and rejected.capability == kinds.Capability.PAYMENTS
    assert "red packs and coupons" in rejected.message
    assert decide.check_enqueue(SERVICE, _msg(kind)) is None
    assert isinstance(_decide(SUBSCRIPTION, OPEN, _msg(kind)), decide.Reject)


def test_payment_sends_wait_for_not_before_and_expire() -> None:
    later = _msg(MT.RED_PACK, not_before=NOW + H)
    assert _decide(SERVICE, OPEN, later) == decide.Hold(decide.HoldReason.NOT_BEFORE, NOW + H)
    assert _decide(SERVICE, OPEN, _msg(MT.COUPON), now=EXP) == decide.Expire("expired")


def test_a_payment_opens_the_window_on_service_accounts_only() -> None:
    opened = window.open_window(
        window.Window(), window.Interaction.PAYMENT, NOW, window.RuleProfile.SEED, SERVICE
    )
    assert opened == window.Window(NOW + 48 * H, None)
    unchanged = window.open_window(
        window.Window(), window.Interaction.PAYMENT, NOW, window.RuleProfile.SEED, SUBSCRIPTION
    )
    assert unchanged == window.Window()


# --- marketing events -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "offsets", "error"),
    [
        (NOW + H, NOW + 2 * H, [], None),
        (NOW + H, NOW + 30 * D, [3600, 86400], None),
        (NOW + H, NOW + 30 * D + dt.timedelta(seconds=1), [], "30 days"),
        (NOW, NOW + H, [], "starts_at must be in the future"),
        (NOW - H, NOW + H, [], "starts_at must be in the future"),
        (NOW + 2 * H, NOW + 2 * H, [], "ends_at must be after"),
        (NOW + 2 * H, NOW + H, [], "ends_at must be after"),
        (NOW + H, NOW + 2 * H, [60, 60], "distinct"),
        (NOW + H, NOW + 2 * H, [0], "1 to 2592000"),
        (NOW + H, NOW + 2 * H, [2_592_001], "1 to 2592000"),
        (NOW + H, NOW + 2 * H, list(range(1, 12)), "at most 10"),
    ],
)
def test_check_schedule(
    start: dt.datetime, end: dt.datetime, offsets: list[int], error: str | None
) -> None:
    if error is None:
        marketing.check_schedule(start, end, offsets, NOW)
    else:
        with pytest.raises(marketing.InvalidSchedule, match=error):
            marketing.check_schedule(start, end, offsets, NOW)


@pytest.mark.parametrize(
    ("end", "seconds"),
    [
        (NOW + dt.timedelta(seconds=10), 60),  # WeChat's minimum
        (NOW + dt.timedelta(seconds=60), 60),
        (NOW + dt.timedelta(seconds=90, milliseconds=1), 91),  # rounded up: covers the end
        (NOW + 2 * H, 7200),
        (NOW + 30 * D, 2_592_000),
        (NOW + 31 * D, 2_592_000),  # never above the maximum
    ],
)
def test_qr_expire_seconds(end: dt.datetime, seconds: int) -> None:
    assert marketing.qr_expire_seconds(end, NOW) == seconds


def test_reminders_are_the_ones_still_ahead_earliest_first() -> None:
    start = NOW + 2 * D
    due = marketing.reminders(start, [3600, 86400, 3 * 86400], NOW)
    assert due == [
        marketing.Reminder(86400, start - D),
        marketing.Reminder(3600, start - H),
    ]
    # Exactly at a reminder's time it is no longer ahead.
    assert marketing.reminders(start, [86400], start - D) == []
    assert marketing.reminders(start, [], NOW) == []


@pytest.mark.parametrize(
    ("now", "open_"),
    [(NOW - H, True), (NOW - dt.timedelta(microseconds=1), True), (NOW, False), (NOW + H, False)],
)
def test_registration_closes_at_the_start(now: dt.datetime, open_: bool) -> None:
    assert marketing.registration_open(NOW, now) is open_


@pytest.mark.parametrize(
    ("at", "open_"), [(NOW - D, True), (NOW - dt.timedelta(seconds=1), True), (NOW, False)]
)
def test_check_in_until_the_end(at: dt.datetime, open_: bool) -> None:
    assert marketing.check_in_open(NOW, at) is open_


@pytest.mark.parametrize(("registered", "room"), [(0, True), (9, True), (10, False), (11, False)])
def test_capacity(registered: int, room: bool) -> None:
    assert marketing.has_room(registered, 10) is room


def test_naive_times_are_a_caller_bug() -> None:
    with pytest.raises(ValueError, match="naive"):
        marketing.registration_open(NOW, NOW.replace(tzinfo=None))
