"""A message waiting when a subscription account is upgraded goes out under the service
account's rules (SPEC 2.2, C8): a waiting `all` mass becomes the service `all`, one delivery
per follower subscribed at the upgrade, each taking that follower's monthly unit."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import asyncpg

from gateway.domain import periods
from gateway.store import accounts, messages
from scheduler import claim as claim_mod
from tests.integration import sched_helpers as h

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")


async def _claim(pool: asyncpg.Pool) -> claim_mod.Claimed:
    async with pool.acquire() as conn:
        return await claim_mod.claim(
            conn,
            dt.datetime.now(dt.UTC),
            worker_id="w1",
            tz=TZ,
            per_account=100,
            total=100,
            lease=dt.timedelta(seconds=60),
        )


def _mass(audience: dict[str, object], openids: list[str | None] | None) -> messages.NewMessage:
    return messages.NewMessage(
        type="mass",
        recipient=None,
        audience=audience,
        content=h.TEXT,
        template=None,
        outside_window="hold",
        not_before=None,
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=7),
        idempotency_key=None,
        request_hash=None,
        openids=openids,
    )


async def _held_for_the_day(pool: asyncpg.Pool, message: messages.NewMessage) -> int:
    """A mass on the subscription account `sub`, held because today's send is used."""
    row, _ = await messages.enqueue_message(pool, "sub", message)
    today = periods.day_key(dt.datetime.now(dt.UTC), TZ)
    await pool.execute(
        "INSERT INTO account_mass_usage (account_id, period, used) VALUES ('sub', $1, 1)"
        " ON CONFLICT DO NOTHING",
        today,
    )
    assert (await _claim(pool)).calls == []
    assert (await h.message(pool, "sub", row.id))["reason"] == "daily_mass_used"
    return int(row.id)


async def test_a_waiting_all_mass_goes_out_as_the_service_all_after_the_upgrade(
    pool: asyncpg.Pool,
) -> None:
    await h.add_account(pool, "sub", "subscription")
    await h.add_followers(pool, "sub", ["o1", "o2"])
    await h.add_followers(pool, "sub", ["gone"], subscribed=False)
    message_id = await _held_for_the_day(pool, _mass({"all": True}, None))

    await accounts.update_account(pool, "sub", accounts.Change(kind="service"))

    calls = await _claim(pool)
    sent = sorted(i.openid or "" for c in calls.calls for i in c.items)
    assert sent == ["o1", "o2"]
    assert {c.channel.value for c in calls.calls} == {"mass_openids"}
    units = await pool.fetch("SELECT openid, used FROM follower_mass_usage ORDER BY openid")
    assert [(u["openid"], u["used"]) for u in units] == [("o1", 1), ("o2", 1)]
    row = await h.message(pool, "sub", message_id)
    assert (row["recipients_total"], row["status"]) == (2, "sending")
    history = [(t["status"], t["reason"]) for t in await h.history(pool, "sub", message_id)]
    assert history[:2] == [("queued", None), ("held", "daily_mass_used")]
    assert ("queued", None) in history[2:]


async def test_an_all_mass_with_nobody_subscribed_fails_at_the_upgrade(
    pool: asyncpg.Pool,
) -> None:
    await h.add_account(pool, "sub", "subscription")
    await h.add_followers(pool, "sub", ["gone"], subscribed=False)
    message_id = await _held_for_the_day(pool, _mass({"all": True}, None))
    await accounts.update_account(pool, "sub", accounts.Change(kind="service"))
    row = await h.message(pool, "sub", message_id)
    assert (row["status"], row["errmsg"]) == ("failed", messages.EMPTY_AUDIENCE)


async def test_a_waiting_tag_mass_goes_out_as_a_service_tag_send(pool: asyncpg.Pool) -> None:
    await h.add_account(pool, "sub", "subscription")
    await h.add_followers(pool, "sub", ["o1"])
    await _held_for_the_day(pool, _mass({"tag_id": 7}, [None]))
    await accounts.update_account(pool, "sub", accounts.Change(kind="service"))
    calls = await _claim(pool)
    assert [(c.channel.value, [i.openid for i in c.items]) for c in calls.calls] == [
        ("sendall", [None])
    ]
