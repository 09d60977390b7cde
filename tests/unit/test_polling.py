"""scheduler.polling.Loop: passes run back to back while they find work, a failing pass is
logged and does not end the loop, and a stop ends it without waiting out the poll."""

from __future__ import annotations

import asyncio
import logging

import pytest

from scheduler import polling


async def test_passes_run_while_they_find_work_and_a_failure_does_not_end_the_loop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stopping = asyncio.Event()
    answers: list[bool | Exception] = [True, True, False, RuntimeError("boom"), True, False]
    calls: list[float] = []

    async def run_once() -> bool:
        calls.append(asyncio.get_running_loop().time())
        answer = answers.pop(0) if answers else False
        if not answers:
            stopping.set()
        if isinstance(answer, Exception):
            raise answer
        return answer

    loop = polling.Loop(run_once, stopping, "test job", "test_pass_failed", poll=0.01)
    with caplog.at_level(logging.ERROR, logger="scheduler.polling"):
        await asyncio.wait_for(loop.run(), timeout=5)
    assert len(calls) == 6
    failed = [r for r in caplog.records if getattr(r, "action", None) == "test_pass_failed"]
    assert [r.getMessage() for r in failed] == ["test job pass failed"]


async def test_a_stop_ends_the_wait_at_once() -> None:
    stopping, ran = asyncio.Event(), asyncio.Event()
    calls = 0

    async def run_once() -> bool:
        nonlocal calls
        calls += 1
        ran.set()
        return False

    task = asyncio.create_task(polling.Loop(run_once, stopping, "idle", "idle_failed", 60).run())
    await asyncio.wait_for(ran.wait(), timeout=2)
    stopping.set()
    await asyncio.wait_for(task, timeout=2)  # the 60 s poll is not waited out
    assert calls == 1
