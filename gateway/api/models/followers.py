"""Follower resources (SPEC 3, Followers): state, window and, for service accounts, quota."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import pydantic

from gateway.api import models


class Window(models.Resource):
    open: bool
    expires_at: dt.datetime | None = pydantic.Field(description="when the open window closes")
    remaining: int | None = pydantic.Field(
        description="messages left in the window (wechat-2023 profile); null: unlimited"
    )


class MassQuota(models.Resource):
    period: dt.date = pydantic.Field(description="first day of the month, in the quota zone")
    limit: int
    used: int
    remaining: int
    resets_at: dt.datetime


class OAuthGrant(models.Resource):
    scope: str | None
    at: dt.datetime | None
    unionid: str | None
    nickname: str | None


class Follower(models.Resource):
    account_id: str
    openid: str
    subscribed: bool
    subscribed_at: dt.datetime | None
    unsubscribed_at: dt.datetime | None
    last_interaction_at: dt.datetime | None
    last_interaction: str | None
    first_qr_scene: str | None
    latest_qr_scene: str | None
    oauth: OAuthGrant | None
    window: Window
    mass_quota: MassQuota | None = pydantic.Field(description="service accounts only")
    subscribe_scene: str | None = pydantic.Field(description="how they followed (from a sync)")
    qr_scene: str | None = pydantic.Field(description="the QR scene they followed by (sync)")
    remark: str | None
    tags: list[int] = pydantic.Field(description="the platform tag ids the follower holds")
    synced_at: dt.datetime | None = pydantic.Field(description="last written by a sync")
    updated_at: dt.datetime


class FollowerQuery(models.PageQuery):
    window: Literal["open", "closed"] | None = None


class FollowerPage(models.Resource):
    items: list[Follower]
    next_cursor: str | None
