"""`wxgate simulate`: drive a follower from the command line.

Through the mock platform (the default: the mock updates its own view of the follower and
sends the signed callback, as WeChat would), or straight at a gateway's callback URL with the
account's token (and AES key), for a gateway that talks to the real platform.
"""

from __future__ import annotations

import argparse
import itertools
import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from gateway import errors
from gateway.wechat import crypto, signature, xmlcodec

ACTIONS = ("subscribe", "unsubscribe", "scan", "text", "click", "location", "view")
_msg_ids = itertools.count(int(time.time() * 1000) * 1000)


class SimulateError(errors.WxgateError):
    """A one-line failure for the command line."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("account", help="the gateway's account id, e.g. demo-service")
    parser.add_argument("openid", help="the follower, e.g. o123")
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument("--scene", help="QR scene for scan/subscribe")
    parser.add_argument("--content", default="hello", help="text of a text message")
    parser.add_argument("--key", default="menu", help="menu key of a click, URL of a view")
    parser.add_argument("--url", help="the gateway's base URL (default http://HOST:PORT)")
    parser.add_argument("--api-token", help="internal API token (default WXGATE_API_TOKEN)")
    parser.add_argument(
        "--direct", action="store_true", help="sign and post the callback to the gateway yourself"
    )
    parser.add_argument("--token", help="the account's callback token (with --direct)")
    parser.add_argument("--aes-key", help="the account's EncodingAESKey (with --direct)")
    parser.add_argument("--app-id", help="the account's AppID (with --direct and --aes-key)")


def _http(method: str, url: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return int(resp.status), resp.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode(errors="replace")
    except OSError as exc:
        raise SimulateError(f"cannot reach {url}: {exc}") from None


def via_mock(args: argparse.Namespace, base: str, api_token: str) -> dict[str, Any]:
    """Look up the account's AppID through the API, then ask the mock to act."""
    status, text = _http(
        "GET",
        f"{base}/api/v1/accounts/{urllib.parse.quote(args.account)}",
        None,
        {"Authorization": f"Bearer {api_token}"},
    )
    if status != 200:
        raise SimulateError(f"account {args.account!r}: HTTP {status} {text[:200]}")
    app_id = json.loads(text)["app_id"]
    action: dict[str, Any] = {"action": args.action}
    if args.action in ("scan", "subscribe") and args.scene:
        action["scene"] = args.scene
    if args.action == "text":
        action["content"] = args.content
    if args.action in ("click", "view"):
        action["key" if args.action == "click" else "url"] = args.key
    path = (
        f"/mock-wechat/_mock/accounts/{app_id}/followers/{urllib.parse.quote(args.openid)}/actions"
    )
    status, text = _http(
        "POST", base + path, json.dumps(action).encode(), {"Content-Type": "application/json"}
    )
    if status >= 300:
        raise SimulateError(f"mock refused the action: HTTP {status} {text[:300]}")
    result: dict[str, Any] = json.loads(text)
    return result


def callback_fields(args: argparse.Namespace, now: int) -> dict[str, str | int]:
    head: dict[str, str | int] = {
        "ToUserName": "gh_000000000000",
        "FromUserName": args.openid,
        "CreateTime": now,
    }
    if args.action == "text":
        return {**head, "MsgType": "text", "Content": args.content, "MsgId": next(_msg_ids)}
    event: dict[str, str | int] = {**head, "MsgType": "event"}
    if args.action == "subscribe":
        key = f"qrscene_{args.scene}" if args.scene else ""
        return {**event, "Event": "subscribe", "EventKey": key}
    if args.action == "scan":
        return {**event, "Event": "SCAN", "EventKey": args.scene or "1", "Ticket": "simulated"}
    if args.action == "location":
        return {
            **event,
            "Event": "LOCATION",
            "Latitude": "23.1",
            "Longitude": "113.3",
            "Precision": "50",
        }
    names = {"unsubscribe": "unsubscribe", "click": "CLICK", "view": "VIEW"}
    return {
        **event,
        "Event": names[args.action],
        "EventKey": args.key if args.action != "unsubscribe" else "",
    }


def direct(args: argparse.Namespace, base: str) -> dict[str, Any]:
    """Sign (and encrypt) the callback as WeChat would and post it to the gateway."""
    if not args.token:
        raise SimulateError("--direct needs --token (the account's callback token)")
    timestamp, nonce = str(int(time.time())), str(secrets.randbelow(10**9))
    query = {
        "signature": signature.sign(args.token, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "openid": args.openid,
    }
    body = xmlcodec.build(callback_fields(args, int(timestamp)))
    if args.aes_key:
        if not args.app_id:
            raise SimulateError("--aes-key needs --app-id")
        cipher = crypto.MessageCrypto(args.token, args.aes_key, args.app_id)
        encrypt = cipher.encrypt(body)
        query["encrypt_type"] = "aes"
        query["msg_signature"] = cipher.msg_signature(timestamp, nonce, encrypt)
        body = xmlcodec.build({"ToUserName": "gh_000000000000", "Encrypt": encrypt})
    url = f"{base}/wechat/{urllib.parse.quote(args.account)}?{urllib.parse.urlencode(query)}"
    status, text = _http("POST", url, body.encode(), {"Content-Type": "text/xml"})
    return {"status": status, "reply": text}
