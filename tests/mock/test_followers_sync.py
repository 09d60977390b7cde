"""Seeded followers, `user/get` pages, `user/info`, `user/info/batchget`, tag pages."""

from __future__ import annotations

from typing import Any

from tests.mock.conftest import Platform

BATCHGET = "/cgi-bin/user/info/batchget"


async def _seed(platform: Platform, app_id: str, count: int, **extra: Any) -> dict[str, Any]:
    answer = await platform.client.post(
        f"/_mock/accounts/{app_id}/followers/seed", json={"count": count, **extra}
    )
    assert answer.status == 201, await answer.text()
    return dict(await answer.json())


async def _page(platform: Platform, token: str, after: str = "") -> dict[str, Any]:
    answer = await platform.client.get(
        "/cgi-bin/user/get", params={"access_token": token, "next_openid": after}
    )
    return dict(await answer.json())


async def test_seeded_followers_page_in_ten_thousands(platform: Platform) -> None:
    await platform.register("wxa")
    seeded = await _seed(platform, "wxa", 25_000, prefix="oS")
    assert seeded["first"] == "oS" + "0" * 26 and len(seeded["last"]) == 28
    assert platform.gateway.pushes == []  # no callback for a seed
    await platform.act("wxa", "olive", "subscribe")
    await platform.act("wxa", seeded["first"], "unsubscribe")
    token = await platform.token("wxa")
    seen: list[str] = []
    after, pages = "", 0
    while True:
        page = await _page(platform, token, after)
        assert page["total"] == 25_000
        if page["count"] == 0:
            assert page == {"total": 25_000, "count": 0, "next_openid": ""}
            break
        pages += 1
        seen += page["data"]["openid"]
        assert page["next_openid"] == page["data"]["openid"][-1]
        after = page["next_openid"]
    assert pages == 3 and len(seen) == len(set(seen)) == 25_000
    assert seeded["first"] not in seen and seen[-1] == "olive"
    stranger = await _page(platform, token, "onobody")
    assert stranger["errcode"] == 40003


async def test_batchget_profiles_and_limits(platform: Platform) -> None:
    await platform.register("wxa")
    seeded = await _seed(platform, "wxa", 3, prefix="oT")
    await platform.act("wxa", "oscan", "scan", scene=42)
    token = await platform.token("wxa")
    tag = (await platform.call("/cgi-bin/tags/create", token, {"tag": {"name": "vip"}}))["tag"]
    members = {"openid_list": [seeded["first"], "oscan"], "tagid": tag["id"]}
    assert (await platform.call("/cgi-bin/tags/members/batchtagging", token, members))[
        "errcode"
    ] == 0
    await platform.act("wxa", "oscan", "unsubscribe")
    wanted = [{"openid": o, "lang": "zh_CN"} for o in (seeded["first"], "oscan")]
    answer = await platform.call(BATCHGET, token, {"user_list": wanted})
    first, gone = answer["user_info_list"]
    assert first["subscribe"] == 1 and first["openid"] == seeded["first"]
    assert first["tagid_list"] == [tag["id"]] and first["remark"] == "seed 0"
    assert first["unionid"] == "u" + seeded["first"][1:]
    assert first["subscribe_scene"] == "ADD_SCENE_SEARCH" and first["qr_scene"] == 0
    assert gone == {"subscribe": 0, "openid": "oscan"}
    too_many = [{"openid": seeded["first"]}] * 101
    assert (await platform.call(BATCHGET, token, {"user_list": too_many}))["errcode"] == 40032
    unknown = await platform.call(BATCHGET, token, {"user_list": [{"openid": "onobody"}]})
    assert unknown["errcode"] == 40003
    single = await platform.client.get(
        "/cgi-bin/user/info", params={"access_token": token, "openid": seeded["last"]}
    )
    assert (await single.json())["subscribe_scene"] == "ADD_SCENE_PROFILE_CARD"
    assert (await platform.call(BATCHGET, "stale", {"user_list": wanted}))["errcode"] == 40001


