"""A 10,000-delivery drain whose worker process is killed with SIGKILL five times at random
points and started again each time: every delivery ends sent, template and mass sends reach
each recipient exactly once, and customer-service repeats stay within what was in flight at
the kills (SPEC 4: at-least-once for customer service, exactly-once for the rest)."""

from __future__ import annotations

import collections
import datetime as dt
import random
from pathlib import Path

import asyncpg
import pytest

from tests.integration import sched_helpers as h
from tests.reliability import stack

CUSTOM = "/cgi-bin/message/custom/send"
TEMPLATE = "/cgi-bin/message/template/send"
MASS = "/cgi-bin/message/mass/send"
FOLLOWERS = [f"f{i:04d}" for i in range(500)]
KILLS = 5
SEED = 8_2026
# Short leases so a killed worker's rows are taken over within 2 s; claims small enough to be
# sent well within them.
FLAGS = (
    "--lease-seconds=2",
    "--claim-total=300",
    "--calls-per-second=1000",
    "--concurrency=8",
    "--tick-seconds=0.2",
)


async def _count(pool: asyncpg.Pool, status: str, account_id: str | None = None) -> int:
    n = await pool.fetchval(
        "SELECT count(*) FROM deliveries WHERE status = $1 AND ($2::text IS NULL"
        " OR account_id = $2)",
        status,
        account_id,
    )
    return int(n)


async def _setup(pool: asyncpg.Pool, mock: h.Mock, sink: str) -> int:
    now = dt.datetime.now(dt.UTC)
    window = now + dt.timedelta(hours=40)
    for account in ("cs", "tpl", "mass"):
        await h.add_account(pool, account, "service")
        await mock.register(account, "service", sink)
        await mock.act_many(account, FOLLOWERS, "subscribe")
        await h.add_followers(pool, account, FOLLOWERS, window_ends_at=window)
    cs = [[o] for _ in range(10) for o in FOLLOWERS]  # 5,000, each with its own text
    contents = [{"msgtype": "text", "text": {"content": f"m{i}"}} for i in range(len(cs))]
    await h.add_messages(pool, "cs", "customer_service", cs, at=now, contents=contents)
    await h.add_messages(
        pool, "tpl", "template", [[o] for _ in range(6) for o in FOLLOWERS], at=now
    )
    # 50 mass messages of 40 recipients (the mass API allows 60 calls a minute): every
    # follower is in exactly 4 of them, its monthly quota
    groups = [[FOLLOWERS[(40 * i + k) % 500] for k in range(40)] for i in range(50)]
    await h.add_messages(
        pool,
        "mass",
        "mass",
        groups,
        at=now,
        audience={"openids": FOLLOWERS[:4]},
        contents=[{"msgtype": "text", "text": {"content": f"mass-{i}"}} for i in range(50)],
    )
    total = int(await pool.fetchval("SELECT count(*) FROM deliveries"))
    assert total == 10_000
    return total


# Alone (Makefile): 19 s by itself or beside the other reliability tests; in a `make test`
# that shared the machine with other test runs (load average 8) the drain after the fifth
# kill overran its 90 s bound once on 2026-12-03.
@pytest.mark.alone
@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_five_sigkills_during_a_ten_thousand_delivery_drain(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    async with h.platform(aiohttp_server) as (mock, _client, sink):
        total = await _setup(pool, mock, sink)
        # five kill points spread over the drain, at random
        points = sorted(rng.uniform(0.04, 0.9) * total for _ in range(KILLS))
        log = tmp_path / "worker.log"
        in_flight_cs = 0
        worker = await stack.start_worker(db_url, mock.base, log, *FLAGS)
        try:
            for point in points:

                async def reached(point: float = point) -> bool:
                    return await _count(pool, "sent") >= point

                await stack.until(reached, f"{int(point)} deliveries sent", 60)
                await stack.kill(worker)
                in_flight_cs += await _count(pool, "sending", "cs")
                worker = await stack.start_worker(db_url, mock.base, log, *FLAGS)

            async def drained() -> bool:
                return await _count(pool, "sent") == total

            await stack.until(drained, "every delivery sent", 90)
            assert await stack.stop(worker, within=10) == 0
        finally:
            await stack.kill(worker)
        assert log.read_text().count("took over") >= 1

        # customer service: every text at least once; repeats within the calls in flight
        sent = [r for r in await mock.sent("cs") if r["delivered"]]
        texts = collections.Counter(r["body"]["text"]["content"] for r in sent)
        assert set(texts) == {f"m{i}" for i in range(5000)}
        repeats = sum(texts.values()) - len(texts)
        assert repeats <= in_flight_cs

        # templates: exactly once per delivery (the platform dedupes a repeated client_msg_id)
        tpl = [r for r in await mock.sent("tpl") if r["path"] == TEMPLATE and r["delivered"]]
        keys = collections.Counter((r["body"]["touser"], r["body"]["client_msg_id"]) for r in tpl)
        assert len(keys) == 3000 and set(keys.values()) == {1}

        # mass: each follower got each of its 4 messages exactly once, and no more than 4
        log_mass = await mock.sent("mass")
        received = collections.Counter(
            (o, r["body"]["text"]["content"])
            for r in log_mass
            if r["delivered"] and r["path"] == MASS
            for o in r["body"]["touser"]
        )
        assert len(received) == 2000 and set(received.values()) == {1}
        assert not [r for r in log_mass if r["verdict"].startswith("violation")]
        assert await pool.fetchval("SELECT max(used) FROM follower_mass_usage") == 4
        assert (
            await pool.fetchval("SELECT count(*) FROM messages WHERE status <> 'sent'") == 0
        )  # every message's status followed its deliveries
