"""A service account's mass to a tag consumes a unit of every member who still has one, as
the platform counts it (SPEC 9, C7): after four tag masses a member's list mass is held
`mass_quota_exhausted`, and the mock confirms nothing the gateway sent was silently
filtered (its own per-follower counts equal the gateway's)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import asyncpg

from gateway.store import syncs
from scheduler import credentials
from scheduler import syncs as sync_job
from tests.integration import flows

APP_ID = "wxtagquota0000001"
PREFIX = "oT"
SENDALL = "/cgi-bin/message/mass/sendall"


def seeded(index: int) -> str:
    return PREFIX + str(index).zfill(26)


def mass(audience: dict[str, Any], content: str) -> dict[str, Any]:
    # expires after the month ends, so an exhausted quota is a hold, not an expiry
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=40)
    return {
        "type": "mass",
        "audience": audience,
        "content": {"msgtype": "text", "text": {"content": content}},
        "expires_at": expires.isoformat(),
    }


async def _sync(stack: flows.Stack, pool: asyncpg.Pool) -> None:
    client = stack.worker.client
    tokens = credentials.TokenCache(pool, client, lambda: dt.datetime.now(dt.UTC))
    job = sync_job.FollowerSync(
        pool, client, tokens, "w1", lease=dt.timedelta(seconds=30), stopping=asyncio.Event()
    )
    await syncs.start(pool, "acc")
    assert await job.drain(timeout=30) == 1


async def _used(stack: flows.Stack, openid: str) -> tuple[int, int]:
    """(the gateway's units used this month, the mock's count of masses received)."""
    status, follower = await stack.api("GET", f"/api/v1/accounts/acc/followers/{openid}")
    assert status == 200, follower
    _, seen = await stack.mock_json("GET", f"/_mock/accounts/{APP_ID}/followers/{openid}")
    return follower["mass_quota"]["used"], seen["mass"]["used"]


async def test_tag_masses_count_like_the_platform(db_url: str, pool: asyncpg.Pool) -> None:
    async with flows.stack(db_url, pool) as stack:
        await stack.account("acc", "service", APP_ID)
        seed = {"count": 3, "prefix": PREFIX}
        assert (await stack.mock_json("POST", f"/_mock/accounts/{APP_ID}/followers/seed", seed))[
            0
        ] == 201
        a, b, c = seeded(0), seeded(1), seeded(2)
        await _sync(stack, pool)  # the gateway learns of followers it never saw interact
        status, tag = await stack.api("POST", "/api/v1/accounts/acc/tags", {"name": "vip"})
        assert status == 201, tag
        members = f"/api/v1/accounts/acc/tags/{tag['id']}/members"
        assert (await stack.api("POST", members, {"openids": [a, b]}))[0] == 200

        for n in range(4):
            status, queued = await stack.api(
                "POST", "/api/v1/accounts/acc/messages", mass({"tag_id": tag["id"]}, f"tag {n}")
            )
            assert status == 202, queued
            await stack.drain()
        assert await _used(stack, a) == (4, 4) and await _used(stack, b) == (4, 4)

        status, listed = await stack.api(
            "POST", "/api/v1/accounts/acc/messages", mass({"openids": [a, c]}, "list")
        )
        assert status == 202, listed
        await stack.drain()
        rows = await pool.fetch(
            "SELECT openid, status, reason FROM deliveries WHERE message_id = $1", listed["id"]
        )
        by_openid = {r["openid"]: (r["status"], r["reason"]) for r in rows}
        assert by_openid[a] == ("held", "mass_quota_exhausted")
        assert by_openid[c][0] == "sent"

        # a fifth tag mass reaches only the member with units left, and charges only them
        assert (await stack.api("POST", members, {"openids": [c]}))[0] == 200
        status, fifth = await stack.api(
            "POST", "/api/v1/accounts/acc/messages", mass({"tag_id": tag["id"]}, "tag 4")
        )
        assert status == 202, fifth
        await stack.drain()
        assert await _used(stack, a) == (4, 4)
        assert await _used(stack, c) == (2, 2)

        _, log = await stack.mock_json("GET", f"/_mock/accounts/{APP_ID}/sent")
        tag_sends = [r for r in log["sent"] if r["path"] == SENDALL and r["errcode"] == 0]
        assert len(tag_sends) >= 5
        assert not [r["verdict"] for r in log["sent"] if r["verdict"].startswith("violation")]


async def test_a_refused_tag_mass_gives_the_units_back(db_url: str, pool: asyncpg.Pool) -> None:
    async with flows.stack(db_url, pool) as stack:
        await stack.account("acc", "service", APP_ID)
        seed = {"count": 2, "prefix": PREFIX}
        await stack.mock_json("POST", f"/_mock/accounts/{APP_ID}/followers/seed", seed)
        await _sync(stack, pool)
        _, tag = await stack.api("POST", "/api/v1/accounts/acc/tags", {"name": "vip"})
        members = f"/api/v1/accounts/acc/tags/{tag['id']}/members"
        await stack.api("POST", members, {"openids": [seeded(0), seeded(1)]})
        await stack.mock.fault(path=SENDALL, errcode=40008, count=1)  # refused for good
        status, queued = await stack.api(
            "POST", "/api/v1/accounts/acc/messages", mass({"tag_id": tag["id"]}, "refused")
        )
        assert status == 202
        await stack.drain()
        _, shown = await stack.api("GET", f"/api/v1/accounts/acc/messages/{queued['id']}")
        assert shown["status"] == "failed" and shown["errcode"] == 40008
        assert await _used(stack, seeded(0)) == (0, 0)
        assert await pool.fetchval("SELECT count(*) FROM tag_mass_charges") == 0
