"""`/api/v1/accounts/{id}/reply-rules` (SPEC 8): PUT replaces the set after the check (422
with the offending path), GET shows it; scopes; the audit log; one reply endpoint."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.api import apihelp
from tests.api.conftest import AUTH

Client = TestClient[web.Request, web.Application]
URL = "/api/v1/accounts/acme/reply-rules"

RULES: dict[str, Any] = {
    "rules": [
        {
            "name": "welcome",
            "match": {"on": "subscribe"},
            "reply": {"msgtype": "text", "text": {"content": "Welcome!"}},
        },
        {
            "name": "hours",
            "match": {"on": "text", "keyword": "hours", "mode": "contains"},
            "reply": {"msgtype": "text", "text": {"content": "9 to 18"}},
        },
    ],
    "default_reply": None,
}


async def test_put_then_get(client: Client) -> None:
    await apihelp.create_account(client)
    empty = await client.get(URL, headers=AUTH)
    assert empty.status == 200
    assert await empty.json() == {
        "rules": [],
        "default_reply": None,
        "version": 0,
        "updated_at": None,
        "reply_endpoint": None,
    }
    put = await client.put(URL, json=RULES, headers=AUTH)
    assert put.status == 200, await put.text()
    body = await put.json()
    assert body["rules"] == RULES["rules"] and body["version"] == 1
    again = await client.put(URL, json={"rules": []}, headers=AUTH)
    assert (await again.json())["version"] == 2
    got = await (await client.get(URL, headers=AUTH)).json()
    assert got["rules"] == [] and got["version"] == 2 and got["updated_at"]


async def test_a_bad_rule_set_is_422_with_the_path_and_nothing_changes(client: Client) -> None:
    await apihelp.create_account(client)
    assert (await client.put(URL, json=RULES, headers=AUTH)).status == 200
    bad = {
        "rules": [
            *RULES["rules"],
            {"name": "x", "match": {"on": "message"}, "reply": {"msgtype": "text"}},
            {
                "name": "y",
                "match": {"on": "message"},
                "reply": {"msgtype": "text", "text": {"content": "z" * 2049}},
            },
        ]
    }
    resp = await client.put(URL, json=bad, headers=AUTH)
    assert resp.status == 422
    details = (await resp.json())["error"]["details"]
    assert [d["path"] for d in details] == ["rules[2].reply.text", "rules[3].reply.text.content"]
    assert details[1]["loc"] == ["rules", 3, "reply", "text", "content"]
    got = await (await client.get(URL, headers=AUTH)).json()
    assert got["version"] == 1 and got["rules"] == RULES["rules"]


async def test_unknown_account_and_malformed_json(client: Client) -> None:
    assert (await client.put(URL, json=RULES, headers=AUTH)).status == 404
    assert (await client.get(URL, headers=AUTH)).status == 404
    await apihelp.create_account(client)
    bad = await client.put(URL, data=b"{", headers={**AUTH, "Content-Type": "application/json"})
    assert bad.status == 400


async def test_scopes_and_audit(client: Client) -> None:
    await apihelp.create_account(client)
    tokens = {}
    for scope in ("read", "manage"):
        made = await client.post(
            "/api/v1/tokens",
            json={"name": scope, "scopes": [scope], "accounts": ["acme"]},
            headers=AUTH,
        )
        assert made.status == 201, await made.text()
        tokens[scope] = {"Authorization": f"Bearer {(await made.json())['token']}"}
    assert (await client.get(URL, headers=tokens["read"])).status == 200
    assert (await client.put(URL, json=RULES, headers=tokens["read"])).status == 403
    assert (await client.put(URL, json=RULES, headers=tokens["manage"])).status == 200
    audit = await (await client.get("/api/v1/audit", headers=AUTH)).json()
    assert any(e["route"].endswith("/reply-rules") and e["method"] == "PUT" for e in audit["items"])


async def test_one_reply_endpoint_per_account_shown_with_the_rules(client: Client) -> None:
    await apihelp.create_account(client)
    endpoints = "/api/v1/accounts/acme/endpoints"
    body = {"url": "https://replies.example.com/hook", "mode": "reply"}
    first = await client.post(endpoints, json=body, headers=AUTH)
    assert first.status == 201, await first.text()
    created = await first.json()
    assert created["mode"] == "reply"
    second = await client.post(endpoints, json=body, headers=AUTH)
    assert second.status == 409
    deliver = await client.post(endpoints, json={"url": body["url"]}, headers=AUTH)
    assert deliver.status == 201 and (await deliver.json())["mode"] == "deliver"
    got = await (await client.get(URL, headers=AUTH)).json()
    assert got["reply_endpoint"] == {"id": created["id"], "url": body["url"], "disabled": False}
