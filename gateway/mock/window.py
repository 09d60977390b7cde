"""The customer-service window, as the mock platform enforces it.

Profile `seed`: any number of messages within 48 h of the latest interaction.
Profile `wechat-2023`: each trigger grants its own allowance (a user message 5 within 48 h;
a follow, scan or counted click 3 within 1 minute; a payment unlimited within 48 h). A new
trigger resets that trigger's allowance to its full count and validity.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from gateway.mock import state

Trigger = Literal["message", "event", "payment"]

WINDOW = timedelta(hours=48)
ALLOWANCES: dict[str, tuple[timedelta, int | None]] = {
    "message": (timedelta(hours=48), 5),
    "event": (timedelta(minutes=1), 3),
    "payment": (timedelta(hours=48), None),
}


def open_by(follower: state.Follower, trigger: Trigger, now: datetime) -> None:
    """Record a user-initiated interaction under both profiles' bookkeeping."""
    follower.last_interaction = now
    end = now + WINDOW
    if follower.window_end is None or follower.window_end < end:
        follower.window_end = end
    validity, count = ALLOWANCES[trigger]
    follower.allowances[trigger] = state.Allowance(until=now + validity, remaining=count)


def close(follower: state.Follower) -> None:
    """An unsubscribe ends every window."""
    follower.window_end = None
    follower.allowances.clear()


def _open_allowances(follower: state.Follower, now: datetime) -> list[state.Allowance]:
    return [a for a in follower.allowances.values() if now < a.until]


def refusal(follower: state.Follower, profile: state.Profile, now: datetime) -> int | None:
    """The errcode that refuses a customer-service message now, or None if it may go."""
    if not follower.subscribed:
        return 45015
    if profile == "seed":
        return None if follower.window_end is not None and now < follower.window_end else 45015
    live = _open_allowances(follower, now)
    if not live:
        return 45015
    if all(a.remaining == 0 for a in live):
        return 45047
    return None


def consume(follower: state.Follower, profile: state.Profile, now: datetime) -> None:
    """Count one sent message against the allowance that expires first (unlimited first)."""
    if profile == "seed":
        return
    usable = [a for a in _open_allowances(follower, now) if a.remaining != 0]
    if not usable or any(a.remaining is None for a in usable):
        return
    first = min(usable, key=lambda a: a.until)
    if first.remaining is not None:
        first.remaining -= 1


def view(follower: state.Follower, profile: state.Profile, now: datetime) -> dict[str, object]:
    """The window as the inspection route shows it."""
    if profile == "seed":
        is_open = follower.subscribed and follower.window_end is not None
        is_open = is_open and now < (follower.window_end or now)
        end = follower.window_end
        return {
            "open": is_open,
            "ends_at": end.isoformat() if end else None,
            "remaining": None,
        }
    live = _open_allowances(follower, now) if follower.subscribed else []
    counts = [a.remaining for a in live]
    return {
        "open": any(c != 0 for c in counts),
        "ends_at": max(a.until for a in live).isoformat() if live else None,
        "remaining": None if any(c is None for c in counts) else sum(c or 0 for c in counts),
        "allowances": {
            name: {"until": a.until.isoformat(), "remaining": a.remaining}
            for name, a in follower.allowances.items()
        },
    }
