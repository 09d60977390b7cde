"""The console's lists that restate an API list read through the API's store functions
(issue 20): an endpoint's deliveries and the endpoints, the same rows in the same keyset
order as the API returns them, the console showing the newest attempts of each."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest

from gateway.store import webhook_log, webhooks
from tests.api.apihelp import Client
from tests.api.conftest import API_TOKEN, AUTH
from tests.console import data
from tests.console import webhook_data as wd


def _spy(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[str]:
    """Record each call's caller module while the real store function runs."""
    real: Callable[..., Any] = getattr(module, name)
    calls: list[str] = []

    async def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(inspect.stack()[1].frame.f_globals["__name__"])
        return await real(*args, **kwargs)

    monkeypatch.setattr(module, name, spy)
    return calls


async def test_deliveries_and_endpoints_pages_use_the_api_store_functions(
    client: Client, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    await data.seed(client, pool, "acme")
    ep = (await wd.failing_endpoint(pool, "acme")).id
    # 11 more attempts of the newest delivery (12 in all): the console shows the latest 10.
    newest = max(r["id"] for r in await wd.deliveries(pool, "acme", ep))
    await pool.execute(
        "INSERT INTO webhook_attempts (account_id, delivery_id, at, http_status, latency_ms)"
        " SELECT 'acme', $1, now() + g * interval '1 second', 400 + g, 5"
        "   FROM generate_series(1, 11) AS g",
        newest,
    )
    await pool.execute(
        "UPDATE webhook_deliveries SET attempts = 12 WHERE account_id = 'acme' AND id = $1",
        newest,
    )
    delivery_calls = _spy(monkeypatch, webhook_log, "list_deliveries")
    endpoint_calls = _spy(monkeypatch, webhooks, "list_endpoints")
    api = await client.get(f"/api/v1/accounts/acme/endpoints/{ep}/deliveries?limit=2", headers=AUTH)
    assert api.status == 200, await api.text()
    body = await api.json()
    await data.sign_in(client, API_TOKEN)
    page = await (await client.get(f"/console/accounts/acme/endpoints/{ep}")).text()
    shown = [int(i) for i in re.findall(r'id="delivery-(\d+)"', page)]
    assert [d["id"] for d in body["items"]] == shown[:2]
    assert len(shown) == 3 and shown == sorted(shown, reverse=True)
    # The newest delivery: its 10 latest attempts, newest first (411 .. 402).
    first = page.split('id="delivery-')[1]
    assert re.findall(r"<td>(4\d\d)</td>", first.split("</table>")[0]) == [
        str(411 - i) for i in range(10)
    ]
    assert "(latest 10 shown)" in first
    await client.get("/console/accounts/acme/endpoints")
    api_eps = await client.get("/api/v1/accounts/acme/endpoints", headers=AUTH)
    assert [e["id"] for e in (await api_eps.json())["items"]] == [ep]
    assert delivery_calls == ["gateway.api.webhook_log", "gateway.console.webhooks"]
    assert endpoint_calls == ["gateway.console.webhooks", "gateway.api.webhooks"]
