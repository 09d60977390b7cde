"""When a send may be attempted again: the cap on lease take-overs, and the platform's
deduplication windows for a send whose earlier attempt has an unknown outcome (pure).

An attempt's outcome is unknown when WeChat may have carried it out without our learning so:
a timeout, a dropped connection, an HTTP 5xx, a worker that died with the lease. A keyed send
(template `client_msg_id`, mass `clientmsgid`) repeated within the platform's window is
deduplicated there; after it, a repeat could deliver twice, so it is not made.
"""

from __future__ import annotations

import datetime as dt

from gateway.domain import decide

# A delivery is re-sent by take-over at most this many times; the next time its lease is lost
# (the worker died or stalled with it again) it fails `attempts_exhausted`.
MAX_TAKEOVERS = 3

# How long the platform deduplicates a key (wechat-platform.md 6.4, 6.5).
DEDUPE_WINDOWS: dict[decide.Channel, dt.timedelta] = {
    decide.Channel.TEMPLATE: dt.timedelta(minutes=10),  # "about 10 minutes"
    decide.Channel.MASS_OPENIDS: dt.timedelta(hours=24),
    decide.Channel.MASS_SINGLE: dt.timedelta(hours=24),
    decide.Channel.SENDALL: dt.timedelta(hours=24),
}
# A repeat must start this long before the window closes: the call itself takes time, and the
# platform's window is only approximately documented.
SAFETY_MARGIN = dt.timedelta(minutes=1)

OUTCOME_UNKNOWN = "outcome_unknown"
ATTEMPTS_EXHAUSTED = "attempts_exhausted"


def repeat_allowed(
    channel: decide.Channel | str | None, unknown_since: dt.datetime | None, now: dt.datetime
) -> bool:
    """May a send on `channel` start at `now`, given its earliest attempt of unknown outcome?

    Customer-service sends have no key (at-least-once, always allowed); payment sends are
    keyed by the merchant's request number, which the payment API never forgets.
    """
    if unknown_since is None or channel is None:
        return True
    window = DEDUPE_WINDOWS.get(decide.Channel(channel))
    if window is None:
        return True
    return now < unknown_since + window - SAFETY_MARGIN


def takeover_allowed(takeovers: int) -> bool:
    """A row whose lease was lost `takeovers` times (this one included) may be re-sent."""
    return takeovers <= MAX_TAKEOVERS
