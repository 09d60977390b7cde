"""The custom menu (SPEC 8): the request in WeChat's own format, and the stored resource.

The models document the shape and bound lengths in characters; the byte limits WeChat counts
(and which fields each type needs) are checked by `gateway.domain.menu` first, whose
problems name their path (`button[1].sub_button[2].key`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import pydantic

from gateway.api import models
from gateway.domain import menu

ButtonType = Literal[
    "click",
    "view",
    "scancode_push",
    "scancode_waitmsg",
    "pic_sysphoto",
    "pic_photo_or_album",
    "pic_weixin",
    "location_select",
    "media_id",
    "article_id",
    "article_view_limited",
    "miniprogram",
]


def _text(limit: int, description: str) -> Any:
    return pydantic.Field(default=None, min_length=1, max_length=limit, description=description)


class _Leaf(models.Request):
    type: ButtonType | None = pydantic.Field(
        default=None, description="required unless the button has sub_button"
    )
    key: str | None = _text(menu.MAX_KEY, "click and scancode/pic/location types; 128 bytes")
    url: str | None = _text(menu.MAX_URL, "view and miniprogram (http or https); 1,024 bytes")
    media_id: str | None = _text(menu.MAX_ID, "media_id")
    article_id: str | None = _text(menu.MAX_ID, "article_id and article_view_limited")
    appid: str | None = _text(menu.MAX_ID, "miniprogram")
    pagepath: str | None = _text(menu.MAX_ID, "miniprogram")


class SubButton(_Leaf):
    name: str = pydantic.Field(min_length=1, max_length=menu.MAX_SUB_NAME, description="60 bytes")
    sub_button: Annotated[list[Any], pydantic.Field(max_length=0)] | None = None


class Button(_Leaf):
    name: str = pydantic.Field(min_length=1, max_length=menu.MAX_NAME, description="16 bytes")
    sub_button: (
        Annotated[list[SubButton], pydantic.Field(max_length=menu.MAX_SUB_BUTTONS)] | None
    ) = pydantic.Field(default=None, description="0 to 5; a button with some has only a name")


class MenuIn(models.Request):
    button: Annotated[list[Button], pydantic.Field(min_length=1, max_length=menu.MAX_BUTTONS)] = (
        pydantic.Field(description="1 to 3 buttons, as /cgi-bin/menu/create takes them")
    )


class MenuAccepted(models.Resource):
    account_id: str
    state: Literal["pending", "deleting"]
    version: int = pydantic.Field(description="grows with every PUT and DELETE")


class Menu(models.Resource):
    account_id: str
    button: list[dict[str, Any]] | None = pydantic.Field(
        description="the menu as stored; null while a delete is pending or after it failed"
    )
    state: Literal["pending", "applied", "failed", "deleting"]
    version: int
    errcode: int | None = pydantic.Field(
        description="WeChat's errcode: why it failed, or the last retried error while pending"
    )
    errmsg: str | None
    attempts: int = pydantic.Field(description="calls to WeChat for this version")
    next_attempt_at: dt.datetime | None = pydantic.Field(
        description="when a pending menu is tried next"
    )
    applied_at: dt.datetime | None = pydantic.Field(
        description="when WeChat last took a menu of this account"
    )
    updated_at: dt.datetime
