"""The customer-service window: triggers, clamping, seed and wechat-2023 allowances."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.domain import kinds, window

IN = window.Interaction
W = window.Window
SEED = window.RuleProfile.SEED
W23 = window.RuleProfile.WECHAT_2023
SERVICE = kinds.AccountKind.SERVICE
SUBSCRIPTION = kinds.AccountKind.SUBSCRIPTION

T0 = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)
M = dt.timedelta(minutes=1)
S = dt.timedelta(seconds=1)


@pytest.mark.parametrize(
    ("msg_type", "event", "event_key", "expected"),
    [
        ("text", None, None, IN.MESSAGE),
        ("image", None, None, IN.MESSAGE),
        ("voice", None, None, IN.MESSAGE),
        ("video", None, None, IN.MESSAGE),
        ("shortvideo", None, None, IN.MESSAGE),
        ("location", None, None, IN.MESSAGE),
        ("link", None, None, IN.MESSAGE),
        ("miniprogrampage", None, None, IN.MESSAGE),
        ("text", "CLICK", "ignored", IN.MESSAGE),
        ("file", None, None, None),
        ("TEXT", None, None, None),
        ("event", "subscribe", None, IN.SUBSCRIBE),
        ("event", "subscribe", "", IN.SUBSCRIBE),
        ("event", "subscribe", "qrscene_123123", IN.QR_SCAN),
        ("event", "subscribe", "qrscene_campaign-7", IN.QR_SCAN),
        ("event", "subscribe", "campaign", IN.SUBSCRIBE),
        ("event", "SCAN", "123123", IN.QR_SCAN),
        ("event", "SCAN", None, IN.QR_SCAN),
        ("event", "CLICK", "MENU_KEY", IN.MENU_CLICK),
        ("event", "scancode_push", "k", IN.MENU_CLICK),
        ("event", "scancode_waitmsg", "k", IN.MENU_CLICK),
        ("event", "LOCATION", None, None),
        ("event", "VIEW", "https://example.com", None),
        ("event", "unsubscribe", "", None),
        ("event", "TEMPLATESENDJOBFINISH", None, None),
        ("event", "MASSSENDJOBFINISH", None, None),
        ("event", "pic_sysphoto", "k", None),
        ("event", "location_select", "k", None),
        ("event", "view_miniprogram", "pages/index", None),
        ("event", "kf_create_session", None, None),
        ("event", "something_new", None, None),
        ("event", None, None, None),
        # Case-sensitive, exactly as pushed.
        ("event", "Subscribe", None, None),
        ("event", "SUBSCRIBE", None, None),
        ("event", "scan", "1", None),
        ("event", "click", "k", None),
        ("event", "SCANCODE_PUSH", "k", None),
    ],
)
def test_classify(
    msg_type: str, event: str | None, event_key: str | None, expected: window.Interaction | None
) -> None:
    assert window.classify(msg_type, event, event_key) == expected


@pytest.mark.parametrize(
    ("create_time", "received_at", "expected"),
    [
        (T0, T0, T0),
        (T0 - 3 * S, T0, T0 - 3 * S),
        (T0 + 3 * S, T0, T0),  # a sender clock ahead of ours never opens a future window
        (T0 + 48 * H, T0, T0),
        (T0 - 2 * H, T0, T0 - 2 * H),
        (
            dt.datetime(2026, 3, 1, 18, 0, 5, tzinfo=dt.timezone(dt.timedelta(hours=8))),
            T0,
            T0,
        ),
        (
            dt.datetime(2026, 3, 1, 17, 59, 55, tzinfo=dt.timezone(dt.timedelta(hours=8))),
            T0,
            T0 - 5 * S,
        ),
    ],
)
def test_clamp(create_time: dt.datetime, received_at: dt.datetime, expected: dt.datetime) -> None:
    result = window.clamp(create_time, received_at)
    assert result == expected
    assert result.tzinfo is dt.UTC


def test_clamp_refuses_naive() -> None:
    with pytest.raises(ValueError, match="naive"):
        window.clamp(dt.datetime(2026, 3, 1), T0)


@pytest.mark.parametrize(
    ("w", "now", "expected"),
    [
        (W(), T0, False),
        (W(T0 + 48 * H), T0, True),
        (W(T0 + 48 * H), T0 + 47 * H + 59 * M + 59 * S, True),
        (W(T0 + 48 * H), T0 + 48 * H, False),
        (W(T0 + 48 * H), T0 + 48 * H + S, False),
        (W(T0 + 48 * H, 5), T0 + H, True),
        (W(T0 + 48 * H, 1), T0 + 47 * H + 59 * M + 59 * S, True),
        (W(T0 + 48 * H, 0), T0 + H, False),
        (W(T0 + M, 3), T0 + 59 * S, True),
        (W(T0 + M, 3), T0 + M, False),
        (W(None, 5), T0, False),
    ],
)
def test_is_open(w: window.Window, now: dt.datetime, expected: bool) -> None:
    assert window.is_open(w, now) is expected


@pytest.mark.parametrize(
    ("current", "interaction", "at", "kind", "expected"),
    [
        (W(), IN.MESSAGE, T0, SERVICE, W(T0 + 48 * H)),
        (W(), IN.SUBSCRIBE, T0, SUBSCRIPTION, W(T0 + 48 * H)),
        (W(), IN.QR_SCAN, T0, SERVICE, W(T0 + 48 * H)),
        (W(), IN.MENU_CLICK, T0, SUBSCRIPTION, W(T0 + 48 * H)),
        (W(), IN.PAYMENT, T0, SERVICE, W(T0 + 48 * H)),
        (W(), IN.PAYMENT, T0, SUBSCRIPTION, W()),
        (W(T0 + H), IN.PAYMENT, T0, SUBSCRIPTION, W(T0 + H)),
        # The latest interaction extends; an older one (delivered late) never shortens.
        (W(T0 + 48 * H), IN.MESSAGE, T0 + 10 * H, SERVICE, W(T0 + 58 * H)),
        (W(T0 + 58 * H), IN.MESSAGE, T0, SUBSCRIPTION, W(T0 + 58 * H)),
        # A closed window is simply reopened.
        (W(T0 - H), IN.MESSAGE, T0, SERVICE, W(T0 + 48 * H)),
        # Leftover wechat-2023 counts are dropped under seed.
        (W(T0 + M, 2), IN.MESSAGE, T0, SERVICE, W(T0 + 48 * H)),
        (W(T0 + 50 * H, 0), IN.MENU_CLICK, T0, SERVICE, W(T0 + 50 * H)),
    ],
)
def test_open_window_seed(
    current: window.Window,
    interaction: window.Interaction,
    at: dt.datetime,
    kind: kinds.AccountKind,
    expected: window.Window,
) -> None:
    assert window.open_window(current, interaction, at, SEED, kind) == expected


@pytest.mark.parametrize(
    ("current", "interaction", "at", "kind", "expected"),
    [
        # Each trigger's own grant.
        (W(), IN.MESSAGE, T0, SERVICE, W(T0 + 48 * H, 5)),
        (W(), IN.MESSAGE, T0, SUBSCRIPTION, W(T0 + 48 * H, 5)),
        (W(), IN.SUBSCRIBE, T0, SERVICE, W(T0 + M, 3)),
        (W(), IN.QR_SCAN, T0, SERVICE, W(T0 + M, 3)),
        (W(), IN.MENU_CLICK, T0, SUBSCRIPTION, W(T0 + M, 3)),
        (W(), IN.PAYMENT, T0, SERVICE, W(T0 + 48 * H, None)),
        (W(), IN.PAYMENT, T0, SUBSCRIPTION, W()),
        (W(T0 + H, 2), IN.PAYMENT, T0, SUBSCRIPTION, W(T0 + H, 2)),
        # A new trigger never shortens an allowance still open: latest end, largest count.
        (W(T0 + 48 * H, 4), IN.MENU_CLICK, T0 + H, SERVICE, W(T0 + 48 * H, 4)),
        (W(T0 + 48 * H, 1), IN.MENU_CLICK, T0 + H, SERVICE, W(T0 + 48 * H, 3)),
        (W(T0 + M, 3), IN.MESSAGE, T0 + 10 * S, SERVICE, W(T0 + 10 * S + 48 * H, 5)),
        (W(T0 + M, 1), IN.SUBSCRIBE, T0 + 30 * S, SERVICE, W(T0 + 30 * S + M, 3)),
        (W(T0 + 48 * H, None), IN.MESSAGE, T0 + H, SERVICE, W(T0 + 49 * H, None)),
        (W(T0 + 48 * H, None), IN.MENU_CLICK, T0 + H, SERVICE, W(T0 + 48 * H, None)),
        (W(T0 + 48 * H, 2), IN.PAYMENT, T0 + H, SERVICE, W(T0 + 49 * H, None)),
        (W(T0 + 48 * H, 2), IN.MESSAGE, T0 + H, SERVICE, W(T0 + 49 * H, 5)),
        # A window closed at `at` (expired, or used up) counts for nothing.
        (W(T0, 5), IN.MENU_CLICK, T0, SERVICE, W(T0 + M, 3)),
        (W(T0 - H, None), IN.MENU_CLICK, T0, SERVICE, W(T0 + M, 3)),
        (W(T0 + 40 * H, 0), IN.MENU_CLICK, T0, SERVICE, W(T0 + M, 3)),
        (W(T0 + 40 * H, 0), IN.MESSAGE, T0, SERVICE, W(T0 + 48 * H, 5)),
    ],
)
def test_open_window_wechat_2023(
    current: window.Window,
    interaction: window.Interaction,
    at: dt.datetime,
    kind: kinds.AccountKind,
    expected: window.Window,
) -> None:
    assert window.open_window(current, interaction, at, W23, kind) == expected


@pytest.mark.parametrize(
    ("w", "expected"),
    [
        (W(T0, None), W(T0, None)),
        (W(T0, 5), W(T0, 4)),
        (W(T0, 1), W(T0, 0)),
        (W(T0, 0), W(T0, 0)),
        (W(), W()),
    ],
)
def test_consume(w: window.Window, expected: window.Window) -> None:
    assert window.consume(w) == expected


def test_negative_remaining_is_refused() -> None:
    with pytest.raises(ValueError, match="remaining"):
        W(T0, -1)


def _sends(
    triggers: list[tuple[dt.timedelta, window.Interaction]],
    attempts: list[dt.timedelta],
    profile: window.RuleProfile,
    kind: kinds.AccountKind = SERVICE,
) -> list[bool]:
    """Replay triggers and send attempts in time order; which attempts went out."""
    steps = sorted(
        [(off, 0, inter) for off, inter in triggers] + [(off, 1, None) for off in attempts],
        key=lambda step: (step[0], step[1]),
    )
    current, sent = W(), []
    for off, is_attempt, inter in steps:
        if not is_attempt:
            assert inter is not None
            current = window.open_window(current, inter, T0 + off, profile, kind)
        elif window.is_open(current, T0 + off):
            current = window.consume(current)
            sent.append(True)
        else:
            sent.append(False)
    return sent


@pytest.mark.parametrize(
    ("triggers", "attempts", "profile", "expected"),
    [
        # seed: unlimited for 48 h after the latest interaction.
        ([(0 * S, IN.MESSAGE)], [H * k for k in range(1, 10)], SEED, [True] * 9),
        ([(0 * S, IN.MESSAGE)], [48 * H - S, 48 * H], SEED, [True, False]),
        ([(0 * S, IN.MESSAGE), (40 * H, IN.MESSAGE)], [60 * H, 88 * H], SEED, [True, False]),
        ([(0 * S, IN.MENU_CLICK)], [47 * H], SEED, [True]),
        # wechat-2023, user message: 5 within 48 h, the 6th holds.
        ([(0 * S, IN.MESSAGE)], [H * k for k in range(1, 7)], W23, [True] * 5 + [False]),
        ([(0 * S, IN.MESSAGE)], [47 * H + 59 * M + 59 * S, 48 * H], W23, [True, False]),
        # A new message resets the count to 5 from its own time.
        (
            [(0 * S, IN.MESSAGE), (10 * H, IN.MESSAGE)],
            [H * k for k in range(1, 12)],
            W23,
            [True] * 5 + [False] * 4 + [True] * 2,
        ),
        # Menu click, follow, scan: 3 within 1 minute.
        ([(0 * S, IN.MENU_CLICK)], [10 * S, 20 * S, 30 * S, 40 * S], W23, [True] * 3 + [False]),
        ([(0 * S, IN.MENU_CLICK)], [59 * S, M], W23, [True, False]),
        ([(0 * S, IN.SUBSCRIBE)], [S, 2 * S, 3 * S, 4 * S], W23, [True] * 3 + [False]),
        ([(0 * S, IN.QR_SCAN)], [M + S], W23, [False]),
        # Payment: unlimited within 48 h.
        ([(0 * S, IN.PAYMENT)], [H * k for k in range(1, 48)], W23, [True] * 47),
        ([(0 * S, IN.PAYMENT)], [48 * H], W23, [False]),
        # A menu click inside a message window never shortens it.
        ([(0 * S, IN.MESSAGE), (H, IN.MENU_CLICK)], [2 * H, 30 * H], W23, [True, True]),
        # After 4 of 5 are used, a click lifts the count to 3 but keeps the 48 h end.
        (
            [(0 * S, IN.MESSAGE), (5 * H, IN.MENU_CLICK)],
            [H, 2 * H, 3 * H, 4 * H, 6 * H, 7 * H, 8 * H, 9 * H],
            W23,
            [True] * 7 + [False],
        ),
    ],
)
def test_window_scenarios(
    triggers: list[tuple[dt.timedelta, window.Interaction]],
    attempts: list[dt.timedelta],
    profile: window.RuleProfile,
    expected: list[bool],
) -> None:
    assert _sends(triggers, attempts, profile) == expected


def test_payment_on_subscription_account_opens_nothing() -> None:
    for profile in (SEED, W23):
        assert _sends([(0 * S, IN.PAYMENT)], [S], profile, SUBSCRIPTION) == [False]
