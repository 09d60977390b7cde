"""Every kind of event SPEC 7 names reaches an endpoint through the whole product: callbacks
through the mock platform, a queued message's outcome, a payment, an OAuth grant, and the
marketing registrations, check-ins and survey answers; each signed as Standard Webhooks."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import aiohttp
import asyncpg
import standardwebhooks

from gateway.store import events as events_store
from tests.integration import flows
from tests.integration import sched_helpers as sh
from tests.integration.test_flow_payments import SHOP, _configure
from tests.webhooks import hooks as h

ANN = "oFollowerAnn0000000000000000001"


async def test_every_event_type_reaches_the_endpoint(
    db_url: str, pool: asyncpg.Pool, aiohttp_server: Any
) -> None:
    rec = h.Receiver()
    server = await aiohttp_server(rec.app())
    clock = sh.Clock()  # real time: the message is due when queued
    async with flows.stack(db_url, pool, clock) as stack:
        await _configure(stack)
        endpoint = await h.add_endpoint(pool, str(server.make_url("/hook")), account_id="shop")
        filtered = await h.add_endpoint(
            pool, str(server.make_url("/hook")), ["outbound.*"], account_id="shop"
        )
        await stack.act(SHOP, ANN, "subscribe")
        await stack.act(SHOP, ANN, "text", content="hello there")
        message = {
            "type": "customer_service",
            "to": ANN,
            "content": {"msgtype": "text", "text": {"content": "hi"}},
        }
        status, queued = await stack.api("POST", "/api/v1/accounts/shop/messages", message)
        assert status == 202, queued
        await stack.drain()
        await stack.act(SHOP, ANN, "pay", amount=1999, out_trade_no="order-1")
        start = flows.now() + dt.timedelta(hours=2)
        body = {
            "name": "Fair",
            "starts_at": start.isoformat(),
            "ends_at": (start + dt.timedelta(hours=2)).isoformat(),
            "capacity": 5,
        }
        status, event = await stack.api("POST", "/api/v1/accounts/shop/events", body)
        assert status == 201, event
        status, page, _ = await stack.browse(event["registration_url"], ANN)
        assert status == 200, page
        await stack.act(SHOP, ANN, "scan", scene=event["qrcode"]["scene"])
        assert await events_store.save_answers(pool, "shop", event["id"], ANN, {"q1": "good"})

        async with aiohttp.ClientSession() as session:
            d = h.dispatcher(h.settings(db_url), pool, session, h.clock())
            await d.drain()
    by_type: dict[str, list[dict[str, Any]]] = {}
    for arrival in rec.arrivals:
        signed = [endpoint.secret, filtered.secret]
        payload = None
        for secret in signed:
            try:
                payload = standardwebhooks.Webhook(secret).verify(arrival.body, arrival.headers)
            except standardwebhooks.WebhookVerificationError:
                continue
        assert payload is not None, "no secret verifies the request"
        assert payload == json.loads(arrival.body)
        by_type.setdefault(payload["type"], []).append(payload)
    for name in (
        "event.subscribe",
        "message.text",
        "event.scan",
        "payment.succeeded",
        "oauth.granted",
        "marketing.registered",
        "marketing.checked_in",
        "marketing.survey_answered",
    ):
        assert len(by_type.get(name, [])) == 1, (name, sorted(by_type))
    assert len(by_type.get("outbound.sent", [])) == 2, sorted(by_type)
    sent = by_type["outbound.sent"][0]["data"]
    assert sent["message_id"] == queued["id"] and sent["to"] == ANN
    assert sent["status"] == "sent" and sent["message_type"] == "customer_service"
    assert by_type["message.text"][0]["data"]["content"] == "hello there"
    paid = by_type["payment.succeeded"][0]["data"]
    assert paid["openid"] == ANN and paid["amount_total"] == 1999
    assert by_type["oauth.granted"][0]["data"]["openid"] == ANN
    assert by_type["marketing.survey_answered"][0]["data"]["answers"] == {"q1": "good"}
