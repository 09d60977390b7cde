"""Follower syncs and tags (SPEC 9): requests and resources."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import pydantic

from gateway.api import models

TAG_NAME_MAX = 30
MEMBERS_MAX = 10_000
Openid = Annotated[str, pydantic.StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class NewSync(models.Request):
    """No options yet: an empty object, or no body at all."""


class SyncStarted(models.Resource):
    id: int
    status: Literal["running"]


class FollowerSync(models.Resource):
    id: int
    account_id: str
    status: Literal["running", "completed", "failed"]
    error: str | None = pydantic.Field(description="WeChat's errcode and errmsg, when failed")
    errcode: int | None
    pages: int = pydantic.Field(description="user/get pages committed")
    followers_seen: int
    total: int | None = pydantic.Field(description="followers the platform reported")
    started_at: dt.datetime
    finished_at: dt.datetime | None


class NewTag(models.Request):
    name: Annotated[
        str,
        pydantic.StringConstraints(min_length=1, max_length=TAG_NAME_MAX, strip_whitespace=False),
    ] = pydantic.Field(description="1 to 30 characters; `wxgate-<digits>` is reserved")


class Tag(models.Resource):
    id: int = pydantic.Field(description="the platform's tag id (audience.tag_id)")
    name: str
    count: int = pydantic.Field(description="members, as last known")


class TagList(models.Resource):
    items: list[Tag]


class TagMembers(models.Request):
    openids: Annotated[list[Openid], pydantic.Field(min_length=1, max_length=MEMBERS_MAX)]


class TagMembersResult(models.Resource):
    tag_id: int
    openids: int = pydantic.Field(description="followers tagged or untagged")
    calls: int = pydantic.Field(description="platform calls made (50 openids each)")
