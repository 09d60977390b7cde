"""The payment API's sends: `/mmpaymkttransfers/sendredpack` and `.../send_coupon`.

The mock speaks the rest of its API's dialect here (JSON, `?access_token=`), where the real
platform uses XML signed with the merchant's key over a client certificate. Its rules:
service accounts only (48001: a subscription account's app id is refused), the app id and
merchant must be the caller's, the follower must be subscribed (43004), a red pack is 100 to
20000 fen. The merchant's request number (`mch_billno`, `partner_trade_no`) makes a repeated
call answer the original result without paying again; reused with other parameters: 47003.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Literal

from gateway.mock import calls, errors, state

log = logging.getLogger(__name__)

REDPACK_PATH = "/mmpaymkttransfers/sendredpack"
COUPON_PATH = "/mmpaymkttransfers/send_coupon"
REQUEST_NO = re.compile(r"^[A-Za-z0-9]{1,28}$")
RED_PACK_MIN, RED_PACK_MAX = 100, 20_000
LIMITS = {"send_name": 32, "wishing": 128, "act_name": 32, "remark": 256}


def _text(body: dict[str, Any], name: str, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= LIMITS.get(name, 64):
        raise errors.ApiError(47001, f"{name} must be a string of 1 to {LIMITS.get(name, 64)}")
    return value


def _common(call: calls.Call, app_field: str, no_field: str, openid_field: str) -> tuple[str, str]:
    calls.require_kind(call.account, "service")
    body, account = call.body, call.account
    request_no = body.get(no_field)
    if not isinstance(request_no, str) or not REQUEST_NO.fullmatch(request_no):
        raise errors.ApiError(47001, f"{no_field} must be 1 to 28 letters and digits")
    if body.get(app_field) != account.app_id:
        raise errors.ApiError(40013, f"{app_field} is not the caller's app id")
    if account.mch_id is not None and body.get("mch_id") != account.mch_id:
        raise errors.ApiError(47003, "mch_id is not the account's merchant")
    openid = body.get(openid_field)
    if not isinstance(openid, str) or not openid:
        raise errors.ApiError(40003)
    return request_no, openid


def _repeat(account: state.Account, kind: str, request_no: str, params: dict[str, Any]) -> Any:
    earlier = account.pay_sends.get(request_no)
    if earlier is None:
        return None
    if earlier.kind != kind or earlier.params != params:
        raise errors.ApiError(47003, f"{request_no} was used with other parameters")
    return earlier


def _accept(
    call: calls.Call,
    kind: Literal["red_pack", "coupon"],
    request_no: str,
    openid: str,
    params: dict[str, Any],
    answer: dict[str, Any],
    id_field: str,
) -> calls.Outcome:
    earlier = _repeat(call.account, kind, request_no, params)
    if earlier is not None:
        verdict = f"duplicate: {request_no} already sent as {earlier.platform_id}"
        return calls.Outcome(
            calls.ok(**answer, **{id_field: earlier.platform_id}), verdict, delivered=False
        )
    follower = call.account.followers.get(openid)
    if follower is None or not follower.subscribed:
        raise errors.ApiError(43004)
    platform_id = str(call.mock.message_id())
    call.account.pay_sends[request_no] = state.PaySend(
        kind, request_no, openid, params, platform_id, call.now
    )
    log.info("%s accepted", kind, extra={"action": "mock_" + kind, "app_id": call.account.app_id})
    return calls.Outcome(calls.ok(**answer, **{id_field: platform_id}))


async def send_redpack(call: calls.Call) -> calls.Outcome:
    request_no, openid = _common(call, "wxappid", "mch_billno", "re_openid")
    body = call.body
    amount = body.get("total_amount")
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise errors.ApiError(47001, "total_amount must be an integer (fen)")
    if not RED_PACK_MIN <= amount <= RED_PACK_MAX:
        raise errors.ApiError(47003, "total_amount must be 100 to 20000 fen")
    if body.get("total_num") != 1:
        raise errors.ApiError(47003, "total_num must be 1")
    params = {
        "total_amount": amount,
        "send_name": _text(body, "send_name"),
        "wishing": _text(body, "wishing"),
        "act_name": _text(body, "act_name"),
        "remark": _text(body, "remark", required=False),
        "re_openid": openid,
    }
    answer = {"mch_billno": request_no, "re_openid": openid, "total_amount": amount}
    return _accept(call, "red_pack", request_no, openid, params, answer, "send_listid")


async def send_coupon(call: calls.Call) -> calls.Outcome:
    request_no, openid = _common(call, "appid", "partner_trade_no", "openid")
    body = call.body
    stock = body.get("coupon_stock_id")
    if not isinstance(stock, str) or not 1 <= len(stock) <= 64:
        raise errors.ApiError(47001, "coupon_stock_id must be a string")
    if body.get("openid_count") != 1:
        raise errors.ApiError(47003, "openid_count must be 1")
    params = {"coupon_stock_id": stock, "openid": openid}
    answer = {"partner_trade_no": request_no, "coupon_stock_id": stock, "openid": openid}
    return _accept(call, "coupon", request_no, openid, params, answer, "coupon_id")
