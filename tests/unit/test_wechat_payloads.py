"""Send API request bodies (gateway.wechat.payloads) from stored content, recipients and keys."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.wechat import payloads

TEXT = {"msgtype": "text", "text": {"content": "hi"}}
MASS = payloads.mass(TEXT, "k1")


@pytest.mark.parametrize(
    ("built", "expected"),
    [
        (payloads.custom("u1", TEXT), {"touser": "u1", **TEXT}),
        (MASS, {**TEXT, "send_ignore_reprint": 0, "clientmsgid": "k1"}),
        (payloads.mass_openids(["u1", "u2"], MASS), {"touser": ["u1", "u2"], **MASS}),
        (
            payloads.sendall({"tag_id": 7}, MASS),
            {"filter": {"is_to_all": False, "tag_id": 7}, **MASS},
        ),
        (payloads.sendall({"all": True}, MASS), {"filter": {"is_to_all": True}, **MASS}),
        (payloads.sendall(None, MASS), {"filter": {"is_to_all": True}, **MASS}),
        (payloads.tag_sendall(9, MASS), {"filter": {"is_to_all": False, "tag_id": 9}, **MASS}),
        (
            payloads.template(
                "u1",
                {"template_id": "T", "data": {"a": 1}, "url": "", "miniprogram": {"appid": "x"}},
                "k2",
            ),
            {
                "touser": "u1",
                "template_id": "T",
                "data": {"a": 1},
                "miniprogram": {"appid": "x"},
                "client_msg_id": "k2",
            },
        ),
        (
            payloads.template("u1", {}, None),
            {"touser": "u1", "template_id": None, "data": {}, "client_msg_id": None},
        ),
        (
            payloads.red_pack(
                {"red_pack": {"amount": 100, "act_name": "act", "wishing": "w"}},
                billno="b",
                mch_id="m",
                app_id="wx1",
                account_id="a" * 40,
                openid="u1",
            ),
            {
                "mch_billno": "b",
                "mch_id": "m",
                "wxappid": "wx1",
                "send_name": "a" * 32,
                "re_openid": "u1",
                "total_amount": 100,
                "total_num": 1,
                "wishing": "w",
                "act_name": "act",
                "remark": "act",
            },
        ),
        (
            payloads.coupon(
                {"coupon": {"stock_id": "s"}}, trade_no="t", mch_id="m", app_id="wx1", openid="u1"
            ),
            {
                "coupon_stock_id": "s",
                "openid_count": 1,
                "partner_trade_no": "t",
                "openid": "u1",
                "appid": "wx1",
                "mch_id": "m",
            },
        ),
    ],
)
def test_payload(built: dict[str, Any], expected: dict[str, Any]) -> None:
    assert built == expected
