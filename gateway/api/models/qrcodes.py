"""Parametric QR code requests and resources (SPEC 3 C1, wechat-platform.md 6.6)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import pydantic

from gateway.api import models

PERMANENT_SCENE_MAX = 100_000
INT32 = 2**31
MIN_EXPIRY = 60
MAX_EXPIRY = 2_592_000
DEFAULT_EXPIRY = 60

SceneStr = Annotated[str, pydantic.StringConstraints(min_length=1, max_length=64)]


class NewQrCode(models.Request):
    scene: int | SceneStr = pydantic.Field(
        description="an integer (temporary: 32-bit non-zero; permanent: 1..100000) or a "
        "string of 1 to 64 characters"
    )
    permanent: bool = False
    expire_seconds: Annotated[int, pydantic.Field(ge=MIN_EXPIRY, le=MAX_EXPIRY)] | None = (
        pydantic.Field(default=None, description="temporary codes only; default 60")
    )

    @pydantic.model_validator(mode="after")
    def _scene_rules(self) -> NewQrCode:
        if self.permanent and self.expire_seconds is not None:
            raise ValueError("expire_seconds applies to temporary codes only")
        if isinstance(self.scene, int):
            if self.permanent and not 1 <= self.scene <= PERMANENT_SCENE_MAX:
                raise ValueError("a permanent integer scene must be 1 to 100000")
            if not self.permanent and (self.scene == 0 or not -INT32 <= self.scene < INT32):
                raise ValueError("a temporary integer scene must be a non-zero 32-bit integer")
        return self


class QrCode(models.Resource):
    ticket: str
    url: str = pydantic.Field(description="the content encoded in the QR image")
    scene: int | str
    permanent: bool
    expires_at: dt.datetime | None
    image_url: str
