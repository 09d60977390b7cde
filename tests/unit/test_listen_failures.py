"""scheduler.listen.Listener: a LISTEN connection that fails with any kind of "the database
is unavailable" (gateway.store.errors' one list) is re-opened with backoff; the loop never
ends on it."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from scheduler import listen


@pytest.mark.parametrize(
    "failure",
    [
        OSError("connection refused"),
        asyncpg.InterfaceError("connection closed"),
        asyncpg.InternalClientError("another operation is in progress"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
    ],
    ids=lambda exc: type(exc).__name__,
)
async def test_a_failed_connection_is_tried_again(
    monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    attempts: list[str] = []
    retried = asyncio.Event()

    async def connect(dsn: str) -> asyncpg.Connection:
        attempts.append(dsn)
        if len(attempts) == 2:
            retried.set()
        raise failure

    monkeypatch.setattr(asyncpg, "connect", connect)
    listener = listen.Listener("postgresql://127.0.0.1:1/none", wake=lambda: None)
    with pytest.raises(TimeoutError):
        await listener.start(ready_within=0.01)  # never ready: every connect fails
    task = listener._task
    assert task is not None
    await asyncio.wait_for(retried.wait(), timeout=5)  # the first backoff is 0.5 s
    assert not task.done()
    await listener.stop()
    assert len(attempts) >= 2
