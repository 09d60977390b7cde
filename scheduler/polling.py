"""A worker's polling loop for a claim-driven job (follower syncs, menus): run its passes
while they find work, then look again every `poll` seconds, until the job is stopped; and
`drain`, the same passes until one finds nothing (for tests and one-off runs)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Loop:
    run_once: Callable[[], Awaitable[bool]]  # True: it did something, look again at once
    stopping: asyncio.Event
    name: str  # for the log: "menu", "follower sync"
    action: str  # the log record's action when a pass fails
    poll: float = 1.0

    async def run(self) -> None:
        while not self.stopping.is_set():
            try:
                while not self.stopping.is_set() and await self.run_once():
                    pass
            except Exception:  # a pass never ends the loop: the next poll tries again
                log.exception("%s pass failed", self.name, extra={"action": self.action})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=self.poll)


async def drain(run_once: Callable[[], Awaitable[bool]], timeout: float = 60.0) -> int:  # noqa: ASYNC109
    """Run passes until one finds nothing due; how many found something."""
    claimed = 0
    async with asyncio.timeout(timeout):
        while await run_once():
            claimed += 1
    return claimed
