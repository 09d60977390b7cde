"""Per-minute bar charts of the last hour, as geometry for server-side SVG (no JavaScript)."""

from __future__ import annotations

import dataclasses
import datetime as dt

MINUTES = 60
WIDTH, HEIGHT = 600, 120
_BAR = WIDTH / MINUTES


@dataclasses.dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    minute: dt.datetime
    count: int


@dataclasses.dataclass(frozen=True)
class Chart:
    title: str
    bars: tuple[Bar, ...]
    total: int
    peak: int
    start: dt.datetime
    width: int = WIDTH
    height: int = HEIGHT


def window_start(now: dt.datetime) -> dt.datetime:
    """The first of the 60 whole minutes that end with the current one."""
    return now.replace(second=0, microsecond=0) - dt.timedelta(minutes=MINUTES - 1)


def chart(title: str, counts: dict[dt.datetime, int], now: dt.datetime) -> Chart:
    """One bar per minute of the last hour, scaled to the busiest minute."""
    start = window_start(now)
    minutes = [start + dt.timedelta(minutes=i) for i in range(MINUTES)]
    values = [counts.get(m, 0) for m in minutes]
    peak = max(values, default=0)
    bars = []
    for i, (minute, n) in enumerate(zip(minutes, values, strict=True)):
        height = round(HEIGHT * n / peak, 1) if peak else 0.0
        bars.append(Bar(i * _BAR + 1, HEIGHT - height, _BAR - 2, height, minute, n))
    return Chart(title, tuple(bars), sum(values), peak, start)
