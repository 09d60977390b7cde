"""Making a pass's calls: per account, as many coroutines as it may have calls in flight take
its calls in claim order, instead of a task per call waiting for a slot (a task, a wait and a
wake-up less per call at thousands a second)."""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable, Sequence

from gateway.domain import decide
from scheduler import sender, work

log = logging.getLogger(__name__)

Finished = asyncio.Queue[tuple[work.Call, sender.Result | None]]
Send = Callable[[work.Call], Awaitable[sender.Result]]


def start(
    calls: Sequence[work.Call], send: Send, per_account: int, finished: Finished
) -> list[asyncio.Task[None]]:
    """Start making `calls`; each one's result (None: the send crashed) goes to `finished`."""
    queues: dict[str, collections.deque[work.Call]] = {}
    tasks = []
    for call in calls:
        if call.channel == decide.Channel.MASS_SINGLE:
            # A tag sequence waits for one of the account's few tag slots: alone, so that the
            # account's other calls do not queue behind it.
            tasks.append(asyncio.create_task(_lane(collections.deque([call]), send, finished)))
        else:
            queues.setdefault(call.account.id, collections.deque()).append(call)
    for queue in queues.values():
        for _ in range(min(len(queue), max(1, per_account))):
            tasks.append(asyncio.create_task(_lane(queue, send, finished)))
    return tasks


async def _lane(queue: collections.deque[work.Call], send: Send, finished: Finished) -> None:
    while queue:
        call = queue.popleft()
        result: sender.Result | None = None
        try:
            result = await send(call)
        except Exception:
            # Left leased: the lease expires and a worker takes the rows over.
            log.exception(
                "send crashed", extra={"action": "send_crash", "account_id": call.account.id}
            )
        finally:
            finished.put_nowait((call, result))
