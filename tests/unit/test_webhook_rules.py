"""The pure webhook rules, table-driven: filters, the retry schedule with jitter, disabling,
URL shapes and forbidden addresses, replay periods, signatures and payloads."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
import standardwebhooks

from gateway.domain import webhook_payload as wp
from gateway.domain import webhook_rules as r
from gateway.domain import webhook_sign as ws

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("message.*", True),
        ("event.*", True),
        ("outbound.*", True),
        ("payment.*", True),
        ("oauth.*", True),
        ("marketing.*", True),
        ("message.text", True),
        ("message.miniprogrampage", True),
        ("event.templatesendjobfinish", True),
        ("event.some_new_event", True),
        ("outbound.sent", True),
        ("outbound.canceled", True),
        ("payment.succeeded", True),
        ("oauth.granted", True),
        ("marketing.survey_answered", True),
        ("outbound.bogus", False),
        ("payment.refunded", False),
        ("message.Text", False),
        ("nope.*", False),
        ("*", False),
        ("message.", False),
        ("message", False),
        ("event.a.b", False),
        ("message.*.*", False),
    ],
)
def test_filter_names(name: str, valid: bool) -> None:
    assert r.valid_filter(name) is valid


@pytest.mark.parametrize(
    ("filters", "event_type", "matches"),
    [
        (None, "message.text", True),
        (["message.*"], "message.text", True),
        (["message.*"], "event.subscribe", False),
        (["event.subscribe"], "event.subscribe", True),
        (["event.subscribe"], "event.unsubscribe", False),
        (["outbound.failed", "payment.*"], "payment.succeeded", True),
        (["outbound.failed", "payment.*"], "outbound.sent", False),
        ([], "message.text", False),
    ],
)
def test_matches(filters: list[str] | None, event_type: str, matches: bool) -> None:
    assert r.matches(filters, event_type) is matches


@pytest.mark.parametrize(
    ("msg_type", "event", "expected"),
    [
        ("text", None, "message.text"),
        ("shortvideo", None, "message.shortvideo"),
        ("event", "subscribe", "event.subscribe"),
        ("event", "SCAN", "event.scan"),
        ("event", "TEMPLATESENDJOBFINISH", "event.templatesendjobfinish"),
        ("event", "MASSSENDJOBFINISH", "event.masssendjobfinish"),
        ("event", None, "event."),
    ],
)
def test_inbound_type(msg_type: str, event: str | None, expected: str) -> None:
    assert r.inbound_type(msg_type, event) == expected


@pytest.mark.parametrize(
    ("attempts", "jitter", "delay"),
    [
        (1, 0.0, 5.0),
        (1, 1.0, 6.0),
        (1, 0.5, 5.5),
        (2, 0.0, 300.0),
        (3, 0.25, 1800 * 1.05),
        (7, 0.0, 36000.0),
        (7, 1.0, 43200.0),
        (1, 5.0, 6.0),  # jitter is clamped to 20 %
        (1, -1.0, 5.0),
    ],
)
def test_next_attempt_follows_the_default_schedule(
    attempts: int, jitter: float, delay: float
) -> None:
    schedule = r.parse_schedule(r.DEFAULT_SCHEDULE)
    assert r.next_attempt(schedule, attempts, T0, jitter) == T0 + dt.timedelta(seconds=delay)


def test_gives_up_after_the_last_delay() -> None:
    schedule = r.parse_schedule(r.DEFAULT_SCHEDULE)
    assert len(schedule) == 7
    assert r.next_attempt(schedule, 8, T0, 0.0) is None


@pytest.mark.parametrize("text", ["", "a", "5,,6", "0", "-1", "5," * 31 + "5", "1e9"])
def test_bad_schedules(text: str) -> None:
    with pytest.raises(ValueError):
        r.parse_schedule(text)


@pytest.mark.parametrize(
    ("since", "now", "after", "disable"),
    [
        (None, T0, dt.timedelta(days=5), False),
        (T0, T0 + dt.timedelta(days=5), dt.timedelta(days=5), True),
        (T0, T0 + dt.timedelta(days=5, seconds=-1), dt.timedelta(days=5), False),
        (T0, T0 + dt.timedelta(days=9), dt.timedelta(days=5), True),
    ],
)
def test_should_disable(
    since: dt.datetime | None, now: dt.datetime, after: dt.timedelta, disable: bool
) -> None:
    assert r.should_disable(since, now, after) is disable


@pytest.mark.parametrize(
    "url",
    [
        "https://user:pw@h.example/x",
        "https://user@h.example/x",
        "https://:pw@h.example/x",
        "ftp://h.example/x",
        "file:///etc/passwd",
        "h.example/x",
        "https:///x",
        "https://h.example/" + "a" * 2048,
        "https://h.example/a b",
        "https://h.example/\x00",
        "https://h.example:0/",
        "https://h.example:70000/",
        "https://[::1/",
    ],
)
def test_bad_urls(url: str) -> None:
    with pytest.raises(r.InvalidDestination):
        r.check_url(url)


@pytest.mark.parametrize(
    "url", ["https://h.example/x", "http://h.example:8080/a?b=c", "https://1.2.3.4/"]
)
def test_good_urls(url: str) -> None:
    assert r.check_url(url).hostname


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("240.0.0.1", "private"),  # ipaddress counts 240/4 among the private networks
        ("100.64.0.1", None),  # carrier-grade NAT is shared, not private, in ipaddress
        ("8.8.8.8", None),
        ("2001:4860:4860::8888", None),
    ],
)
def test_forbidden_addresses(address: str, refused: str | None) -> None:
    why = r.forbidden_address(address)
    if refused is None:
        assert why is None
    else:
        assert why is not None and refused in why


@pytest.mark.parametrize(
    ("since", "until", "ok"),
    [
        (T0 - dt.timedelta(hours=1), T0, True),
        (T0 - dt.timedelta(days=30), T0, True),
        (T0 - dt.timedelta(days=30, seconds=1), T0, False),
        (T0, T0 - dt.timedelta(hours=1), False),
        (T0, T0, False),
        (T0 - dt.timedelta(hours=1), T0 + dt.timedelta(days=1), False),
    ],
)
def test_replay_periods(since: dt.datetime, until: dt.datetime, ok: bool) -> None:
    assert (r.replay_period_error(since, until, T0) is None) is ok


def test_signatures_agree_with_standardwebhooks() -> None:
    secret = ws.new_secret()
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    body = b'{"a":1}'
    stamp = int(dt.datetime.now(dt.UTC).timestamp())
    header = ws.header([secret], "evt_1", stamp, body)
    theirs = standardwebhooks.Webhook(secret).sign("evt_1", dt.datetime.fromtimestamp(stamp), "")
    assert header.startswith("v1,") and theirs.startswith("v1,")
    headers = {"webhook-id": "evt_1", "webhook-timestamp": str(stamp), "webhook-signature": header}
    assert standardwebhooks.Webhook(secret).verify(body, headers) == {"a": 1}
    assert ws.verify(secret, "evt_1", str(stamp), header, body, stamp)
    assert not ws.verify(secret, "evt_2", str(stamp), header, body, stamp)
    assert not ws.verify(secret, "evt_1", str(stamp), header, body, stamp + 301)
    assert not ws.verify(secret, "evt_1", "x", header, body, stamp)
    assert not ws.verify(ws.new_secret(), "evt_1", str(stamp), header, body, stamp)


@pytest.mark.parametrize("secret", ["whsec_", "whsec_***", "nope!"])
def test_bad_secrets(secret: str) -> None:
    with pytest.raises(ws.InvalidSecret):
        ws.key(secret)


@pytest.mark.parametrize(
    ("name", "snake"),
    [
        ("MsgId", "msg_id"),
        ("MsgID", "msg_id"),
        ("PicUrl", "pic_url"),
        ("MediaId", "media_id"),
        ("EventKey", "event_key"),
        ("Location_X", "location_x"),
        ("Latitude", "latitude"),
        ("Ticket", "ticket"),
        ("ThumbMediaId", "thumb_media_id"),
        ("TotalCount", "total_count"),
    ],
)
def test_snake_case(name: str, snake: str) -> None:
    assert wp.snake(name) == snake


def test_callback_payload_and_ids() -> None:
    fields = {
        "ToUserName": "gh_1",
        "FromUserName": "o1",
        "CreateTime": "1772366400",
        "MsgType": "image",
        "PicUrl": "http://x/p.jpg",
        "MediaId": "m1",
        "MsgId": "42",
        "ScanCodeInfo": "<ScanCodeInfo><ScanType>qrcode</ScanType></ScanCodeInfo>",
        "Note": "a]]>b",
    }
    data = wp.callback_data("o1", T0, fields)
    assert data["openid"] == "o1" and data["create_time"] == "2026-03-01T12:00:00Z"
    assert (data["pic_url"], data["media_id"], data["msg_id"]) == ("http://x/p.jpg", "m1", "42")
    assert "to_user_name" not in data and "msg_type" not in data
    xml = data["xml"]
    assert xml.startswith("<xml><ToUserName><![CDATA[gh_1]]></ToUserName>")
    assert "<ScanCodeInfo><ScanType>qrcode</ScanType></ScanCodeInfo>" in xml
    assert "<Note>a]]&gt;b</Note>" in xml
    ev = wp.event_id(True, 255)
    assert ev == "evt_i00000000000000ff" and wp.parse_event_id(ev) == (True, 255)
    assert wp.parse_event_id(wp.event_id(False, 7)) == (False, 7)
    assert wp.parse_event_id("evt_x") is None
    body = wp.body(wp.payload(ev, "message.image", "acme", T0, data))
    assert json.loads(body)["type"] == "message.image"
    assert body == wp.body(json.loads(body))  # the same bytes on every attempt
