import datetime as dt

import pytest

from scheduler import backoff

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("attempt", "expected"),
    [
        (0, 1.0),
        (1, 1.0),
        (2, 2.0),
        (3, 4.0),
        (8, 128.0),
        (9, 256.0),
        (10, 300.0),
        (11, 300.0),
        (1000, 300.0),
    ],
)
def test_ceiling_doubles_up_to_the_cap(attempt: int, expected: float) -> None:
    assert backoff.ceiling(attempt) == expected


@pytest.mark.parametrize(
    ("draw", "attempt", "expected"),
    [
        (0.0, 5, 0.0),
        (1.0, 5, 16.0),
        (0.5, 5, 8.0),
        (1.0, 50, 300.0),
        (-1.0, 3, 0.0),  # a bad jitter source is clamped, never negative
        (2.0, 3, 4.0),
    ],
)
def test_delay_is_a_fraction_of_the_ceiling(draw: float, attempt: int, expected: float) -> None:
    assert backoff.delay(attempt, lambda: draw) == expected


def test_custom_base_and_cap() -> None:
    assert backoff.ceiling(4, base=0.5, cap=3.0) == 3.0
    assert backoff.ceiling(2, base=0.5, cap=3.0) == 1.0


def test_retry_at_adds_the_delay() -> None:
    assert backoff.retry_at(T0, 3, lambda: 1.0) == T0 + dt.timedelta(seconds=4)
    assert backoff.retry_at(T0, 1, lambda: 0.0) == T0
