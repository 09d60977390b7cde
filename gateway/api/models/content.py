"""Message content in WeChat's own payload shape (wechat-platform.md 6.3-6.5).

`content` is stored and later sent as given, so each msgtype's object is checked here:
customer-service and mass messages allow different msgtypes.
"""

from __future__ import annotations

from typing import Annotated, Literal

import pydantic

from gateway.api import models

TEXT_MAX_BYTES = 2048

Id = Annotated[str, pydantic.StringConstraints(min_length=1, max_length=256)]
Short = Annotated[str, pydantic.StringConstraints(max_length=512)]
Url = Annotated[str, pydantic.StringConstraints(min_length=1, max_length=2048)]


def _utf8_bounded(value: str) -> str:
    if len(value.encode("utf-8")) > TEXT_MAX_BYTES:
        raise ValueError(f"text content must be at most {TEXT_MAX_BYTES} bytes of UTF-8")
    return value


TextContent = Annotated[
    str,
    pydantic.StringConstraints(min_length=1, max_length=TEXT_MAX_BYTES),
    pydantic.AfterValidator(_utf8_bounded),
    pydantic.Field(description="1 to 2048 bytes of UTF-8"),
]


class Text(models.Request):
    content: TextContent


class Media(models.Request):
    media_id: Id


class Video(models.Request):
    media_id: Id
    thumb_media_id: Id | None = None
    title: Short | None = None
    description: Short | None = None


class Music(models.Request):
    musicurl: Url
    hqmusicurl: Url
    thumb_media_id: Id
    title: Short | None = None
    description: Short | None = None


class Article(models.Request):
    title: Short
    url: Url
    description: Short | None = None
    picurl: Url | None = None


class News(models.Request):
    articles: Annotated[
        list[Article],
        pydantic.Field(min_length=1, max_length=1, description="exactly one article"),
    ]


class MenuItem(models.Request):
    id: Id
    content: Short


class Menu(models.Request):
    list: Annotated[list[MenuItem], pydantic.Field(min_length=1, max_length=10)]
    head_content: Short | None = None
    tail_content: Short | None = None


class Card(models.Request):
    card_id: Id


class MiniProgramPage(models.Request):
    title: Short
    appid: Id
    pagepath: Url
    thumb_media_id: Id


class MpVideo(models.Request):
    media_id: Id
    title: Short | None = None
    description: Short | None = None


class TextMsg(models.Request):
    msgtype: Literal["text"]
    text: Text


class ImageMsg(models.Request):
    msgtype: Literal["image"]
    image: Media


class VoiceMsg(models.Request):
    msgtype: Literal["voice"]
    voice: Media


class VideoMsg(models.Request):
    msgtype: Literal["video"]
    video: Video


class MusicMsg(models.Request):
    msgtype: Literal["music"]
    music: Music


class NewsMsg(models.Request):
    msgtype: Literal["news"]
    news: News


class MpnewsMsg(models.Request):
    msgtype: Literal["mpnews"]
    mpnews: Media


class MenuMsg(models.Request):
    msgtype: Literal["msgmenu"]
    msgmenu: Menu


class CardMsg(models.Request):
    msgtype: Literal["wxcard"]
    wxcard: Card


class MiniProgramMsg(models.Request):
    msgtype: Literal["miniprogrampage"]
    miniprogrampage: MiniProgramPage


class MpVideoMsg(models.Request):
    msgtype: Literal["mpvideo"]
    mpvideo: MpVideo


CustomerServiceContent = Annotated[
    TextMsg
    | ImageMsg
    | VoiceMsg
    | VideoMsg
    | MusicMsg
    | NewsMsg
    | MpnewsMsg
    | MenuMsg
    | CardMsg
    | MiniProgramMsg,
    pydantic.Field(discriminator="msgtype"),
]

MassContent = Annotated[
    TextMsg | MpnewsMsg | VoiceMsg | ImageMsg | MpVideoMsg | CardMsg,
    pydantic.Field(discriminator="msgtype"),
]

# Customer-service content that the mass API also takes: what `outside_window: reach` (a
# one-recipient mass send) can carry. news, video, music, msgmenu and miniprogrampage cannot.
REACH_MSGTYPES: frozenset[str] = frozenset({"text", "image", "voice", "mpnews", "wxcard"})
