"""Talks to a running wxgate container like its users do: one API call, one signed callback."""

from __future__ import annotations

import json
import sys
import time
import urllib.request

from gateway.wechat import signature

base, token = sys.argv[1], sys.argv[2]


def call(method: str, path: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(base + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


account = {
    "id": "ci",
    "kind": "service",
    "app_id": "wx0000000000000c1",
    "app_secret": "ci-secret",
    "token": "citoken",
}
status, text = call(
    "POST",
    "/api/v1/accounts",
    json.dumps(account).encode(),
    {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
)
assert status == 201, (status, text)
print("API: account created")

ts, nonce = str(int(time.time())), "12345"
query = f"?signature={signature.sign('citoken', ts, nonce)}&timestamp={ts}&nonce={nonce}"
xml = (
    "<xml><ToUserName><![CDATA[gh_000000000000]]></ToUserName>"
    "<FromUserName><![CDATA[oCI00000000000000000000000001]]></FromUserName>"
    f"<CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[hello]]></Content><MsgId>1</MsgId></xml>"
)
status, text = call("POST", "/wechat/ci" + query, xml.encode(), {"Content-Type": "text/xml"})
assert (status, text) == (200, "success"), (status, text)
status, text = call(
    "GET",
    "/api/v1/accounts/ci/followers/oCI00000000000000000000000001",
    None,
    {"Authorization": f"Bearer {token}"},
)
assert status == 200 and json.loads(text)["window"]["open"] is True, (status, text)
print("callback: stored, follower window open")
