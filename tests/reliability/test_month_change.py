"""The month turns in Shanghai during a drain: a pass claims (and counts) a mass message in
January, and its call reaches the platform after midnight, in February. The platform counts
it in February, so counting it in January would let a fifth mass message of February through
(which the platform silently filters: a message marked sent that nobody received). The send
must be re-decided in the new month, and the new month's first messages go out at once."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import datetime as dt
import zoneinfo

import asyncpg

from scheduler import ratelimit
from scheduler import worker as worker_mod
from tests.integration import sched_helpers as h

UTC = dt.UTC
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
MASS = "/cgi-bin/message/mass/send"
CUSTOM = "/cgi-bin/message/custom/send"
FOLLOWERS = [f"u{i:02d}" for i in range(40)]
FEB_1 = dt.datetime(2025, 2, 1, tzinfo=SHANGHAI).astimezone(UTC)  # 2025-01-31 16:00 UTC
MAR_1 = dt.datetime(2025, 3, 1, tzinfo=SHANGHAI).astimezone(UTC)


def _mass(n: int) -> dict[str, object]:
    return {"msgtype": "text", "text": {"content": f"mass-{n}"}}


def _month(at: str) -> str:
    return dt.datetime.fromisoformat(at).astimezone(SHANGHAI).strftime("%Y-%m")


async def test_month_turning_between_claim_and_call(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    clock = h.Clock(dt.datetime(2025, 1, 20, 4, 0, tzinfo=UTC))
    # One call a second: the second call of a pass waits (in real time) for its token, and the
    # month turns meanwhile.
    opts = dataclasses.replace(
        h.FAST,
        limits=ratelimit.Limits(
            calls_per_second=1, burst=1, mass_calls_per_minute=600, concurrency_per_account=1
        ),
    )
    async with h.platform(aiohttp_server, clock) as (mock, client, sink):
        await h.add_account(pool, "svc", "service")
        await mock.register("svc", "service", sink)
        await mock.act_many("svc", FOLLOWERS, "subscribe")
        await h.add_followers(
            pool, "svc", FOLLOWERS, window_ends_at=clock() + dt.timedelta(days=30)
        )
        audience = {"openids": FOLLOWERS}
        expires = FEB_1 + dt.timedelta(days=60)
        worker = worker_mod.Worker(
            h.settings(db_url, mock.base), pool, client, worker_id="w1", clock=clock, options=opts
        )
        # Three mass messages in January already.
        for n in range(3):
            await h.add_messages(
                pool,
                "svc",
                "mass",
                [FOLLOWERS],
                at=clock(),
                audience=audience,
                contents=[_mass(n)],
                expires_at=expires,
            )
            await worker.drain(timeout=10)

        # 100 ms before midnight: a customer-service message and the fourth mass message are
        # claimed together; the mass call waits its turn behind the customer-service call.
        clock.set(FEB_1 - dt.timedelta(milliseconds=100))
        await mock.act("svc", "u00", "text", content="hi")  # the platform's window opens too
        await h.add_messages(pool, "svc", "customer_service", [["u00"]], at=clock())
        fourth = await h.add_messages(
            pool,
            "svc",
            "mass",
            [FOLLOWERS],
            at=clock(),
            audience=audience,
            contents=[_mass(3)],
            expires_at=expires,
        )
        later = await h.add_messages(
            pool,
            "svc",
            "mass",
            [FOLLOWERS] * 4,
            at=clock(),
            audience=audience,
            contents=[_mass(n) for n in range(4, 8)],
            expires_at=expires,
        )

        async def turn_the_month() -> None:
            await mock.wait_sent("svc", 1, path=CUSTOM, within=10)
            clock.set(FEB_1 + dt.timedelta(milliseconds=100))

        turner = asyncio.create_task(turn_the_month())
        await worker.drain(timeout=30)
        await turner
        await worker.drain(timeout=30)

        log = await mock.sent("svc")
        assert not [r["verdict"] for r in log if r["verdict"].startswith("violation")]
        months: collections.Counter[tuple[str, str]] = collections.Counter()
        for r in log:
            if r["path"] == MASS and r["delivered"]:
                for openid in r["body"]["touser"]:
                    months[(openid, _month(r["at"]))] += 1
        for openid in FOLLOWERS:
            assert months[(openid, "2025-01")] <= 4 and months[(openid, "2025-02")] == 4
        # The new month's first four went out at once; one waits for March.
        rows = [await h.message(pool, "svc", m) for m in fourth + later]
        assert sorted(r["status"] for r in rows) == ["held"] + ["sent"] * 4
        (waiting,) = [r for r in rows if r["status"] == "held"]
        assert (waiting["reason"], waiting["release_at"]) == ("mass_quota_exhausted", MAR_1)
        usage = await pool.fetch(
            "SELECT period, max(used) AS used FROM follower_mass_usage GROUP BY period"
            " ORDER BY period"
        )
        assert [(r["period"], r["used"]) for r in usage] == [
            (dt.date(2025, 1, 1), months[("u00", "2025-01")]),
            (dt.date(2025, 2, 1), 4),
        ]
