"""Bodies of the mock's control API, validated at the edge."""

from __future__ import annotations

import json
from typing import Annotated, Literal, TypeVar

import pydantic
from aiohttp import web

from gateway.mock import errors

AppId = Annotated[str, pydantic.StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
AesKey = Annotated[str, pydantic.StringConstraints(pattern=r"^[A-Za-z0-9]{43}$")]
Token = Annotated[str, pydantic.StringConstraints(min_length=1, max_length=128)]
Secret = Annotated[str, pydantic.StringConstraints(min_length=1, max_length=256)]
CallbackUrl = Annotated[str, pydantic.StringConstraints(pattern=r"^https?://[^\s]+$")]
OriginalId = Annotated[str, pydantic.StringConstraints(min_length=1, max_length=64)]
Kind = Literal["service", "subscription"]
Profile = Literal["seed", "wechat-2023"]


class Strict(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")


MchId = Annotated[str, pydantic.StringConstraints(pattern=r"^[0-9]{1,32}$")]
ApiV3Key = Annotated[str, pydantic.StringConstraints(pattern=r"^[A-Za-z0-9]{32}$")]


class AccountIn(Strict):
    app_id: AppId
    app_secret: Secret
    kind: Kind
    token: Token
    encoding_aes_key: AesKey | None = None
    original_id: OriginalId | None = None
    callback_url: CallbackUrl
    rule_profile: Profile = "seed"
    # WeChat Pay (the mock's extension of registration): notifications of `pay` actions go
    # to pay_notify_url, encrypted with apiv3_key, for merchant mch_id.
    pay_notify_url: CallbackUrl | None = None
    mch_id: MchId | None = None
    apiv3_key: ApiV3Key | None = None


class AccountPatch(Strict):
    app_secret: Secret | None = None
    kind: Kind | None = None
    token: Token | None = None
    encoding_aes_key: AesKey | None = None  # explicit null: back to plaintext mode
    original_id: OriginalId | None = None
    callback_url: CallbackUrl | None = None
    rule_profile: Profile | None = None
    pay_notify_url: CallbackUrl | None = None
    mch_id: MchId | None = None
    apiv3_key: ApiV3Key | None = None


class ActionIn(Strict):
    action: Literal["subscribe", "unsubscribe", "scan", "text", "click", "location", "view", "pay"]
    scene: int | str | None = None
    content: str | None = None
    key: str | None = None
    url: str | None = None
    lat: float | None = None
    lng: float | None = None
    # The mock's extension for demos and tests: the action happened this long ago (its
    # CreateTime and the mock's own window use that time), e.g. a follow three days back.
    ago_seconds: Annotated[int, pydantic.Field(ge=0, le=30 * 86400)] = 0
    # pay: the amount paid, in fen, and the merchant's order number (default: generated).
    amount: Annotated[int, pydantic.Field(ge=1, le=10**9)] = 100
    out_trade_no: (
        Annotated[str, pydantic.StringConstraints(pattern=r"^[A-Za-z0-9_*|-]{6,32}$")] | None
    ) = None


class FaultIn(Strict):
    path: Annotated[str, pydantic.StringConstraints(pattern=r"^/[^\s?#]*$")]
    rate: Annotated[float, pydantic.Field(ge=0, le=1)] = 1.0
    errcode: int | None = None
    latency_ms: Annotated[int, pydantic.Field(ge=0, le=120_000)] = 0
    drop: bool = False
    http_status: Annotated[int, pydantic.Field(ge=400, le=599)] | None = None
    count: Annotated[int, pydantic.Field(ge=1)] | None = None

    @pydantic.model_validator(mode="after")
    def _has_effect(self) -> FaultIn:
        if self.path.startswith("/_mock"):
            raise ValueError("the control API cannot be faulted")
        if self.errcode is None and not self.latency_ms and not self.drop:
            if self.http_status is None:
                raise ValueError("a fault needs errcode, latency_ms, drop or http_status")
        return self


Model = TypeVar("Model", bound=pydantic.BaseModel)


async def parse(request: web.Request, model: type[Model]) -> Model:
    """The validated body, or a 400 naming what is wrong."""
    try:
        return model.model_validate_json(await request.read())
    except pydantic.ValidationError as exc:
        details = json.loads(exc.json(include_url=False, include_input=False))
        raise errors.control(400, "validation_error", "invalid request body", details) from None
