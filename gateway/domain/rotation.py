"""Key rotation: how long a replaced AES key or pay platform certificate is still trusted."""

from __future__ import annotations

import datetime as dt

# WeChat's callbacks and WeChat Pay's notifications retry for minutes, not days: three days
# covers every delivery signed or encrypted before a rotation, and a key an operator replaced
# because it leaked stops working three days later, not at the next rotation.
GRACE = dt.timedelta(hours=72)


def previous_trusted(rotated_at: dt.datetime | None, now: dt.datetime) -> bool:
    """A replaced key is trusted for GRACE after the rotation that replaced it (end
    exclusive); one replaced at an unknown time (None) is not trusted."""
    return rotated_at is not None and now < rotated_at + GRACE
