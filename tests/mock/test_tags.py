"""Tags: both account kinds; create, tag, list, untag, delete and their errors."""

from __future__ import annotations

import pytest

from tests.mock.conftest import Platform

CREATE = "/cgi-bin/tags/create"
TAG = "/cgi-bin/tags/members/batchtagging"
UNTAG = "/cgi-bin/tags/members/batchuntagging"


@pytest.mark.parametrize("kind", ["service", "subscription"])
async def test_tag_lifecycle(platform: Platform, kind: str) -> None:
    await platform.register("wxa", kind)
    await platform.act("wxa", "o1", "subscribe")
    token = await platform.token("wxa")
    created = await platform.call(CREATE, token, {"tag": {"name": "vip"}})
    tag_id = created["tag"]["id"]
    assert created == {"tag": {"id": tag_id, "name": "vip"}} and tag_id >= 100
    assert (await platform.call(CREATE, token, {"tag": {"name": "vip"}}))["errcode"] == 45157
    assert (await platform.call(CREATE, token, {"tag": {"name": "x" * 31}}))["errcode"] == 45158
    members = {"openid_list": ["o1"], "tagid": tag_id}
    assert (await platform.call(TAG, token, members))["errcode"] == 0
    listed = await platform.client.get("/cgi-bin/tags/get", params={"access_token": token})
    assert (await listed.json())["tags"] == [{"id": tag_id, "name": "vip", "count": 1}]
    assert (await platform.follower("wxa", "o1"))["tags"] == [tag_id]
    assert (await platform.call(UNTAG, token, members))["errcode"] == 0
    stranger = {"openid_list": ["nobody"], "tagid": tag_id}
    assert (await platform.call(TAG, token, stranger))["errcode"] == 40003
    delete = "/cgi-bin/tags/delete"
    assert (await platform.call(delete, token, {"tag": {"id": tag_id}}))["errcode"] == 0
    assert (await platform.call(delete, token, {"tag": {"id": tag_id}}))["errcode"] == 45159
    assert (await platform.call(delete, token, {"tag": {"id": 2}}))["errcode"] == 45058
    listed = await platform.client.post("/cgi-bin/tags/get", params={"access_token": token})
    assert (await listed.json())["tags"] == []
