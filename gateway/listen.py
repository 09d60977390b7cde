"""`wxgate listen`: a local webhook receiver for trying endpoints (as `stripe listen` is for
Stripe). It verifies every request's Standard Webhooks signature with wxgate's own verifier,
prints one line per event, and refuses a bad signature with 401 and a line on stderr."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any, TextIO

from aiohttp import web

from gateway.domain import webhook_sign

MAX_BODY = 1024 * 1024
_DONE = web.AppKey("done", asyncio.Event)


def summary(payload: dict[str, Any]) -> str:
    """`type openid summary`: the line printed for one event."""
    data = payload.get("data") or {}
    kind = str(payload.get("type", "?"))
    who = str(data.get("openid") or data.get("to") or "-")
    if kind.startswith("message."):
        detail = data.get("content") or data.get("media_id") or data.get("url") or ""
    elif kind.startswith("event."):
        detail = data.get("event_key") or ""
    elif kind.startswith("outbound."):
        detail = f"message {data.get('message_id')} {data.get('reason') or ''}".strip()
    elif kind == "payment.succeeded":
        detail = f"{data.get('amount_total')} {data.get('currency') or ''}".strip()
    else:
        detail = f"event {data['event_id']}" if "event_id" in data else ""
    text = json.dumps(str(detail)[:80], ensure_ascii=False) if detail else ""
    return " ".join(p for p in (kind, who, text, str(payload.get("id", ""))) if p)


class Receiver:
    def __init__(self, secret: str, out: TextIO, err: TextIO, max_events: int | None) -> None:
        webhook_sign.key(secret)  # a malformed secret fails here, at start
        self.secret = secret
        self.out = out
        self.err = err
        self.max_events = max_events
        self.seen = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        msg_id = request.headers.get("webhook-id", "")
        stamp = request.headers.get("webhook-timestamp", "")
        signatures = request.headers.get("webhook-signature", "")
        if not webhook_sign.verify(self.secret, msg_id, stamp, signatures, body, time.time()):
            print(
                f"REFUSED {request.remote}: bad or missing webhook signature (id {msg_id!r})",
                file=self.err,
                flush=True,
            )
            return web.json_response({"error": "bad signature"}, status=401)
        try:
            payload = json.loads(body)
        except ValueError:
            print(f"REFUSED {msg_id}: the body is not JSON", file=self.err, flush=True)
            return web.json_response({"error": "not json"}, status=400)
        print(summary(payload), file=self.out, flush=True)
        self.seen += 1
        if self.max_events is not None and self.seen >= self.max_events:
            request.app[_DONE].set()
        return web.json_response({"ok": True})


def create_app(receiver: Receiver) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app[_DONE] = asyncio.Event()
    app.router.add_post("/{tail:.*}", receiver.handle)
    return app


async def serve(
    port: int, secret: str, *, max_events: int | None = None, host: str = "127.0.0.1"
) -> None:
    """Listen until interrupted, or until `max_events` verified events arrived."""
    receiver = Receiver(secret, sys.stdout, sys.stderr, max_events)
    app = create_app(receiver)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        print(
            f"listening on http://{host}:{port}/ for wxgate webhooks", file=sys.stderr, flush=True
        )
        await app[_DONE].wait()
    finally:
        await runner.cleanup()
