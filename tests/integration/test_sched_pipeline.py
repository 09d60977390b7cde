"""The next claim does not wait for a pass to end: once half of what a pass claimed for an
account has started, the worker wakes another runner, which claims behind the calls still
waiting (as many as the claim cap leaves), so that calls keep going out while claims and
results are written (README "Performance", the drain)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from typing import Any

import asyncpg

from gateway.wechat import client as wx
from scheduler import claim
from scheduler import worker as worker_mod
from tests.integration import sched_helpers as h

CUSTOM = "/cgi-bin/message/custom/send"
# Ten rows a pass, one call at a time: the calls of a pass start one after another.
TEN_BY_ONE = dataclasses.replace(
    h.FAST,
    limits=dataclasses.replace(h.FAST.limits, concurrency_per_account=1),
    claim_per_account=10,
    claim_total=10,
)


class WaitsForNextClaim(wx.WeChatClient):
    """The fifth call (its start leaves five of the pass's ten waiting) waits until another
    claim has leased rows, at most `patience` seconds."""

    def __init__(self, base: wx.WeChatClient, next_claim: asyncio.Event, patience: float):
        super().__init__(base.session, base.api_base, timeout=5.0)
        self.next_claim = next_claim
        self.patience = patience
        self.calls = 0
        self.waited_in_vain = False

    async def send_custom(self, token: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        if self.calls == 5:
            try:
                await asyncio.wait_for(self.next_claim.wait(), self.patience)
            except TimeoutError:
                self.waited_in_vain = True
        return await super().send_custom(token, payload)


async def test_another_runner_claims_while_the_first_pass_still_sends(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory, monkeypatch: Any
) -> None:
    now = dt.datetime.now(dt.UTC)
    openids = [f"u{i:02d}" for i in range(20)]
    claims: list[tuple[int, int]] = []  # (calls made when the claim returned, rows claimed)
    next_claim = asyncio.Event()
    real_claim = claim.claim

    async def counted(*args: Any, **kwargs: Any) -> claim.Claimed:
        claimed = await real_claim(*args, **kwargs)
        if claimed.claimed:
            claims.append((client.calls, claimed.claimed))
            if len(claims) == 2:
                next_claim.set()
        return claimed

    monkeypatch.setattr(claim, "claim", counted)
    async with h.platform(aiohttp_server) as (mock, base, sink):
        await h.add_account(pool, "svc", "service")
        await mock.register("svc", "service", sink)
        await mock.act_many("svc", openids, "subscribe")
        await h.add_followers(pool, "svc", openids, window_ends_at=now + dt.timedelta(hours=47))
        await h.add_messages(pool, "svc", "customer_service", [[o] for o in openids], at=now)
        client = WaitsForNextClaim(base, next_claim, patience=3.0)
        worker = worker_mod.Worker(
            h.settings(db_url, mock.base), pool, client, worker_id="w1", options=TEN_BY_ONE
        )

        async def second_runner() -> worker_mod.PassStats:
            await worker.woken.wait()  # what worker.run_passes waits for
            worker.woken.clear()
            return await worker.run_pass()

        second = asyncio.create_task(second_runner())
        try:
            first = await worker.run_pass()
            assert not client.waited_in_vain, "no claim while the first pass's calls waited"
            async with asyncio.timeout(10):
                behind = await second
        finally:
            second.cancel()
        # The first claim took ten rows; the second came once five of them had started and
        # took the five the cap left (ten less the five calls still waiting), before the
        # fifth call was answered.
        assert claims[:2] == [(0, 10), (5, 5)]
        assert (first.processed, behind.processed) == (10, 5)
        assert await worker.drain(timeout=10) == 5
        sent = await mock.wait_sent("svc", 20, path=CUSTOM)
        assert sorted(r["body"]["touser"] for r in sent) == openids
        assert await h.delivery_statuses(pool, "svc") == {"sent": 20}
