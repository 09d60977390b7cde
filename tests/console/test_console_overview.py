"""The accounts overview reads its accounts at once, at most pages.AT_ONCE of them (issue 20),
and shows each with its own counts in the accounts' order."""

from __future__ import annotations

import re
from typing import Any

import asyncpg
import pytest

from gateway.console import pages
from gateway.store import account_stats
from tests.api import apihelp
from tests.api.apihelp import Client
from tests.api.conftest import API_TOKEN
from tests.console import data

ACCOUNTS = [f"acct{n}" for n in range(7)]


async def test_the_overview_reads_accounts_at_once_and_shows_each_in_order(
    client: Client, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n, account_id in enumerate(ACCOUNTS):
        await apihelp.create_account(client, account_id)
        for f in range(n + 1):  # account n has n + 1 followers
            await apihelp.add_follower(pool, account_id, apihelp.openid(100 * n + f))
    real = account_stats.summary
    now = {"in_flight": 0, "most": 0}

    async def counted(*args: Any) -> Any:
        now["in_flight"] += 1
        now["most"] = max(now["most"], now["in_flight"])
        try:
            return await real(*args)
        finally:
            now["in_flight"] -= 1

    monkeypatch.setattr(account_stats, "summary", counted)
    await data.sign_in(client, API_TOKEN)
    home = await (await client.get("/console/")).text()
    assert now["most"] == pages.AT_ONCE
    shown = re.findall(r'<h2><a href="/console/accounts/([^"]+)">', home)
    assert shown == sorted(ACCOUNTS)
    followers = re.findall(r"<dt>Followers</dt><dd>([^<]+)</dd>", home)
    assert followers == [str(n + 1) for n in range(len(ACCOUNTS))]
