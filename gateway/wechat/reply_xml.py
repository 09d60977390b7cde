"""Passive-reply XML (wechat-platform.md 4.3) for every reply type, and the answer to a
callback: the XML as is, or in the encrypted envelope (2.3). Pure.

ToUserName is the follower's openid, FromUserName the account's original id (the callback's
ToUserName); strings are CDATA as WeChat writes them, CreateTime bare.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.wechat import crypto, xmlcodec

_MEDIA = {"image": "Image", "voice": "Voice"}
_VIDEO = (("media_id", "MediaId"), ("title", "Title"), ("description", "Description"))
_MUSIC = (
    ("title", "Title"),
    ("description", "Description"),
    ("musicurl", "MusicUrl"),
    ("hqmusicurl", "HQMusicUrl"),
    ("thumb_media_id", "ThumbMediaId"),
)
_ARTICLE = (("title", "Title"), ("description", "Description"), ("picurl", "PicUrl"))


def _pick(body: Mapping[str, Any], names: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return {xml: body[key] for key, xml in names if body.get(key) is not None}


def _body(msgtype: str, body: Mapping[str, Any]) -> dict[str, xmlcodec.Field]:
    if msgtype == "text":
        return {"Content": body["content"]}
    if msgtype in _MEDIA:
        return {_MEDIA[msgtype]: {"MediaId": body["media_id"]}}
    if msgtype == "video":
        return {"Video": _pick(body, _VIDEO)}
    if msgtype == "music":
        return {"Music": _pick(body, _MUSIC)}
    if msgtype == "news":
        items = [{**_pick(a, _ARTICLE), "Url": a.get("url") or ""} for a in body["articles"]]
        return {"ArticleCount": len(items), "Articles": items}
    if msgtype == "transfer_customer_service":
        kf = body.get("kf_account")
        return {} if not kf else {"TransInfo": {"KfAccount": kf}}
    raise ValueError(f"unknown reply msgtype {msgtype!r}")


def render(
    msgtype: str, body: Mapping[str, Any], to_user: str, from_user: str, create_time: int
) -> str:
    """The reply's plaintext XML. Raises xmlcodec.XmlError for text XML cannot carry."""
    fields: dict[str, xmlcodec.Field] = {
        "ToUserName": to_user,
        "FromUserName": from_user,
        "CreateTime": create_time,
        "MsgType": msgtype,
    }
    fields.update(_body(msgtype, body))
    return xmlcodec.build(fields)


def answer(reply_xml: str, cipher: crypto.MessageCrypto | None, timestamp: str, nonce: str) -> str:
    """What the callback answers: the XML, or (with a cipher: safe mode, or an encrypted
    callback in compatible mode) the envelope signed over `timestamp` and `nonce`."""
    if cipher is None:
        return reply_xml
    return cipher.encrypt_reply(reply_xml, timestamp, nonce)
