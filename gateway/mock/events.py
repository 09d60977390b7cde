"""The XML fields of the pushes the platform sends to an account's callback URL."""

from __future__ import annotations

from collections.abc import Mapping

from gateway.mock import state
from gateway.wechat import xmlcodec

Fields = Mapping[str, xmlcodec.Field]
# Real MASSSENDJOBFINISH pushes do not come from a recipient; older docs name this sender.
MASS_SENDER = "mphelper"


def _head(
    account: state.Account, sender: str, create_time: int, msg_type: str
) -> dict[str, xmlcodec.Field]:
    return {
        "ToUserName": account.original_id,
        "FromUserName": sender,
        "CreateTime": create_time,
        "MsgType": msg_type,
    }


def text(
    account: state.Account, openid: str, create_time: int, content: str, msg_id: int
) -> Fields:
    return {**_head(account, openid, create_time, "text"), "Content": content, "MsgId": msg_id}


def event(
    account: state.Account, openid: str, create_time: int, name: str, **extra: xmlcodec.Field
) -> Fields:
    return {**_head(account, openid, create_time, "event"), "Event": name, **extra}


def subscribe(account: state.Account, openid: str, create_time: int) -> Fields:
    return event(account, openid, create_time, "subscribe", EventKey="")


def unsubscribe(account: state.Account, openid: str, create_time: int) -> Fields:
    return event(account, openid, create_time, "unsubscribe", EventKey="")


def scan(
    account: state.Account, openid: str, create_time: int, scene: str, ticket: str, *, follows: bool
) -> Fields:
    """`SCAN` for a follower, else `subscribe` with the `qrscene_` prefix."""
    if follows:
        return event(account, openid, create_time, "SCAN", EventKey=scene, Ticket=ticket)
    return event(
        account, openid, create_time, "subscribe", EventKey=f"qrscene_{scene}", Ticket=ticket
    )


def location(
    account: state.Account, openid: str, create_time: int, lat: float, lng: float
) -> Fields:
    return event(
        account,
        openid,
        create_time,
        "LOCATION",
        Latitude=f"{lat:.6f}",
        Longitude=f"{lng:.6f}",
        Precision="30.000000",
    )


def template_finish(account: state.Account, openid: str, create_time: int, msgid: int) -> Fields:
    return event(
        account, openid, create_time, "TEMPLATESENDJOBFINISH", MsgID=msgid, Status="success"
    )


def mass_finish(
    account: state.Account, create_time: int, msg_id: int, total: int, sent: int
) -> Fields:
    """Counts as the platform reports them: FilterCount is what is left after filtering."""
    return event(
        account,
        MASS_SENDER,
        create_time,
        "MASSSENDJOBFINISH",
        MsgID=msg_id,
        Status="send success",
        TotalCount=total,
        FilterCount=sent,
        SentCount=sent,
        ErrorCount=0,
        CopyrightCheckResult={"Count": 0, "ResultList": {}, "CheckState": 1},
    )
