"""The follower fold: one follower's state after each of its callbacks, in arrival order.

Pure: the store locks the follower rows, folds the batch's events with `apply`, and writes
the states back (gateway.store.inbound).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Protocol

from gateway.domain import kinds, window


class FollowerEvent(Protocol):
    """What the fold reads of one verified callback (gateway.store.inbound.EventRecord)."""

    @property
    def kind(self) -> kinds.AccountKind: ...
    @property
    def profile(self) -> window.RuleProfile: ...
    @property
    def event(self) -> str | None: ...
    @property
    def scene(self) -> str | None: ...
    @property
    def interaction(self) -> window.Interaction | None: ...
    @property
    def at(self) -> dt.datetime: ...


@dataclasses.dataclass
class Follower:
    """One follower's state while a batch is folded; `wake`: its held deliveries may be due."""

    subscribed: bool
    window: window.Window
    first_qr_scene: str | None
    subscription_at: dt.datetime | None = None  # of the event that set `subscribed` last
    subscribed_at: dt.datetime | None = None
    unsubscribed_at: dt.datetime | None = None
    last_interaction_at: dt.datetime | None = None
    last_interaction: str | None = None
    latest_qr_scene: str | None = None
    wake: bool = False


def _latest(a: dt.datetime | None, b: dt.datetime) -> dt.datetime:
    return b if a is None or b > a else a


def apply(state: Follower, record: FollowerEvent) -> None:
    """Fold one follower event into the follower's state (pure). Events come in arrival
    order, but the subscription follows their time: an event older than the one that set
    it last leaves it alone (ties: the later arrival wins)."""
    at = record.at
    interaction = record.interaction
    if record.event == "subscribe":
        state.subscribed_at = _latest(state.subscribed_at, at)
    elif record.event == "unsubscribe":
        state.unsubscribed_at = _latest(state.unsubscribed_at, at)
    # Only followers can message, scan or click: an interaction proves the subscription.
    says = None if interaction is None else True
    if record.event in ("subscribe", "unsubscribe"):
        says = record.event == "subscribe"
    if says is not None and (state.subscription_at is None or at >= state.subscription_at):
        if says and not state.subscribed:
            state.wake = True  # a re-subscribe releases what waited for it
        state.subscribed = says
        state.subscription_at = at
    if interaction is not None:
        state.window = window.open_window(
            state.window, interaction, at, record.profile, record.kind
        )
        if state.last_interaction_at is None or at >= state.last_interaction_at:
            state.last_interaction_at = at
            state.last_interaction = interaction.value
        state.wake = True
    if record.scene is not None:
        state.latest_qr_scene = record.scene
        state.first_qr_scene = state.first_qr_scene or record.scene
