"""How long a replaced AES key or pay platform certificate is trusted after the rotation."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.domain import rotation

ROTATED = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)
S = dt.timedelta(seconds=1)


@pytest.mark.parametrize(
    ("rotated_at", "now", "trusted"),
    [
        (ROTATED, ROTATED, True),  # at the rotation
        (ROTATED, ROTATED + 71 * H, True),
        (ROTATED, ROTATED + 72 * H - S, True),  # the last second of the grace period
        (ROTATED, ROTATED + 72 * H, False),  # the end is exclusive
        (ROTATED, ROTATED + 30 * 24 * H, False),  # not until the next rotation
        (ROTATED, ROTATED - H, True),  # a clock behind the rotation's: still in the period
        (None, ROTATED, False),  # replaced at an unknown time: not trusted
    ],
)
def test_previous_key_trusted_only_within_the_grace_period(
    rotated_at: dt.datetime | None, now: dt.datetime, trusted: bool
) -> None:
    assert rotation.previous_trusted(rotated_at, now) is trusted


def test_the_grace_period_is_the_one_the_readme_states() -> None:
    assert dt.timedelta(hours=72) == rotation.GRACE
