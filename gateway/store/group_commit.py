"""Group commit for callbacks: handlers queue their event and wait; a writer task commits
whatever is queued in one transaction as soon as its previous batch is done (no timer), then
wakes each handler with its own result. Nobody is answered before their event is committed.

Several writers commit at once, each on its own connection: while one batch waits for its
commit, the next is already being written. Followers are partitioned among the writers (by
account and openid), so one follower's events are stored in the order they came, and two
batches in flight never wait for each other's follower rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

from gateway.store import deadlines, errors, inbound

log = logging.getLogger(__name__)


class Overloaded(errors.Unavailable):
    """The queue is full: answer 503 at once rather than grow without bound."""

    def __init__(self) -> None:
        errors.StoreError.__init__(self, "the callback queue is full; retry later")


class GroupCommitter:
    def __init__(
        self,
        db: asyncpg.Pool,
        *,
        max_batch: int = 1000,
        max_queue: int = 20000,
        statement_timeout: float = 4.0,
        writers: int = 2,
    ) -> None:
        self._pool = db
        self._max_batch = max_batch
        self._timeout = statement_timeout
        Item = tuple[inbound.EventRecord, asyncio.Future[inbound.Stored]]
        per_writer = max(1, max_queue // writers)
        self._queues: list[asyncio.Queue[Item]] = [
            asyncio.Queue(per_writer) for _ in range(writers)
        ]
        self._tasks: list[asyncio.Task[None]] = []
        self._deadlines = deadlines.Deadlines()

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._run(queue), name=f"group-commit-{n}")
            for n, queue in enumerate(self._queues)
        ]

    async def stop(self) -> None:
        """Finish what is queued, then end the writers."""
        if not self._tasks:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(q.join() for q in self._queues)), 10)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        self._deadlines.close()

    def submit(
        self, record: inbound.EventRecord, deadline: float | None = None
    ) -> asyncio.Future[inbound.Stored]:
        """Queue a record; the future resolves to its inbound.Stored (true: stored now, false:
        a retry; with the reply its event was answered with) after the commit, or raises the
        batch's database error, or TimeoutError at `deadline` (loop time) if not committed by
        then: the record stays queued and is stored anyway (the writer skips futures that
        are done), so a retry is answered as a duplicate."""
        future: asyncio.Future[inbound.Stored] = asyncio.get_running_loop().create_future()
        queue = self._queues[hash((record.account_id, record.openid)) % len(self._queues)]
        try:
            queue.put_nowait((record, future))
        except asyncio.QueueFull:
            raise Overloaded() from None
        if deadline is not None:
            self._deadlines.add(future, deadline)
        return future

    def deadline_timer_at(self) -> float | None:
        """When the one deadline timer fires next (None: none armed)."""
        return self._deadlines.armed_at()

    async def _run(
        self, queue: asyncio.Queue[tuple[inbound.EventRecord, asyncio.Future[inbound.Stored]]]
    ) -> None:
        while True:
            batch = [await queue.get()]
            while len(batch) < self._max_batch and not queue.empty():
                batch.append(queue.get_nowait())
            # Handlers that gave up (timed out) still get their event stored: a retry of it
            # is then answered as a duplicate.
            await self._commit(batch)
            for _ in batch:
                queue.task_done()

    async def _commit(
        self, batch: list[tuple[inbound.EventRecord, asyncio.Future[inbound.Stored]]]
    ) -> None:
        records = [record for record, _ in batch]
        try:
            async with self._pool.acquire(timeout=self._timeout) as conn:
                results = await asyncio.wait_for(
                    inbound.store_batch_replies(conn, records), self._timeout
                )
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
