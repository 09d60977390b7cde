"""The mock's settings, fixed when the application is created."""

from __future__ import annotations

import dataclasses
import zoneinfo
from collections.abc import Callable
from datetime import UTC, datetime


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclasses.dataclass(frozen=True)
class MockConfig:
    clock: Callable[[], datetime] = system_clock
    quota_tz: zoneinfo.ZoneInfo = dataclasses.field(
        default_factory=lambda: zoneinfo.ZoneInfo("Asia/Shanghai")
    )
    callback_timeout: float = 5.0
    callback_attempts: int = 3
    job_finish_delay: float = 0.05

    def now(self) -> datetime:
        """The mock's current time; the clock must return an aware datetime."""
        moment = self.clock()
        if moment.tzinfo is None:
            raise ValueError("the mock's clock must return a timezone-aware datetime")
        return moment.astimezone(UTC)
