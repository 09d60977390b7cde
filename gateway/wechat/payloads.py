"""Request bodies of the send APIs (customer service, template, mass, sendall, red pack,
coupon), built from a stored message's content and the call's recipients and key (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def custom(openid: str | None, content: Mapping[str, Any]) -> dict[str, Any]:
    """/cgi-bin/message/custom/send."""
    return {"touser": openid, **content}


def template(
    openid: str | None, template_: Mapping[str, Any], client_msg_id: str | None
) -> dict[str, Any]:
    """/cgi-bin/message/template/send, keyed by `client_msg_id`."""
    return {
        "touser": openid,
        "template_id": template_.get("template_id"),
        "data": template_.get("data", {}),
        **{k: template_[k] for k in ("url", "miniprogram") if template_.get(k)},
        "client_msg_id": client_msg_id,
    }


def mass(content: Mapping[str, Any], clientmsgid: str | None) -> dict[str, Any]:
    """What every mass call carries: the content, no reprint, the idempotency key."""
    return {**content, "send_ignore_reprint": 0, "clientmsgid": clientmsgid}


def mass_openids(openids: Sequence[str | None], mass_: Mapping[str, Any]) -> dict[str, Any]:
    """/cgi-bin/message/mass/send to an openid list."""
    return {"touser": list(openids), **mass_}


def sendall(audience: Mapping[str, Any] | None, mass_: Mapping[str, Any]) -> dict[str, Any]:
    """/cgi-bin/message/mass/sendall to the audience's tag, or to all followers."""
    audience = audience or {}
    if "tag_id" in audience:
        target: dict[str, Any] = {"is_to_all": False, "tag_id": audience["tag_id"]}
    else:
        target = {"is_to_all": True}
    return {"filter": target, **mass_}


def tag_sendall(tag_id: int, mass_: Mapping[str, Any]) -> dict[str, Any]:
    """/cgi-bin/message/mass/sendall to one tag (the one-member tag of a single recipient)."""
    return {"filter": {"is_to_all": False, "tag_id": tag_id}, **mass_}


def red_pack(
    content: Mapping[str, Any],
    *,
    billno: str,
    mch_id: str,
    app_id: str,
    account_id: str,
    openid: str | None,
) -> dict[str, Any]:
    """sendredpack, keyed by the merchant's request number `billno`."""
    pack = content.get("red_pack", {})
    return {
        "mch_billno": billno,
        "mch_id": mch_id,
        "wxappid": app_id,
        "send_name": pack.get("send_name") or account_id[:32],
        "re_openid": openid,
        "total_amount": pack.get("amount"),
        "total_num": 1,
        "wishing": pack.get("wishing"),
        "act_name": pack.get("act_name"),
        "remark": pack.get("remark") or pack.get("act_name"),
    }


def coupon(
    content: Mapping[str, Any], *, trade_no: str, mch_id: str, app_id: str, openid: str | None
) -> dict[str, Any]:
    """send_coupon, keyed by the merchant's request number `trade_no`."""
    return {
        "coupon_stock_id": content.get("coupon", {}).get("stock_id"),
        "openid_count": 1,
        "partner_trade_no": trade_no,
        "openid": openid,
        "appid": app_id,
        "mch_id": mch_id,
    }
