"""A full end-to-end run with every process logging JSON at DEBUG: `wxgate serve`, `python -m
scheduler` and `wxgate mock-wechat`. Accounts with secrets are created and rotated, followers
act in safe (AES) mode, OAuth runs, messages of every type go out, some fail, requests are
refused. Then every log line is searched for the app secrets, callback tokens, AES keys, the
API token, the OAuth signing keys, the access tokens and the message contents: none is there."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from yarl import URL

from tests import wx
from tests.e2e import procs
from tests.reliability import stack

DEBUG_JSON = {"WXGATE_LOG_FORMAT": "json", "WXGATE_LOG_LEVEL": "DEBUG"}
FOLLOWERS = [f"oLog{n:024d}" for n in range(6)]


def _key() -> str:
    return secrets.token_hex(22)[:43]


@pytest.mark.slow
async def test_no_secret_or_message_content_in_any_log_line(
    db_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    mock_port = procs.free_port()
    mock_base = f"http://127.0.0.1:{mock_port}"
    mock_log, serve_log, worker_log = (tmp_path / f"{n}.log" for n in ("mock", "serve", "worker"))
    mock = await stack.spawn(
        [stack.WXGATE, "mock-wechat"],
        stack.env(WXGATE_HOST="127.0.0.1", WXGATE_PORT=str(mock_port), **DEBUG_JSON),
        mock_log,
    )
    secret_values: dict[str, str] = {"api_token": stack.API_TOKEN}
    contents: list[str] = []
    try:
        await stack.wait_http(mock_base + "/_mock/accounts", proc=mock)
        async with (
            stack.gateway(
                db_url,
                serve_log,
                api_base=mock_base,
                WXGATE_WECHAT_OAUTH_BASE=mock_base,
                **DEBUG_JSON,
            ) as gw,
            # unsafe: keep the OAuth cookie of an IP host, as a browser does
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http,
        ):
            worker = await stack.start_worker(
                db_url, mock_base, worker_log, *stack.WORKER_FLAGS, **DEBUG_JSON
            )
            try:
                await _exercise(gw, http, mock_base, pool, secret_values, contents)
            finally:
                await stack.stop(worker)
    finally:
        await stack.stop(mock)
    for row in await pool.fetch("SELECT token FROM access_tokens"):
        secret_values[f"access token {row['token'][:6]}"] = row["token"]

    lines = [
        (path.name, line)
        for path in (mock_log, serve_log, worker_log)
        for line in path.read_text(errors="replace").splitlines()
        if line.strip() and not line.startswith("mock WeChat platform on ")  # its banner
    ]
    assert len(lines) > 50
    for name, line in lines:
        json.loads(line)  # one JSON object per line
        for what, value in secret_values.items():
            assert value not in line, f"{what} in {name}: {line[:300]}"
        for text in contents:
            assert text not in line, f"message content {text!r} in {name}: {line[:300]}"
    actions = {json.loads(line).get("action") for _, line in lines}
    assert {"message_enqueue", "callback_refused", "send_stale", "api_unauthorized"} <= actions


async def _exercise(
    gw: stack.Gateway,
    http: aiohttp.ClientSession,
    mock_base: str,
    pool: asyncpg.Pool,
    secret_values: dict[str, str],
    contents: list[str],
) -> None:
    app_id, app_secret, token, aes_key = "wxlog0000000001", _key(), _key(), _key()
    secret_values |= {"app_secret": app_secret, "token": token, "aes_key": aes_key}
    status, created = await gw.api(
        "POST",
        "/accounts",
        {
            "id": "shop",
            "kind": "service",
            "app_id": app_id,
            "app_secret": app_secret,
            "token": token,
            "encoding_aes_key": aes_key,
            "oauth_redirect_hosts": ["shop.test"],
        },
    )
    assert status == 201, created
    secret_values["oauth_signing_key"] = created["oauth_signing_key"]
    # A webhook endpoint (its deliveries fail: the name does not resolve) and its rotation.
    status, endpoint = await gw.api(
        "POST", "/accounts/shop/endpoints", {"url": "https://hooks.invalid/wx"}
    )
    assert status == 201, endpoint
    status, rotated = await gw.api(
        "POST", f"/accounts/shop/endpoints/{endpoint['id']}/secret/rotate"
    )
    assert status == 200, rotated
    secret_values |= {"webhook secret": endpoint["secret"][6:], "rotated": rotated["secret"][6:]}

    async def register(secret: str, tok: str, key: str) -> None:
        body = {
            "app_id": app_id,
            "app_secret": secret,
            "kind": "service",
            "token": tok,
            "encoding_aes_key": key,
            "callback_url": f"{gw.base}/wechat/shop",
        }
        async with http.post(mock_base + "/_mock/accounts", json=body) as resp:
            assert resp.status == 201

    async def act(openid: str, action: str, **extra: Any) -> dict[str, Any]:
        url = f"{mock_base}/_mock/accounts/{app_id}/followers/{openid}/actions"
        async with http.post(url, json={"action": action, **extra}) as resp:
            answer: dict[str, Any] = await resp.json()
            assert resp.status == 200 and answer["delivered"], answer
            return answer

    await register(app_secret, token, aes_key)
    for n, openid in enumerate(FOLLOWERS):
        await act(openid, "subscribe")
        said = f"follower-words-{n}-{secrets.token_hex(4)}"
        contents.append(said)
        await act(openid, "text", content=said)

    async def enqueue(body: dict[str, Any]) -> int:
        status, answer = await gw.api("POST", "/accounts/shop/messages", body)
        assert status == 202, answer
        return int(answer["id"])

    ids = []
    for n, openid in enumerate(FOLLOWERS):
        text = f"cs-content-{n}-{secrets.token_hex(4)}"
        value = f"tpl-value-{n}-{secrets.token_hex(4)}"
        contents += [text, value]
        ids.append(
            await enqueue(
                {
                    "type": "customer_service",
                    "to": openid,
                    "content": {"msgtype": "text", "text": {"content": text}},
                }
            )
        )
        ids.append(
            await enqueue(
                {
                    "type": "template",
                    "to": openid,
                    "template": {"template_id": "t1", "data": {"k": {"value": value}}},
                }
            )
        )
    mass_text = f"mass-content-{secrets.token_hex(4)}"
    contents.append(mass_text)
    ids.append(
        await enqueue(
            {
                "type": "mass",
                "audience": {"openids": FOLLOWERS},
                "content": {"msgtype": "text", "text": {"content": mass_text}},
            }
        )
    )
    status, qr = await gw.api("POST", "/accounts/shop/qrcodes", {"scene": "spring-fair"})
    assert status == 201, qr

    async def settled() -> bool:
        n = await pool.fetchval(
            "SELECT count(*) FROM messages WHERE id = any($1::bigint[])"
            " AND status IN ('sent', 'delivered')",
            ids,
        )
        return int(n) == len(ids)

    await stack.until(settled, "every message sent", 30)

    # WeChat refuses one (45015: our view of the window was stale); it goes out by `reach`.
    async with http.post(
        mock_base + "/_mock/faults",
        json={"path": "/cgi-bin/message/custom/send", "errcode": 45015, "count": 1},
    ) as resp:
        assert resp.status == 201
    refused = f"refused-content-{secrets.token_hex(4)}"
    contents.append(refused)
    ids.append(
        await enqueue(
            {
                "type": "customer_service",
                "to": FOLLOWERS[0],
                "content": {"msgtype": "text", "text": {"content": refused}},
                "outside_window": "reach",
            }
        )
    )
    await stack.until(settled, "the refused message sent by reach", 30)

    # OAuth, through the mock's consent page and back.
    async with http.get(
        f"{gw.base}/oauth/shop/authorize",
        params={"redirect": "https://shop.test/after", "scope": "snsapi_userinfo"},
        allow_redirects=False,
    ) as resp:
        assert resp.status == 302
        to_wechat = URL(resp.headers["Location"])
    async with http.get(to_wechat.with_fragment(None), allow_redirects=False) as resp:
        assert resp.status == 302
        back = resp.headers["Location"]
    async with http.get(back, allow_redirects=False) as resp:
        assert resp.status == 302 and resp.headers["Location"].startswith("https://shop.test/")

    # Refusals: a wrong API token, a forged callback, a replayed stale one.
    async with http.get(
        f"{gw.base}/api/v1/accounts", headers={"Authorization": f"Bearer {_key()}"}
    ) as resp:
        assert resp.status == 401
    query, body = wx.callback(wx.text(create_time=int(time.time())), token=_key())
    async with http.post(f"{gw.base}/wechat/shop", params=query, data=body) as resp:
        assert resp.status == 403

    # Rotation: new secrets, the old AES key kept as the previous one.
    new_secret, new_token, new_key = _key(), _key(), _key()
    secret_values |= {"new app_secret": new_secret, "new token": new_token, "new aes": new_key}
    status, patched = await gw.api(
        "PATCH",
        "/accounts/shop",
        {
            "app_secret": new_secret,
            "token": new_token,
            "encoding_aes_key": new_key,
            "rotate_oauth_signing_key": True,
        },
    )
    assert status == 200, patched
    secret_values["new oauth_signing_key"] = patched["oauth_signing_key"]
    await register(new_secret, new_token, new_key)
    words = f"after-rotation-{secrets.token_hex(4)}"
    contents.append(words)

    async def accepted() -> bool:  # once the gateway's account cache (5 s) has the new token
        url = f"{mock_base}/_mock/accounts/{app_id}/followers/{FOLLOWERS[1]}/actions"
        async with http.post(url, json={"action": "text", "content": words}) as resp:
            return bool((await resp.json())["delivered"])

    await stack.until(accepted, "callbacks signed with the new token accepted", 15)
