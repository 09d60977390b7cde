"""`/api/v1/accounts/{id}/tags`: the account's tags and their members, through WeChat.

Handlers call WeChat synchronously (as QR codes do) and record what it accepted; membership
changes go out 50 openids a call, the platform's limit. Limits are checked here first
(100 tags an account, 20 a follower) so that a refused request makes no call.
"""

from __future__ import annotations

import re

from aiohttp import web

from gateway.api import bodies, errors, keys, responses, wechat_calls
from gateway.api.models import syncs
from gateway.store import accounts as accounts_store
from gateway.store import tags as store
from gateway.wechat import client as wx

MAX_TAGS = 100
MAX_TAGS_PER_FOLLOWER = 20
BATCH = 50
RESERVED = re.compile(r"^wxgate-\d+$")  # the release worker's one-member tags
MAX_TAG_ID = 2**31 - 1
_CREATE_ERRORS = {
    45056: ("tag_limit_reached", "the account has 100 tags, the platform's limit"),
    45157: ("conflict", "a tag of that name exists"),
    45158: ("validation_error", "the tag name is longer than 30 characters"),
}
_MEMBER_ERRORS = {
    45059: ("too_many_tags", "a follower would hold more than 20 tags"),
    40003: ("validation_error", "an openid does not follow the account"),
    45159: ("not_found", "the platform has no such tag"),
}


def tag_id(request: web.Request) -> int:
    value = request.match_info["tag_id"]
    if not value.isascii() or not value.isdigit() or int(value) > MAX_TAG_ID:
        raise errors.ApiError("not_found", "no such tag")
    return int(value)


def _resource(row: store.Tag) -> syncs.Tag:
    return syncs.Tag(id=row.tag_id, name=row.name, count=row.count)


async def list_tags(request: web.Request) -> web.Response:
    account_id = bodies.account_id(request)
    pool = request.app[keys.POOL]
    await accounts_store.get_account(pool, account_id)
    rows = await store.list_tags(pool, account_id)
    return responses.ok(syncs.TagList(items=[_resource(r) for r in rows]))


async def create_tag(request: web.Request) -> web.Response:
    account_id = bodies.account_id(request)
    body = await bodies.read_json(request, syncs.NewTag)
    pool = request.app[keys.POOL]
    if RESERVED.match(body.name):
        raise errors.ApiError("validation_error", "tag names wxgate-<digits> are reserved")
    account = await accounts_store.get_account(pool, account_id)
    existing = await store.list_tags(pool, account_id)
    if any(t.name == body.name for t in existing):
        raise errors.ApiError("conflict", "a tag of that name exists")
    if len(existing) >= MAX_TAGS:
        raise errors.ApiError("tag_limit_reached", "the account has 100 tags, the platform's limit")

    async def create(client: wx.WeChatClient, token: str) -> int:
        return await client.create_tag(token, body.name)

    new_id = await wechat_calls.call(request.app, account, create, _CREATE_ERRORS)
    row = await store.insert(pool, account_id, new_id, body.name)
    return responses.ok(_resource(row), status=201)


async def delete_tag(request: web.Request) -> web.Response:
    account_id, wanted = bodies.account_id(request), tag_id(request)
    pool = request.app[keys.POOL]
    account = await accounts_store.get_account(pool, account_id)
    row = await store.get_tag(pool, account_id, wanted)

    async def delete(client: wx.WeChatClient, token: str) -> None:
        await client.delete_tag(token, wanted)

    mapped = {45159: ("not_found", "the platform has no such tag")}
    mapped[45057] = ("conflict", "the platform keeps tags of more than 100,000 members")
    await wechat_calls.call(request.app, account, delete, mapped)
    await store.delete(pool, account_id, wanted)
    return responses.ok(_resource(row))


async def _members(request: web.Request, adding: bool) -> web.Response:
    account_id, wanted = bodies.account_id(request), tag_id(request)
    body = await bodies.read_json(request, syncs.TagMembers)
    openids = list(dict.fromkeys(body.openids))
    pool = request.app[keys.POOL]
    account = await accounts_store.get_account(pool, account_id)
    await store.get_tag(pool, account_id, wanted)
    if adding:
        held = await store.held(pool, account_id, openids, wanted)
    if adding:
        full = [o for o, (count, has) in held.items() if count >= MAX_TAGS_PER_FOLLOWER and not has]
        if full:
            raise errors.ApiError(
                "too_many_tags", "a follower would hold more than 20 tags", {"openids": full[:100]}
            )
    calls = 0
    for start in range(0, len(openids), BATCH):
        batch = openids[start : start + BATCH]

        async def change(client: wx.WeChatClient, token: str, batch: list[str] = batch) -> None:
            if adding:
                await client.tag_members(token, wanted, batch)
            else:
                await client.untag_members(token, wanted, batch)

        await wechat_calls.call(request.app, account, change, _MEMBER_ERRORS)
        calls += 1
        # Recorded batch by batch: a later refusal leaves what the platform accepted.
        if adding:
            await store.add_members(pool, account_id, wanted, batch)
        else:
            await store.remove_members(pool, account_id, wanted, batch)
    return responses.ok(syncs.TagMembersResult(tag_id=wanted, openids=len(openids), calls=calls))


async def add_members(request: web.Request) -> web.Response:
    return await _members(request, adding=True)


async def remove_members(request: web.Request) -> web.Response:
    return await _members(request, adding=False)
