"""Passive-reply XML for every reply type (platform doc 4.3), and its encrypted envelope
(2.3) decrypted by wechatpy's independent implementation."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree
from wechatpy.crypto import WeChatCrypto  # type: ignore[import-untyped]

from gateway.domain import reply_content
from gateway.wechat import crypto, reply_xml, xmlcodec

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wx00000000000000aa"


def _render(value: dict[str, Any]) -> str:
    reply = reply_content.parse_reply(value)
    return reply_xml.render(reply.msgtype, reply.body, "o-follower", "gh_account", 1700000000)


def _tree(xml: str) -> etree._Element:
    return etree.fromstring(xml.encode())


def test_text_is_cdata_with_the_ids_swapped() -> None:
    xml = _render({"msgtype": "text", "text": {"content": "你好 <b> ]]> & done"}})
    assert xml.startswith(
        "<xml><ToUserName><![CDATA[o-follower]]></ToUserName>"
        "<FromUserName><![CDATA[gh_account]]></FromUserName>"
        "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    )
    assert xmlcodec.parse(xml.encode())["Content"] == "你好 <b> ]]> & done"


CASES = [
    ({"msgtype": "image", "image": {"media_id": "M1"}}, {"Image/MediaId": "M1"}),
    ({"msgtype": "voice", "voice": {"media_id": "V1"}}, {"Voice/MediaId": "V1"}),
    (
        {"msgtype": "video", "video": {"media_id": "V2", "title": "T", "description": "D"}},
        {"Video/MediaId": "V2", "Video/Title": "T", "Video/Description": "D"},
    ),
    (
        {
            "msgtype": "music",
            "music": {
                "title": "S",
                "description": "D",
                "musicurl": "https://m/1.mp3",
                "hqmusicurl": "https://m/hq.mp3",
                "thumb_media_id": "TH",
            },
        },
        {
            "Music/Title": "S",
            "Music/Description": "D",
            "Music/MusicUrl": "https://m/1.mp3",
            "Music/HQMusicUrl": "https://m/hq.mp3",
            "Music/ThumbMediaId": "TH",
        },
    ),
    (
        {
            "msgtype": "news",
            "news": {
                "articles": [
                    {
                        "title": "A",
                        "description": "d",
                        "picurl": "https://p/1.jpg",
                        "url": "https://u/1",
                    },
                    {"title": "B", "url": "https://u/2"},
                ]
            },
        },
        {
            "ArticleCount": "2",
            "Articles/item[1]/Title": "A",
            "Articles/item[1]/Description": "d",
            "Articles/item[1]/PicUrl": "https://p/1.jpg",
            "Articles/item[1]/Url": "https://u/1",
            "Articles/item[2]/Title": "B",
            "Articles/item[2]/Url": "https://u/2",
        },
    ),
    ({"msgtype": "transfer_customer_service"}, {}),
    (
        {
            "msgtype": "transfer_customer_service",
            "transfer_customer_service": {"kf_account": "kf1@x"},
        },
        {"TransInfo/KfAccount": "kf1@x"},
    ),
]


@pytest.mark.parametrize(("value", "expected"), CASES)
def test_every_reply_type(value: dict[str, Any], expected: dict[str, str]) -> None:
    tree = _tree(_render(value))
    assert tree.findtext("MsgType") == value["msgtype"]
    assert tree.findtext("ToUserName") == "o-follower"
    assert tree.findtext("FromUserName") == "gh_account"
    for path, text in expected.items():
        assert tree.findtext(path) == text, path


def test_the_encrypted_answer_decrypts_with_wechatpy() -> None:
    xml = _render({"msgtype": "text", "text": {"content": "welcome"}})
    cipher = crypto.MessageCrypto("tok", AES_KEY, APP_ID)
    envelope = reply_xml.answer(xml, cipher, "1700000123", "nonce42")
    fields = xmlcodec.parse(envelope.encode())
    assert fields["Nonce"] == "nonce42" and fields["TimeStamp"] == "1700000123"
    plain = WeChatCrypto("tok", AES_KEY, APP_ID).decrypt_message(
        envelope, fields["MsgSignature"], "1700000123", "nonce42"
    )
    assert plain == xml
    assert reply_xml.answer(xml, None, "1", "n") == xml
