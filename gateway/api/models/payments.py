"""Payment requests and resources (C2): the WeChat Pay configuration an account PATCH sets,
red pack and coupon contents of queued messages, and the stored payments."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import pydantic

from gateway.api import models
from gateway.wechat import pay

RED_PACK_MIN = 100  # fen: WeChat's limits for a single red pack, 1 to 200 yuan
RED_PACK_MAX = 20_000

MchId = Annotated[
    str,
    pydantic.StringConstraints(pattern=r"^[0-9]{1,32}$"),
    pydantic.Field(description="the merchant id (mch_id), digits"),
]
ApiV3Key = Annotated[
    str,
    pydantic.StringConstraints(pattern=r"^[A-Za-z0-9]{32}$"),
    pydantic.Field(description="the APIv3 key: 32 letters and digits"),
]


def _certificate(pem: str) -> str:
    try:
        pay.check_validity(pay.load_certificate(pem), dt.datetime.now(dt.UTC))
    except pay.PayCryptoError as exc:
        raise ValueError(str(exc)) from None
    return pem


Certificate = Annotated[
    str,
    pydantic.StringConstraints(min_length=1, max_length=16_384),
    pydantic.AfterValidator(_certificate),
    pydantic.Field(
        description="the WeChat Pay platform certificate, PEM (RSA, 2048+ bits), valid now"
    ),
]


class PayConfig(models.Request):
    """WeChat Pay settings (service accounts only). Only the fields given change; a new
    platform certificate keeps the previous one, for 72 hours, for notifications still
    signed with it. A certificate past its validity dates is refused.
    Never returned: the account shows `has_pay_config`."""

    mch_id: MchId | None = None
    apiv3_key: ApiV3Key | None = None
    platform_certificate: Certificate | None = None


class RedPack(models.Request):
    """A cash red pack (sendredpack): 1 to 200 yuan, in fen."""

    amount: Annotated[int, pydantic.Field(ge=RED_PACK_MIN, le=RED_PACK_MAX)] = pydantic.Field(
        description="fen, 100 to 20000 (1 to 200 yuan)"
    )
    wishing: Annotated[str, pydantic.StringConstraints(min_length=1, max_length=128)]
    act_name: Annotated[str, pydantic.StringConstraints(min_length=1, max_length=32)]
    send_name: Annotated[str, pydantic.StringConstraints(min_length=1, max_length=32)] | None = (
        pydantic.Field(default=None, description="the sender shown; default: the account id")
    )
    remark: Annotated[str, pydantic.StringConstraints(min_length=1, max_length=256)] | None = None


class Coupon(models.Request):
    """A coupon from a stock (send_coupon)."""

    stock_id: Annotated[str, pydantic.StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class Payment(models.Resource):
    id: int
    transaction_id: str
    out_trade_no: str | None
    openid: str
    amount_total: int | None = pydantic.Field(description="fen")
    currency: str | None
    trade_state: str
    trade_type: str | None
    success_time: dt.datetime | None
    received_at: dt.datetime


class PaymentQuery(models.PageQuery):
    openid: Annotated[str, pydantic.StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = (
        None
    )


class PaymentPage(models.Resource):
    items: list[Payment]
    next_cursor: str | None
