"""`wxgate sync-followers`: starts a sync through the API and follows it to the end, or
fails with one line (the command's own process is tested in tests/e2e)."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import subprocess

import asyncpg
import pytest
from rich.console import Console

from gateway import sync_cli
from scheduler import credentials
from scheduler import syncs as sync_job
from tests.e2e import procs
from tests.integration import flows
from tests.reliability import stack as stack_mod

APP_ID = "wxsynccli00000001"


def _job(stack: flows.Stack, pool: asyncpg.Pool) -> sync_job.FollowerSync:
    client = stack.worker.client
    tokens = credentials.TokenCache(pool, client, lambda: dt.datetime.now(dt.UTC))
    return sync_job.FollowerSync(
        pool, client, tokens, "w1", lease=dt.timedelta(seconds=30), stopping=asyncio.Event()
    )


async def _started(pool: asyncpg.Pool) -> None:
    async def exists() -> bool:
        return bool(await pool.fetchval("SELECT count(*) FROM follower_syncs"))

    await stack_mod.until(exists, "the command started a sync", 10)


@pytest.mark.parametrize("fault", [None, 45009])
async def test_the_command_follows_a_sync_to_its_end(
    db_url: str, pool: asyncpg.Pool, fault: int | None
) -> None:
    async with flows.stack(db_url, pool) as stack:
        await stack.account("acc", "service", APP_ID)
        seed = {"count": 12_000, "prefix": "oK"}
        assert (await stack.mock_json("POST", f"/_mock/accounts/{APP_ID}/followers/seed", seed))[
            0
        ] == 201
        if fault is not None:
            await stack.mock.fault(path="/cgi-bin/user/info/batchget", errcode=fault, count=1)
        out = io.StringIO()
        console = Console(file=out, width=120, force_terminal=False)
        watching = asyncio.create_task(
            sync_cli.watch(stack.gateway, flows.TOKEN, "acc", console=console)
        )
        await _started(pool)
        await _job(stack, pool).drain(timeout=30)
        if fault is None:
            sync = await asyncio.wait_for(watching, 10)
            assert (sync["status"], sync["followers_seen"], sync["pages"]) == (
                "completed",
                12_000,
                2,
            )
            assert "12,000 followers seen" in out.getvalue() and "2 pages" in out.getvalue()
        else:
            with pytest.raises(sync_cli.SyncError) as failed:
                await asyncio.wait_for(watching, 10)
            assert str(failed.value).startswith("follower sync 1 failed: 45009 ")


def test_an_unreachable_gateway_is_one_line() -> None:
    env = procs.clean_env(WXGATE_API_TOKEN="t0ken")
    result = subprocess.run(
        [procs.WXGATE, "sync-followers", "acme", "--url", "http://127.0.0.1:1"],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    err = result.stderr.decode().strip()
    assert err.startswith("wxgate: gateway unreachable at http://127.0.0.1:1/") and "\n" not in err
