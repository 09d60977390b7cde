"""`outside_window: reach` sends a customer-service message through the mass API, which
takes only some msgtypes: the others are refused at enqueue, 422 naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api import apihelp
from tests.api.apihelp import Client
from tests.api.conftest import AUTH

URL = "/api/v1/accounts/acme/messages"
REFUSED: dict[str, dict[str, Any]] = {
    "news": {"articles": [{"title": "t", "url": "https://example.com/a"}]},
    "video": {"media_id": "v-1"},
    "msgmenu": {"list": [{"id": "1", "content": "yes"}]},
    "miniprogrampage": {
        "title": "t",
        "appid": "wx1",
        "pagepath": "pages/index",
        "thumb_media_id": "m-1",
    },
    "music": {"musicurl": "https://m/1", "hqmusicurl": "https://m/2", "thumb_media_id": "m-1"},
}
ACCEPTED: dict[str, dict[str, Any]] = {
    "text": {"content": "hi"},
    "image": {"media_id": "i-1"},
    "voice": {"media_id": "v-1"},
    "mpnews": {"media_id": "n-1"},
    "wxcard": {"card_id": "c-1"},
}


def _body(msgtype: str, payload: dict[str, Any], outside: str) -> dict[str, Any]:
    return {
        "type": "customer_service",
        "to": "o1",
        "content": {"msgtype": msgtype, msgtype: payload},
        "outside_window": outside,
    }


@pytest.mark.parametrize("msgtype", sorted(REFUSED))
async def test_reach_refuses_content_the_mass_api_refuses(client: Client, msgtype: str) -> None:
    await apihelp.create_account(client, "acme", kind="service")
    resp = await client.post(URL, json=_body(msgtype, REFUSED[msgtype], "reach"), headers=AUTH)
    err = await apihelp.error(resp, 422, "validation_error")
    [detail] = err["details"]
    assert detail["loc"][-1] == "content"
    assert "content.msgtype" in detail["msg"] and msgtype in detail["msg"]
    assert await (await client.get(URL, headers=AUTH)).json() == {"items": [], "next_cursor": None}
    # The same content inside the window only (hold) is accepted.
    await apihelp.enqueue(client, "acme", _body(msgtype, REFUSED[msgtype], "hold"))


@pytest.mark.parametrize("msgtype", sorted(ACCEPTED))
async def test_reach_accepts_what_both_apis_take(client: Client, msgtype: str) -> None:
    await apihelp.create_account(client, "acme", kind="service")
    message = await apihelp.enqueue(client, "acme", _body(msgtype, ACCEPTED[msgtype], "reach"))
    assert message["outside_window"] == "reach"
