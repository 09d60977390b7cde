"""The follower fold (gateway.domain.follower_fold.apply): subscription by event time, the
window, the latest interaction, QR scenes and the wake flag, one event after another."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from gateway.domain import follower_fold, kinds, window

T0 = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)
SEED = window.RuleProfile.SEED
SERVICE = kinds.AccountKind.SERVICE


@dataclasses.dataclass(frozen=True)
class Event:
    """A callback as the fold reads it (the store's EventRecord has the same properties)."""

    event: str | None
    interaction: window.Interaction | None
    at: dt.datetime
    scene: str | None = None
    kind: kinds.AccountKind = SERVICE
    profile: window.RuleProfile = SEED


MSG = window.Interaction.MESSAGE
SUB = window.Interaction.SUBSCRIBE
QR = window.Interaction.QR_SCAN


def _fresh(subscribed: bool = False, **kw: object) -> follower_fold.Follower:
    return follower_fold.Follower(subscribed, window.Window(), None, **kw)  # type: ignore[arg-type]


def _fold(state: follower_fold.Follower, *events: Event) -> follower_fold.Follower:
    for e in events:
        follower_fold.apply(state, e)
    return state


@pytest.mark.parametrize(
    ("events", "subscribed", "wake"),
    [
        ((), False, False),
        ((Event("subscribe", SUB, T0),), True, True),
        ((Event("unsubscribe", None, T0),), False, False),
        ((Event("subscribe", SUB, T0), Event("unsubscribe", None, T0 + H)), False, True),
        # an older unsubscribe arriving later does not undo a newer subscribe
        ((Event("subscribe", SUB, T0 + H), Event("unsubscribe", None, T0)), True, True),
        # a tie: the later arrival wins
        ((Event("subscribe", SUB, T0), Event("unsubscribe", None, T0)), False, True),
        # a message proves the subscription and wakes
        ((Event(None, MSG, T0),), True, True),
        # an event that is no interaction changes nothing
        ((Event("VIEW", None, T0),), False, False),
    ],
)
def test_subscription_follows_event_time(
    events: tuple[Event, ...], subscribed: bool, wake: bool
) -> None:
    state = _fold(_fresh(), *events)
    assert (state.subscribed, state.wake) == (subscribed, wake)


def test_a_resubscribe_wakes_but_staying_subscribed_does_not() -> None:
    assert _fold(_fresh(True), Event("unsubscribe", None, T0)).wake is False
    assert _fold(_fresh(False), Event("subscribe", SUB, T0)).wake is True


@pytest.mark.parametrize(
    ("events", "subscribed_at", "unsubscribed_at"),
    [
        ((Event("subscribe", SUB, T0), Event("subscribe", SUB, T0 - H)), T0, None),
        ((Event("unsubscribe", None, T0 - H), Event("unsubscribe", None, T0)), None, T0),
        ((Event("subscribe", SUB, T0), Event("unsubscribe", None, T0 + H)), T0, T0 + H),
    ],
)
def test_subscribe_and_unsubscribe_times_keep_the_latest(
    events: tuple[Event, ...],
    subscribed_at: dt.datetime | None,
    unsubscribed_at: dt.datetime | None,
) -> None:
    state = _fold(_fresh(), *events)
    assert (state.subscribed_at, state.unsubscribed_at) == (subscribed_at, unsubscribed_at)


def test_an_interaction_opens_the_window_by_the_domain_rule() -> None:
    state = _fold(_fresh(), Event(None, MSG, T0))
    assert state.window == window.open_window(window.Window(), MSG, T0, SEED, SERVICE)
    assert state.window.ends_at == T0 + window.SEED_VALIDITY


@pytest.mark.parametrize(
    ("times", "latest"),
    [((T0, T0 + H), T0 + H), ((T0 + H, T0), T0 + H), ((T0, T0), T0)],
)
def test_the_latest_interaction_is_the_latest_in_time(
    times: tuple[dt.datetime, dt.datetime], latest: dt.datetime
) -> None:
    state = _fold(_fresh(), Event(None, MSG, times[0]), Event("subscribe", SUB, times[1]))
    assert state.last_interaction_at == latest
    expected = "message" if times[0] > times[1] else "subscribe"
    assert state.last_interaction == expected


def test_qr_scenes_keep_the_first_and_the_latest() -> None:
    state = _fold(
        _fresh(),
        Event("subscribe", QR, T0, scene="a"),
        Event("SCAN", QR, T0 + H, scene="b"),
        Event(None, MSG, T0 + 2 * H),
    )
    assert (state.first_qr_scene, state.latest_qr_scene) == ("a", "b")
