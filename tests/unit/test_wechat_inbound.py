"""Inbound messages: every documented sample, dedupe keys, QR scenes and validation bounds."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.wechat import inbound, xmlcodec


def head(to: str, sender: str, time: int, msg_type: str) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{to}]]></ToUserName>"
        f"<FromUserName><![CDATA[{sender}]]></FromUserName>"
        f"<CreateTime>{time}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>"
    )


MSG = "<MsgId>1234567890123456</MsgId></xml>"
# (id, body, (to_user, from_user, create_time, msg_type, event, event_key, msg_id), dedupe, scene)
SAMPLES: list[tuple[str, str, tuple[Any, ...], str, str | None]] = [
    (
        "text",
        head("toUser", "fromUser", 1348831860, "text")
        + "<Content><![CDATA[this is a test]]></Content>"
        + MSG,
        ("toUser", "fromUser", 1348831860, "text", None, None, 1234567890123456),
        "m:1234567890123456:fromUser",
        None,
    ),
    (
        "image",
        head("toUser", "fromUser", 1348831860, "image")
        + "<PicUrl><![CDATA[this is a url]]></PicUrl><MediaId><![CDATA[media_id]]></MediaId>"
        + MSG,
        ("toUser", "fromUser", 1348831860, "image", None, None, 1234567890123456),
        "m:1234567890123456:fromUser",
        None,
    ),
    (
        "voice",
        head("toUser", "fromUser", 1357290913, "voice")
        + "<MediaId><![CDATA[media_id]]></MediaId><Format><![CDATA[Format]]></Format>"
        + MSG,
        ("toUser", "fromUser", 1357290913, "voice", None, None, 1234567890123456),
        "m:1234567890123456:fromUser",
        None,
    ),
    *[
        (
            kind,
            head("toUser", "fromUser", 1357290913, kind)
            + "<MediaId><![CDATA[media_id]]></MediaId>"
            + "<ThumbMediaId><![CDATA[thumb_media_id]]></ThumbMediaId>"
            + MSG,
            ("toUser", "fromUser", 1357290913, kind, None, None, 1234567890123456),
            "m:1234567890123456:fromUser",
            None,
        )
        for kind in ("video", "shortvideo")
    ],
    (
        "location",
        head("toUser", "fromUser", 1351776360, "location")
        + "<Location_X>23.134521</Location_X><Location_Y>113.358803</Location_Y>"
        + "<Scale>20</Scale><Label><![CDATA[位置信息]]></Label>"
        + MSG,
        ("toUser", "fromUser", 1351776360, "location", None, None, 1234567890123456),
        "m:1234567890123456:fromUser",
        None,
    ),
    (
        "link",
        head("toUser", "fromUser", 1351776360, "link")
        + "<Title><![CDATA[公众平台官网链接]]></Title>"
        + "<Description><![CDATA[公众平台官网链接]]></Description><Url><![CDATA[url]]></Url>"
        + MSG,
        ("toUser", "fromUser", 1351776360, "link", None, None, 1234567890123456),
        "m:1234567890123456:fromUser",
        None,
    ),
    (
        "miniprogrampage",
        head("gh_97417a04a28d", "oia2TjuEGTNoeX76QEjQNrcURxG8", 1714112445, "miniprogrampage")
        + "<AppId><![CDATA[wx0000000000000000]]></AppId><Title><![CDATA[t]]></Title>"
        + "<PagePath><![CDATA[p]]></PagePath><ThumbUrl><![CDATA[u]]></ThumbUrl>"
        + "<ThumbMediaId><![CDATA[m]]></ThumbMediaId><MsgId>6272960105994287618</MsgId></xml>",
        (
            "gh_97417a04a28d",
            "oia2TjuEGTNoeX76QEjQNrcURxG8",
            1714112445,
            "miniprogrampage",
            None,
            None,
            6272960105994287618,
        ),
        "m:6272960105994287618:oia2TjuEGTNoeX76QEjQNrcURxG8",
        None,
    ),
    (
        "subscribe",
        head("gh_e162768bd940", "ohI7AuOM3UUkyp8oJZDsuZ8xdKX8", 1452322856, "event")
        + "<Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[]]></EventKey></xml>",
        (
            "gh_e162768bd940",
            "ohI7AuOM3UUkyp8oJZDsuZ8xdKX8",
            1452322856,
            "event",
            "subscribe",
            "",
            None,
        ),
        "e:ohI7AuOM3UUkyp8oJZDsuZ8xdKX8:1452322856:subscribe:",
        None,
    ),
    (
        "subscribe without EventKey",
        head("toUser", "FromUser", 123456789, "event")
        + "<Event><![CDATA[subscribe]]></Event></xml>",
        ("toUser", "FromUser", 123456789, "event", "subscribe", None, None),
        "e:FromUser:123456789:subscribe:",
        None,
    ),
    (
        "subscribe by QR",
        head("toUser", "FromUser", 123456789, "event")
        + "<Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[qrscene_123123]]></EventKey>"
        + "<Ticket><![CDATA[TICKET]]></Ticket></xml>",
        ("toUser", "FromUser", 123456789, "event", "subscribe", "qrscene_123123", None),
        "e:FromUser:123456789:subscribe:qrscene_123123",
        "123123",
    ),
    (
        "SCAN",
        head("toUser", "FromUser", 123456789, "event")
        + "<Event><![CDATA[SCAN]]></Event><EventKey><![CDATA[SCENE_VALUE]]></EventKey>"
        + "<Ticket><![CDATA[TICKET]]></Ticket></xml>",
        ("toUser", "FromUser", 123456789, "event", "SCAN", "SCENE_VALUE", None),
        "e:FromUser:123456789:SCAN:SCENE_VALUE",
        "SCENE_VALUE",
    ),
    (
        "unsubscribe",
        head("toUser", "FromUser", 123456789, "event")
        + "<Event><![CDATA[unsubscribe]]></Event><EventKey><![CDATA[]]></EventKey></xml>",
        ("toUser", "FromUser", 123456789, "event", "unsubscribe", "", None),
        "e:FromUser:123456789:unsubscribe:",
        None,
    ),
    (
        "LOCATION",
        head("toUser", "fromUser", 123456789, "event")
        + "<Event><![CDATA[LOCATION]]></Event><Latitude>23.137466</Latitude>"
        + "<Longitude>113.352425</Longitude><Precision>119.385040</Precision></xml>",
        ("toUser", "fromUser", 123456789, "event", "LOCATION", None, None),
        "e:fromUser:123456789:LOCATION:",
        None,
    ),
    (
        "CLICK",
        head("toUser", "FromUser", 123456789, "event")
        + "<Event><![CDATA[CLICK]]></Event><EventKey><![CDATA[EVENTKEY]]></EventKey></xml>",
        ("toUser", "FromUser", 123456789, "event", "CLICK", "EVENTKEY", None),
        "e:FromUser:123456789:CLICK:EVENTKEY",
        None,
    ),
    (
        "VIEW",
        head("toUser", "FromUser", 123456789, "event")
        + "<Event><![CDATA[VIEW]]></Event><EventKey><![CDATA[www.qq.com]]></EventKey>"
        + "<MenuId>MENUID</MenuId></xml>",
        ("toUser", "FromUser", 123456789, "event", "VIEW", "www.qq.com", None),
        "e:FromUser:123456789:VIEW:www.qq.com",
        None,
    ),
    (
        "VIEW in compatible mode",
        head("gh_300f1ebbd4d0", "oGhJFwaBkSW8fYK1Nszv_gudio2c", 1483081045, "event")
        + "<Event><![CDATA[VIEW]]></Event><EventKey><![CDATA[http://xxxx/newest]]></EventKey>"
        + "<MenuId>439342175</MenuId><Encrypt><![CDATA[Q7Gh1SzK]]></Encrypt></xml>",
        (
            "gh_300f1ebbd4d0",
            "oGhJFwaBkSW8fYK1Nszv_gudio2c",
            1483081045,
            "event",
            "VIEW",
            "http://xxxx/newest",
            None,
        ),
        "e:oGhJFwaBkSW8fYK1Nszv_gudio2c:1483081045:VIEW:http://xxxx/newest",
        None,
    ),
    (
        "scancode_push",
        head("toUser", "FromUser", 1408090502, "event")
        + "<Event><![CDATA[scancode_push]]></Event><EventKey><![CDATA[6]]></EventKey>"
        + "<ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType>"
        + "<ScanResult><![CDATA[1]]></ScanResult></ScanCodeInfo></xml>",
        ("toUser", "FromUser", 1408090502, "event", "scancode_push", "6", None),
        "e:FromUser:1408090502:scancode_push:6",
        None,
    ),
    (
        "TEMPLATESENDJOBFINISH",
        head("gh_7f083739789a", "oia2TjuEGTNoeX76QEjQNrcURxG8", 1395658920, "event")
        + "<Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><MsgID>200163836</MsgID>"
        + "<Status><![CDATA[success]]></Status></xml>",
        (
            "gh_7f083739789a",
            "oia2TjuEGTNoeX76QEjQNrcURxG8",
            1395658920,
            "event",
            "TEMPLATESENDJOBFINISH",
            None,
            200163836,
        ),
        "e:oia2TjuEGTNoeX76QEjQNrcURxG8:1395658920:TEMPLATESENDJOBFINISH::200163836",
        None,
    ),
    (
        "MASSSENDJOBFINISH",
        head("", "oV5CrjpxgaGXNHIQigzNlgLTnwic", 1481013459, "event")
        + "<Event><![CDATA[MASSSENDJOBFINISH]]></Event><MsgID>1000001625</MsgID>"
        + "<Status><![CDATA[send success]]></Status><TotalCount>2</TotalCount>"
        + "<FilterCount>1</FilterCount><SentCount>1</SentCount><ErrorCount>0</ErrorCount>"
        + "<CopyrightCheckResult><Count>0</Count><ResultList></ResultList>"
        + "<CheckState>1</CheckState></CopyrightCheckResult>"
        + "<ArticleUrlResult><Count>1</Count><ResultList><item><ArticleIdx>1</ArticleIdx>"
        + "<ArticleUrl><![CDATA[http://mp.weixin.qq.com/s/YIpdZXAJnouoMDBfHxQG1A]]></ArticleUrl>"
        + "</item></ResultList></ArticleUrlResult></xml>",
        (
            "",
            "oV5CrjpxgaGXNHIQigzNlgLTnwic",
            1481013459,
            "event",
            "MASSSENDJOBFINISH",
            None,
            1000001625,
        ),
        "e:oV5CrjpxgaGXNHIQigzNlgLTnwic:1481013459:MASSSENDJOBFINISH::1000001625",
        None,
    ),
    (
        "unknown message type",
        head("toUser", "fromUser", 1, "file") + "<Title>x</Title></xml>",
        ("toUser", "fromUser", 1, "file", None, None, None),
        "u:fromUser:1:file",
        None,
    ),
    (
        "unknown message type with MsgId",
        head("toUser", "fromUser", 1, "file") + MSG,
        ("toUser", "fromUser", 1, "file", None, None, 1234567890123456),
        "m:1234567890123456:fromUser",
        None,
    ),
    (
        "unknown event",
        head("toUser", "fromUser", 1, "event") + "<Event>naming_verify_success</Event></xml>",
        ("toUser", "fromUser", 1, "event", "naming_verify_success", None, None),
        "e:fromUser:1:naming_verify_success:",
        None,
    ),
]


@pytest.mark.parametrize(
    ("body", "typed", "dedupe", "scene"), [s[1:] for s in SAMPLES], ids=[s[0] for s in SAMPLES]
)
def test_documented_samples(
    body: str, typed: tuple[Any, ...], dedupe: str, scene: str | None
) -> None:
    fields = xmlcodec.parse(body.encode())
    message = inbound.parse_inbound(fields)
    assert (
        message.to_user,
        message.from_user,
        message.create_time,
        message.msg_type,
        message.event,
        message.event_key,
        message.msg_id,
    ) == typed
    assert message.dedupe_key == dedupe
    assert message.scene == scene
    assert dict(message.fields) == fields


@pytest.mark.parametrize(
    ("event", "key", "scene"),
    [
        ("subscribe", "qrscene_abc:1", "abc:1"),
        ("subscribe", "qrscene_", None),
        ("subscribe", "", None),
        ("subscribe", "abc", None),
        ("SCAN", "qrscene_1", "qrscene_1"),
        ("SCAN", "", None),
        ("scan", "1", None),  # event names are case-sensitive
        ("CLICK", "qrscene_1", None),
    ],
)
def test_scene(event: str, key: str, scene: str | None) -> None:
    fields = {**BASE_EVENT, "Event": event, "EventKey": key}
    assert inbound.parse_inbound(fields).scene == scene


BASE_TEXT = {
    "ToUserName": "gh_97417a04a28d",
    "FromUserName": "o9AgO5Kd5ggOC-bXrbNODIiE3bGY",
    "CreateTime": "1714112445",
    "MsgType": "text",
    "Content": "hello",
    "MsgId": "24500000000000001",
}
BASE_EVENT = {
    **{k: BASE_TEXT[k] for k in ("ToUserName", "FromUserName", "CreateTime")},
    "MsgType": "event",
    "Event": "CLICK",
}


def test_retries_share_a_key_and_distinct_pushes_do_not() -> None:
    key = inbound.parse_inbound(BASE_TEXT).dedupe_key
    assert inbound.parse_inbound(dict(BASE_TEXT)).dedupe_key == key
    # MsgIds collide across users (WxJava#333): the sender is part of the key.
    assert inbound.parse_inbound({**BASE_TEXT, "FromUserName": "other"}).dedupe_key != key
    click = inbound.parse_inbound({**BASE_EVENT, "EventKey": "a"}).dedupe_key
    assert inbound.parse_inbound({**BASE_EVENT, "EventKey": "b"}).dedupe_key != click
    assert inbound.parse_inbound({**BASE_EVENT, "Event": "VIEW", "EventKey": "a"}).dedupe_key != (
        click
    )
    job = {**BASE_EVENT, "Event": "TEMPLATESENDJOBFINISH", "MsgID": "1"}
    assert (
        inbound.parse_inbound(job).dedupe_key
        != inbound.parse_inbound({**job, "MsgID": "2"}).dedupe_key
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ToUserName": None}, "ToUserName"),
        ({"ToUserName": "g" * 65}, "ToUserName"),
        ({"FromUserName": None}, "FromUserName"),
        ({"FromUserName": ""}, "FromUserName"),
        ({"FromUserName": "o" * 65}, "FromUserName"),
        ({"CreateTime": None}, "CreateTime"),
        *[
            ({"CreateTime": bad}, "CreateTime")
            for bad in ("", "abc", "-1", "+1", " 1", "1 ", "1.0", "1_0", "\u0661\u0662", "1\n")
        ],
        ({"CreateTime": str(2**32)}, "CreateTime"),
        ({"CreateTime": "9" * 25}, "CreateTime"),
        ({"MsgType": None}, "MsgType"),
        ({"MsgType": ""}, "MsgType"),
        ({"MsgType": "t" * 33}, "MsgType"),
        ({"MsgId": None}, "MsgId"),
        ({"MsgId": "x"}, "MsgId"),
        ({"MsgId": str(2**64)}, "MsgId"),
        ({"MsgId": "-5"}, "MsgId"),
        ({"Content": None}, "Content"),
        ({"MsgType": "image"}, "PicUrl"),
        ({"MsgType": "image", "PicUrl": "u"}, "MediaId"),
        ({"MsgType": "voice", "MediaId": "m"}, "Format"),
        ({"MsgType": "video", "MediaId": "m"}, "ThumbMediaId"),
        ({"MsgType": "shortvideo", "ThumbMediaId": "m"}, "MediaId"),
        ({"MsgType": "location", "Location_X": "1", "Location_Y": "2", "Scale": "3"}, "Label"),
        ({"MsgType": "link", "Title": "t", "Description": "d"}, "Url"),
        ({"MsgType": "file", "MsgId": "1.5"}, "MsgId"),
        ({"MsgType": "event"}, "Event"),
        ({"MsgType": "event", "Event": ""}, "Event"),
        ({"MsgType": "event", "Event": "TEMPLATESENDJOBFINISH"}, "MsgID"),
        ({"MsgType": "event", "Event": "MASSSENDJOBFINISH", "MsgID": "x"}, "MsgID"),
    ],
)
def test_invalid_messages_name_the_field(change: dict[str, str | None], field: str) -> None:
    fields = {**BASE_TEXT, **change}
    clean = {k: v for k, v in fields.items() if v is not None}
    with pytest.raises(inbound.InvalidMessage, match=f"^{field} "):
        inbound.parse_inbound(clean)


@pytest.mark.parametrize(
    "change",
    [
        {"CreateTime": "0"},
        {"CreateTime": str(2**32 - 1)},
        {"MsgId": "0"},
        {"MsgId": str(2**64 - 1)},
        {"FromUserName": "o" * 64},
        {"FromUserName": "o"},
        {"ToUserName": ""},
        {"Content": ""},
    ],
)
def test_bounds_are_inclusive(change: dict[str, str]) -> None:
    inbound.parse_inbound({**BASE_TEXT, **change})


def test_inbound_is_frozen_hashable_and_keeps_its_own_copy() -> None:
    raw = dict(BASE_TEXT)
    message = inbound.parse_inbound(raw)
    raw["Content"] = "changed"
    assert message.fields["Content"] == "hello"
    with pytest.raises(TypeError):
        message.fields["Content"] = "x"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        message.msg_id = 1  # type: ignore[misc]
    assert hash(message) == hash(inbound.parse_inbound(BASE_TEXT))
    assert message == inbound.parse_inbound(BASE_TEXT)
    assert "hello" not in repr(message)


def test_invalid_message_is_a_value_error() -> None:
    assert issubclass(inbound.InvalidMessage, ValueError)


def _parse_or_invalid(fields: dict[str, str]) -> None:
    try:
        message = inbound.parse_inbound(fields)
    except inbound.InvalidMessage:
        return
    assert message.dedupe_key[:2] in {"m:", "e:", "u:"}
    assert message.scene is None or message.event in {"subscribe", "SCAN"}


SETTINGS = settings(max_examples=250, deadline=None)
KNOWN = [*BASE_TEXT, "Event", "EventKey", "MsgID", "PicUrl", "MediaId", "Format", "Label"]
VALUE = st.text(max_size=70) | st.sampled_from(
    [
        "",
        "0",
        "1",
        str(2**32),
        str(2**64),
        "text",
        "event",
        "subscribe",
        "SCAN",
        "qrscene_1",
        "TEMPLATESENDJOBFINISH",
        "image",
        "file",
        "-1",
        "١",
    ]
)


@SETTINGS
@given(st.dictionaries(st.text(max_size=20), st.text(max_size=70), max_size=10))
def test_arbitrary_dicts_raise_only_invalid_message(fields: dict[str, str]) -> None:
    _parse_or_invalid(fields)


@SETTINGS
@given(st.dictionaries(st.sampled_from(KNOWN), VALUE, max_size=len(KNOWN)))
def test_near_valid_dicts_raise_only_invalid_message(fields: dict[str, str]) -> None:
    _parse_or_invalid(fields)


@SETTINGS
@given(st.dictionaries(st.sampled_from(KNOWN), VALUE, max_size=4))
def test_mutations_of_a_valid_message_raise_only_invalid_message(change: dict[str, str]) -> None:
    _parse_or_invalid({**BASE_TEXT, **change})
    _parse_or_invalid({**BASE_EVENT, **change})
