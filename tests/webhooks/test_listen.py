"""`wxgate listen`: verifies signatures with wxgate's verifier, prints one line per event,
refuses a bad signature with 401 and a line on stderr."""

from __future__ import annotations

import io
import json
import time
from typing import Any

from gateway import listen
from gateway.domain import webhook_payload, webhook_sign

SECRET = webhook_sign.new_secret()


def signed(payload: dict[str, Any], secret: str = SECRET, stamp: int | None = None) -> Any:
    body = webhook_payload.body(payload)
    stamp = int(time.time()) if stamp is None else stamp
    headers = {
        "webhook-id": payload["id"],
        "webhook-timestamp": str(stamp),
        "webhook-signature": webhook_sign.header([secret], payload["id"], stamp, body),
        "Content-Type": "application/json",
    }
    return body, headers


PAYLOAD = {
    "id": "evt_i0000000000000001",
    "type": "message.text",
    "account_id": "acme",
    "created_at": "2026-03-01T12:00:00Z",
    "data": {"openid": "o123", "content": "hello webhooks"},
}


async def test_prints_verified_events_and_refuses_bad_signatures(aiohttp_client: Any) -> None:
    out, err = io.StringIO(), io.StringIO()
    receiver = listen.Receiver(SECRET, out, err, max_events=None)
    client = await aiohttp_client(listen.create_app(receiver))
    body, headers = signed(PAYLOAD)
    resp = await client.post("/", data=body, headers=headers)
    assert resp.status == 200
    assert out.getvalue() == 'message.text o123 "hello webhooks" evt_i0000000000000001\n'
    for bad_body, bad_headers in (
        signed(PAYLOAD, secret=webhook_sign.new_secret()),
        signed(PAYLOAD, stamp=int(time.time()) - 3600),  # a replay of an old request
        (body + b" ", headers),  # a body changed in transit
        (body, {k: v for k, v in headers.items() if k != "webhook-signature"}),
    ):
        resp = await client.post("/hook", data=bad_body, headers=bad_headers)
        assert resp.status == 401
    assert err.getvalue().count("REFUSED") == 4
    assert out.getvalue().count("\n") == 1


def test_summary_lines() -> None:
    base = {"id": "evt_o1", "account_id": "a", "created_at": "x"}
    cases = [
        (
            {"type": "event.scan", "data": {"openid": "o1", "event_key": "fair"}},
            'event.scan o1 "fair"',
        ),
        (
            {"type": "outbound.failed", "data": {"to": "o2", "message_id": 7, "reason": "x"}},
            'outbound.failed o2 "message 7 x"',
        ),
        (
            {"type": "payment.succeeded", "data": {"openid": "o3", "amount_total": 5}},
            'payment.succeeded o3 "5"',
        ),
        ({"type": "event.subscribe", "data": {"openid": "o4"}}, "event.subscribe o4"),
    ]
    for payload, line in cases:
        assert listen.summary({**base, **payload}) == line + " evt_o1"
    assert json.loads(json.dumps(PAYLOAD))  # the fixture is plain JSON
