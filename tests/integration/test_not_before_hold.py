"""A message waiting for its `not_before` is `held`, reason `not_before`, with `release_at`
(SPEC 2.2), on every enqueue path; and a held message past `expires_at` is expired by a
sweep that runs at most a second apart."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import asyncpg
import pytest

from gateway.store import mass_expansion, messages
from scheduler import claim as claim_mod
from scheduler import jobs, options
from tests.integration import sched_helpers as h

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")


def _message(type_: str, openids: list[str | None] | None, **kw: Any) -> messages.NewMessage:
    not_before = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=1)
    fields: dict[str, Any] = {
        "type": type_,
        "recipient": openids[0] if type_ != "mass" and openids else None,
        "audience": None,
        "content": h.TEXT,
        "template": None,
        "outside_window": "hold",
        "not_before": not_before,
        "expires_at": not_before + dt.timedelta(days=1),
        "idempotency_key": None,
        "request_hash": None,
        "openids": openids,
    }
    fields.update(kw)
    return messages.NewMessage(**fields)


CASES: dict[str, tuple[str, list[str | None] | None, dict[str, Any]]] = {
    "one_recipient": ("customer_service", ["o1"], {}),
    "openid_list": ("mass", ["o1", "o2"], {"audience": {"openids": ["o1", "o2"]}}),
    "service_all": ("mass", None, {"audience": {"all": True}}),
    "tag": ("mass", [None], {"audience": {"tag_id": 3}}),
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_a_message_before_its_not_before_is_held_with_the_reason(
    pool: asyncpg.Pool, case: str
) -> None:
    await h.add_account(pool, "svc", "service")
    window_end = dt.datetime.now(dt.UTC) + dt.timedelta(hours=40)
    await h.add_followers(pool, "svc", ["o1", "o2"], window_ends_at=window_end)
    type_, openids, extra = CASES[case]
    new = _message(type_, openids, **extra)
    created, _ = await messages.enqueue_message(pool, "svc", new)
    got = await messages.get_message(pool, "svc", created.id)
    for shown in (created, got):
        assert (shown.status, shown.reason, shown.release_at) == (
            "held",
            "not_before",
            new.not_before,
        )
        assert [(e.status, e.reason) for e in shown.history] == [("held", "not_before")]
        assert set(shown.counts) == {"held"}
    if case == "service_all":
        await _batched_waits_for_not_before(pool, created.id, new)
        return
    rows = await pool.fetch("SELECT status, reason, release_at FROM deliveries")
    assert {(r["status"], r["reason"], r["release_at"]) for r in rows} == {
        ("held", "not_before", new.not_before)
    }
    # The claim leaves it alone until then, and sends it at not_before.
    async with pool.acquire() as conn:
        early = await claim_mod.claim(
            conn,
            dt.datetime.now(dt.UTC),
            worker_id="w",
            tz=TZ,
            per_account=10,
            total=10,
            lease=dt.timedelta(seconds=60),
        )
        assert early.claimed == 0
        assert new.not_before is not None
        due = await claim_mod.claim(
            conn,
            new.not_before,
            worker_id="w",
            tz=TZ,
            per_account=10,
            total=10,
            lease=dt.timedelta(seconds=60),
        )
    assert len(due.calls) == 1


async def test_a_message_without_a_future_not_before_is_queued(pool: asyncpg.Pool) -> None:
    await h.add_account(pool, "svc", "service")
    new = _message("customer_service", ["o1"], not_before=dt.datetime.now(dt.UTC))
    created, _ = await messages.enqueue_message(pool, "svc", new)
    assert (created.status, created.reason) == ("queued", None)


class _Upkeep:
    async def refresh_tokens(self) -> object:
        return 0

    async def sweep_expired(self) -> object:
        return 0

    async def purge_old(self) -> object:
        return 0


async def test_the_expiry_sweep_runs_every_second() -> None:
    """Held past expires_at: expired by the next sweep, at most a second away (not 30 s)."""
    scheduler = jobs.start(lambda: None, _Upkeep(), options.Options(), TZ)
    try:
        job = scheduler.get_job("expiry_sweep")
        assert job is not None
        assert job.trigger.interval <= dt.timedelta(seconds=1)
        first = job.next_run_time - dt.datetime.now(dt.UTC)
        assert first <= dt.timedelta(seconds=1)
    finally:
        jobs.stop(scheduler)


async def _batched_waits_for_not_before(
    pool: asyncpg.Pool, message_id: int, new: messages.NewMessage
) -> None:
    """A service `all` mass is batched: no deliveries; its audience is expanded into batches
    at not_before, not before."""
    assert await pool.fetchval("SELECT count(*) FROM deliveries") == 0
    assert new.not_before is not None
    async with pool.acquire() as conn:
        early = await mass_expansion.expand_due(conn, dt.datetime.now(dt.UTC), TZ, 10)
        assert early == (0, [])
        due = await mass_expansion.expand_due(conn, new.not_before, TZ, 10)
        assert due[0] == 1
    rows = await pool.fetch("SELECT status, recipients, release_at FROM mass_batches")
    assert [tuple(r) for r in rows] == [("queued", 2, new.not_before)]
