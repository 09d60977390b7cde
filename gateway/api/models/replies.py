"""The reply-rules body and resource (SPEC 8) as pydantic models, for the OpenAPI document.

The body is checked by gateway.domain.reply_rules (byte limits, RE2 syntax, one article for
a user message, the offending path in the 422); these models describe the same shape, never
wider than that check (character limits here are the byte limits there).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import pydantic

from gateway.api import models
from gateway.domain import reply_content as rc
from gateway.domain import reply_rules as rr


def _bytes(limit: int) -> pydantic.StringConstraints:
    return pydantic.StringConstraints(min_length=1, max_length=limit)


TextContent = Annotated[
    str, _bytes(rc.TEXT_MAX_BYTES), pydantic.Field(description="at most 2048 bytes of UTF-8")
]
Id = Annotated[str, _bytes(rc.ID_MAX_BYTES)]
Short = Annotated[str, _bytes(rc.SHORT_MAX_BYTES)]
Url = Annotated[str, _bytes(rc.URL_MAX_BYTES)]
KfAccount = Annotated[str, _bytes(rc.KF_ACCOUNT_MAX_BYTES)]
Scene = Annotated[str, _bytes(rr.SCENE_MAX_BYTES)]
Key = Annotated[str, _bytes(rr.KEY_MAX_BYTES)]
Keyword = Annotated[
    str,
    _bytes(rr.KEYWORD_MAX_BYTES),
    pydantic.Field(description="compared after NFKC, case-insensitively"),
]
Name = Annotated[str, _bytes(rr.NAME_MAX_BYTES)]


class TextBody(models.Request):
    content: TextContent


class MediaBody(models.Request):
    media_id: Id


class VideoBody(models.Request):
    media_id: Id
    title: Short | None = None
    description: Short | None = None


class MusicBody(models.Request):
    thumb_media_id: Id
    title: Short | None = None
    description: Short | None = None
    musicurl: Url | None = None
    hqmusicurl: Url | None = None


class Article(models.Request):
    title: Short
    description: Short | None = None
    url: Url | None = None
    picurl: Url | None = None


class NewsBody(models.Request):
    articles: list[Article] = pydantic.Field(
        min_length=1,
        max_length=rc.NEWS_MAX_EVENT,
        description="one article when answering a user message (text, message, default "
        "reply); up to 8 for subscribe, scan and click",
    )


class TransferBody(models.Request):
    kf_account: KfAccount | None = None


class TextReply(models.Request):
    msgtype: Literal["text"]
    text: TextBody


class ImageReply(models.Request):
    msgtype: Literal["image"]
    image: MediaBody


class VoiceReply(models.Request):
    msgtype: Literal["voice"]
    voice: MediaBody


class VideoReply(models.Request):
    msgtype: Literal["video"]
    video: VideoBody


class MusicReply(models.Request):
    msgtype: Literal["music"]
    music: MusicBody


class NewsReply(models.Request):
    msgtype: Literal["news"]
    news: NewsBody


class TransferReply(models.Request):
    msgtype: Literal["transfer_customer_service"]
    transfer_customer_service: TransferBody | None = None


Reply = Annotated[
    TextReply | ImageReply | VoiceReply | VideoReply | MusicReply | NewsReply | TransferReply,
    pydantic.Field(discriminator="msgtype"),
]


class OnSubscribe(models.Request):
    on: Literal["subscribe"] = pydantic.Field(description="also a subscribe through a QR code")


class OnScan(models.Request):
    on: Literal["scan"]
    scene: Scene | None = pydantic.Field(
        default=None, description="absent: every scene; a QR subscribe of this scene too"
    )


class OnClick(models.Request):
    on: Literal["click"]
    key: Key


class OnKeyword(models.Request):
    on: Literal["text"]
    keyword: Keyword
    mode: Literal["exact", "contains", "prefix"] = "exact"


class OnRegex(models.Request):
    on: Literal["text"]
    regex: str = pydantic.Field(
        min_length=1, max_length=rr.MAX_REGEX, description="RE2 syntax, searched in the text"
    )


class OnMessage(models.Request):
    on: Literal["message"] = pydantic.Field(description="any user message")


Match = OnSubscribe | OnScan | OnClick | OnKeyword | OnRegex | OnMessage


class Rule(models.Request):
    name: Name
    match: Match
    reply: Reply


class ReplyRules(models.Request):
    rules: list[Rule] = pydantic.Field(max_length=rr.MAX_RULES, description="first match wins")
    default_reply: Reply | None = pydantic.Field(
        default=None, description="for user messages no rule matched"
    )


class ReplyEndpoint(models.Resource):
    id: str
    url: str
    disabled: bool


class ReplyRulesResource(models.Resource):
    rules: list[dict[str, Any]]
    default_reply: dict[str, Any] | None
    version: int = pydantic.Field(description="0 before the first PUT; +1 on each")
    updated_at: dt.datetime | None
    reply_endpoint: ReplyEndpoint | None = pydantic.Field(
        description="the account's endpoint in mode reply, called for what no rule answers"
    )
