"""A service `all` mass whose follower was at 4 of 4 when it was expanded (issue 19): that
follower's delivery, held until the next quota period, is sent by the delivery path once the
month turns in Shanghai, with one unit of the new month, and the message ends `sent`."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import asyncpg
import pytest

from gateway.domain import periods
from gateway.store import mass_batches, mass_expansion, messages
from scheduler import worker as worker_mod
from tests.integration import sched_helpers as h

MASS = "/cgi-bin/message/mass/send"
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
FOLLOWERS = [f"u{i}" for i in range(5)]
USED = "SELECT openid, period, used FROM follower_mass_usage WHERE account_id = 'svc'"


@pytest.fixture(autouse=True)
def _small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mass_expansion, "BATCH_MAX", 3)


def _month(at: dt.datetime) -> dt.date:
    local = at.astimezone(SHANGHAI)
    return dt.date(local.year, local.month, 1)


def _all(at: dt.datetime) -> messages.NewMessage:
    return messages.NewMessage(
        type="mass",
        recipient=None,
        audience={"all": True},
        content=h.TEXT,
        template=None,
        outside_window="hold",
        not_before=None,
        expires_at=at + dt.timedelta(days=40),
        idempotency_key=None,
        request_hash=None,
        openids=None,
    )


def _reached(calls: list[dict[str, Any]]) -> list[str]:
    """The followers the `all` mass's batches went to (mass/send by openid list)."""
    return sorted(o for c in calls if c["path"] == MASS for o in c["body"]["touser"])


async def test_a_held_follower_is_sent_in_the_next_month(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    start = dt.datetime.now(dt.UTC)
    if periods.next_month_start(start, SHANGHAI) - start < dt.timedelta(minutes=1):
        pytest.skip("the month turns within a minute: the first drain could cross it")
    clock = h.Clock()  # real time until the month is turned below
    async with h.platform(aiohttp_server, clock) as (mock, client, sink):
        await h.add_account(pool, "svc", "service")
        await mock.register("svc", "service", sink)
        await mock.act_many("svc", FOLLOWERS, "subscribe")
        await h.add_followers(pool, "svc", FOLLOWERS, window_ends_at=start + dt.timedelta(days=60))
        this_month = _month(start)
        await pool.execute(
            "INSERT INTO follower_mass_usage (account_id, openid, period, used)"
            " VALUES ('svc', 'u0', $1, 4)",
            this_month,
        )
        created, _ = await messages.enqueue_message(pool, "svc", _all(start))
        worker = worker_mod.Worker(
            h.settings(db_url, mock.base), pool, client, worker_id="w1", clock=clock, options=h.FAST
        )
        await worker.drain(timeout=10)
        assert _reached(await mock.sent("svc")) == FOLLOWERS[1:]
        held = await mass_batches.recipient(pool, "svc", created.id, "u0")
        assert held is not None and (held.status, held.reason) == ("held", "mass_quota_exhausted")

        next_month = periods.next_month_start(start, SHANGHAI)
        clock.set(next_month + dt.timedelta(minutes=1))
        before = len(await mock.sent("svc"))
        await worker.drain(timeout=10)
        calls = (await mock.sent("svc"))[before:]
    # The month's jump expired the access token: the first call is refused, the token
    # fetched again and the call repeated (platform errcode 42001).
    assert {c["verdict"] for c in calls} <= {"ok", "refused: access_token expired"}
    ok = [c for c in calls if c["verdict"] == "ok"]
    # One follower: mass/send takes two openids or more, so the delivery path sends to a
    # one-member tag (`mass_single`), the tag made and dropped around the call.
    assert [c["path"] for c in ok] == [
        "/cgi-bin/tags/create",
        "/cgi-bin/tags/members/batchtagging",
        "/cgi-bin/message/mass/sendall",
        "/cgi-bin/tags/delete",
    ]
    assert ok[1]["body"]["openid_list"] == ["u0"]
    assert ok[2]["body"]["filter"] == {"is_to_all": False, "tag_id": ok[1]["body"]["tagid"]}
    sent = await mass_batches.recipient(pool, "svc", created.id, "u0")
    assert sent is not None and sent.status == "sent"
    row = await pool.fetchrow("SELECT channel, client_msg_id FROM deliveries WHERE openid = 'u0'")
    assert row is not None and row["channel"] == "mass_single"
    assert ok[2]["body"]["clientmsgid"] == row["client_msg_id"]
    status = await pool.fetchval(
        "SELECT status FROM messages WHERE account_id = 'svc' AND id = $1", created.id
    )
    assert status == "sent"
    used = {(r["openid"], r["period"]): r["used"] for r in await pool.fetch(USED)}
    assert used[("u0", this_month)] == 4
    assert used[("u0", _month(next_month))] == 1
    assert all(used[(o, this_month)] == 1 for o in FOLLOWERS[1:])
