"""A claimed webhook as the dispatcher gets it from the store (a frozen ClaimedWebhook): its
signing secrets, and its request body, built once per event and the same bytes each time."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import pytest

from gateway.domain import webhook_payload as wp
from gateway.domain import webhook_sign as ws
from gateway.store.webhook_claims import ClaimedWebhook
from scheduler import webhook_send

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
FIELDS = {
    "ToUserName": "gh_x",
    "FromUserName": "o1",
    "CreateTime": "1772366400",
    "MsgType": "text",
    "Content": "hello",
    "MsgId": "7",
}


def claimed(**changes: Any) -> ClaimedWebhook:
    w = ClaimedWebhook(
        account_id="acme",
        id=1,
        endpoint_id="ep_a",
        openid="o1",
        event_type="message.text",
        attempts=0,
        url="http://127.0.0.1:9/hook",
        secret="whsec_AAAA",
        previous_secret=None,
        previous_expires_at=None,
        inbound=True,
        row_id=42,
        event_created_at=T0,
        in_openid="o1",
        in_create_time=T0,
        in_fields=FIELDS,
        in_raw_xml=None,
        data=None,
    )
    return dataclasses.replace(w, **changes)


def sender() -> webhook_send.Sender:
    return webhook_send.Sender(
        None,  # type: ignore[arg-type]  # no request is made here
        timeout=1.0,
        allow_private=True,
        schedule=(1.0,),
        clock=lambda: T0,
    )


def test_the_previous_secret_signs_until_it_expires() -> None:
    w = claimed(previous_secret="whsec_BBBB", previous_expires_at=T0 + dt.timedelta(hours=1))
    assert w.active_secrets(T0) == ("whsec_AAAA", "whsec_BBBB")
    assert w.active_secrets(T0 + dt.timedelta(hours=2)) == ("whsec_AAAA",)
    assert claimed().active_secrets(T0) == ("whsec_AAAA",)


def test_a_callback_body_is_the_payload_of_its_stored_row() -> None:
    built = webhook_send.request_body(claimed())
    assert built is not None
    ev_id, body = built
    assert ev_id == wp.event_id(True, 42)
    value = json.loads(body)
    assert value["id"] == ev_id and value["type"] == "message.text"
    assert value["created_at"] == "2026-03-01T12:00:00Z"
    assert value["data"]["content"] == "hello" and value["data"]["openid"] == "o1"
    assert value["data"]["xml"].startswith("<xml><ToUserName><![CDATA[gh_x]]>")
    assert body == wp.body(value)  # compact, sorted keys: the same bytes when built again


def test_an_event_no_longer_stored_has_no_body() -> None:
    assert webhook_send.request_body(claimed(row_id=None)) is None
    assert sender().body(claimed(row_id=None)) is None


def test_an_events_body_is_built_once_for_every_endpoint_and_retry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    builds: list[int] = []
    build = webhook_send.request_body

    def counted(w: ClaimedWebhook) -> tuple[str, bytes] | None:
        builds.append(w.id)
        return build(w)

    monkeypatch.setattr(webhook_send, "request_body", counted)
    s = sender()
    first = s.body(claimed())
    again = s.body(claimed(id=2, endpoint_id="ep_b", attempts=3))  # same event, other endpoint
    other = s.body(claimed(id=3, row_id=43))
    assert first is not None and first == again
    assert other is not None and other[0] != first[0]
    assert builds == [1, 3]


def test_the_bodies_kept_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webhook_send, "BODIES", 3)
    s = sender()
    for row_id in range(10):
        s.body(claimed(row_id=row_id))
    assert len(s._bodies) == 3


def test_a_signature_of_the_body_verifies() -> None:
    built = webhook_send.request_body(claimed())
    assert built is not None
    ev_id, body = built
    secret = ws.new_secret()
    header = ws.header((secret,), ev_id, 1772366400, body)
    assert ws.verify(secret, ev_id, "1772366400", header, body, 1772366400)