async def test_tag_update_members_pages_and_id_list(platform: Platform) -> None:
    await platform.register("wxa")
    seeded = await _seed(platform, "wxa", 120, prefix="oU")
    token = await platform.token("wxa")
    created = await platform.call("/cgi-bin/tags/create", token, {"tag": {"name": "a"}})
    tag_id = created["tag"]["id"]
    await platform.call("/cgi-bin/tags/create", token, {"tag": {"name": "b"}})
    update = "/cgi-bin/tags/update"
    assert (await platform.call(update, token, {"tag": {"id": tag_id, "name": "b"}}))[
        "errcode"
    ] == 45157
    assert (await platform.call(update, token, {"tag": {"id": tag_id, "name": "c"}}))[
        "errcode"
    ] == 0
    openids = [seeded["prefix"] + str(i).zfill(26) for i in range(50)]
    batch = {"openid_list": [*openids, seeded["last"]], "tagid": tag_id}
    assert (await platform.call("/cgi-bin/tags/members/batchtagging", token, batch))[
        "errcode"
    ] == 40032
    batch["openid_list"] = openids
    assert (await platform.call("/cgi-bin/tags/members/batchtagging", token, batch))["errcode"] == 0
    page = await platform.call("/cgi-bin/user/tag/get", token, {"tagid": tag_id})
    assert page["count"] == 50 and page["data"]["openid"] == openids
    after = await platform.call(
        "/cgi-bin/user/tag/get", token, {"tagid": tag_id, "next_openid": page["next_openid"]}
    )
    assert after == {"count": 0, "next_openid": ""}
    held = await platform.call("/cgi-bin/tags/getidlist", token, {"openid": openids[0]})
    assert held == {"tagid_list": [tag_id]}
    listed = await platform.client.get("/cgi-bin/tags/get", params={"access_token": token})
    assert {"id": tag_id, "name": "c", "count": 50} in (await listed.json())["tags"]


async def test_too_many_tags_and_tags_per_follower(platform: Platform) -> None:
    await platform.register("wxa")
    await platform.act("wxa", "o1", "subscribe")
    token = await platform.token("wxa")
    ids = []
    for n in range(100):
        created = await platform.call("/cgi-bin/tags/create", token, {"tag": {"name": f"t{n}"}})
        ids.append(created["tag"]["id"])
    assert (await platform.call("/cgi-bin/tags/create", token, {"tag": {"name": "x"}}))[
        "errcode"
    ] == 45056
    tagging = "/cgi-bin/tags/members/batchtagging"
    for tag_id in ids[:20]:
        body = {"openid_list": ["o1"], "tagid": tag_id}
        assert (await platform.call(tagging, token, body))["errcode"] == 0
    body = {"openid_list": ["o1"], "tagid": ids[20]}
    assert (await platform.call(tagging, token, body))["errcode"] == 45059


async def test_a_tag_mass_skips_members_over_quota(platform: Platform) -> None:
    await platform.register("wxa")
    seeded = await _seed(platform, "wxa", 3, prefix="oV")
    a, b = seeded["first"], seeded["prefix"] + "1".zfill(26)
    token = await platform.token("wxa")
    tag_id = (await platform.call("/cgi-bin/tags/create", token, {"tag": {"name": "t"}}))["tag"][
        "id"
    ]
    body = {"openid_list": [a], "tagid": tag_id}
    await platform.call("/cgi-bin/tags/members/batchtagging", token, body)
    sendall = "/cgi-bin/message/mass/sendall"
    for n in range(4):
        mass = {"filter": {"is_to_all": False, "tag_id": tag_id}, "msgtype": "text"}
        answer = await platform.call(sendall, token, {**mass, "text": {"content": f"m{n}"}})
        assert answer["errcode"] == 0
    body["openid_list"] = [b]
    await platform.call("/cgi-bin/tags/members/batchtagging", token, body)
    mass = {"filter": {"is_to_all": False, "tag_id": tag_id}, "msgtype": "text"}
    assert (await platform.call(sendall, token, {**mass, "text": {"content": "m5"}}))[
        "errcode"
    ] == 0
    assert (await platform.sent("wxa"))[-1]["verdict"] == "ok"
    assert (await platform.follower("wxa", a))["mass"]["used"] == 4
    assert (await platform.follower("wxa", b))["mass"]["used"] == 1


async def test_seed_is_lazy_for_a_million(platform: Platform) -> None:
    await platform.register("wxa")
    seeded = await _seed(platform, "wxa", 1_000_000)
    token = await platform.token("wxa")
    page = await _page(platform, token, seeded["prefix"] + str(999_990).zfill(28 - 10))
    assert page["count"] == 9 and page["total"] == 1_000_000
    overlap = await platform.client.post(
        "/_mock/accounts/wxa/followers/seed", json={"count": 1, "prefix": seeded["prefix"][:3]}
    )
    assert overlap.status == 409
