"""Group commit for callbacks: handlers queue their event and wait; one writer task commits
whatever is queued in one transaction as soon as the previous batch is done (no timer), then
wakes each handler with its own result. Nobody is answered before their event is committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

from gateway.store import inbound

log = logging.getLogger(__name__)


class Overloaded(Exception):
    """The queue is full: answer 503 at once rather than grow without bound."""


class GroupCommitter:
    def __init__(
        self,
        db: asyncpg.Pool,
        *,
        max_batch: int = 1000,
        max_queue: int = 20000,
        statement_timeout: float = 4.0,
    ) -> None:
        self._pool = db
        self._max_batch = max_batch
        self._timeout = statement_timeout
        Item = tuple[inbound.EventRecord, asyncio.Future[bool]]
        self._queue: asyncio.Queue[Item] = asyncio.Queue(max_queue)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="group-commit")

    async def stop(self) -> None:
        """Finish what is queued, then end the writer."""
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), 10)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    def submit(self, record: inbound.EventRecord) -> asyncio.Future[bool]:
        """Queue a record; the future resolves to True (stored) or False (a retry) after the
        commit, or raises the batch's database error."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait((record, future))
        except asyncio.QueueFull:
            raise Overloaded() from None
        return future

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            # Handlers that gave up (timed out) still get their event stored: a retry of it
            # is then answered as a duplicate.
            await self._commit(batch)
            for _ in batch:
                self._queue.task_done()

    async def _commit(self, batch: list[tuple[inbound.EventRecord, asyncio.Future[bool]]]) -> None:
        records = [record for record, _ in batch]
        try:
            async with self._pool.acquire(timeout=self._timeout) as conn:
                results = await asyncio.wait_for(inbound.store_batch(conn, records), self._timeout)
        except Exception as exc:
            log.warning(
                "callback batch not stored: %s",
                type(exc).__name__,
                extra={"action": "group_commit_failed", "size": len(batch)},
            )
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
                    future.exception()  # retrieved here: handlers may have stopped waiting
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
