"""User tags: create, delete, tag and untag followers, list. Both account kinds have them."""

from __future__ import annotations

from typing import Any

from gateway.mock import calls, errors, state

MAX_TAGS = 100
MAX_NAME_CHARS = 30
MAX_BATCH = 50
MAX_TAGS_PER_USER = 20
SYSTEM_TAGS = (0, 1, 2)


def _tag_object(call: calls.Call) -> dict[str, Any]:
    tag = call.body.get("tag")
    if not isinstance(tag, dict):
        raise errors.ApiError(47001, "tag object is required")
    return tag


def _tag_id(value: Any) -> int:
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise errors.ApiError(47001, "tag id must be an integer")
    return value


def _existing(account: state.Account, tag_id: int) -> state.Tag:
    if tag_id in SYSTEM_TAGS:
        raise errors.ApiError(45058)
    tag = account.tags.get(tag_id)
    if tag is None:
        raise errors.ApiError(45159)
    return tag


async def create(call: calls.Call) -> calls.Outcome:
    name = _tag_object(call).get("name")
    if not isinstance(name, str) or not name.strip():
        raise errors.ApiError(45157)
    if len(name) > MAX_NAME_CHARS:
        raise errors.ApiError(45158)
    account = call.account
    if any(t.name == name for t in account.tags.values()):
        raise errors.ApiError(45157, "a tag of that name exists")
    if len(account.tags) >= MAX_TAGS:
        raise errors.ApiError(45056)
    tag = state.Tag(account.next_tag_id, name)
    account.next_tag_id += 1
    account.tags[tag.id] = tag
    return calls.Outcome({"tag": {"id": tag.id, "name": tag.name}})


async def delete(call: calls.Call) -> calls.Outcome:
    tag = _existing(call.account, _tag_id(_tag_object(call).get("id")))
    del call.account.tags[tag.id]
    return calls.Outcome(calls.ok())


def _batch(call: calls.Call) -> tuple[state.Tag, list[str]]:
    openids = call.body.get("openid_list")
    if not isinstance(openids, list) or not all(isinstance(o, str) for o in openids):
        raise errors.ApiError(47001, "openid_list must be a list of openids")
    if not 1 <= len(openids) <= MAX_BATCH:
        raise errors.ApiError(40032)
    tag = _existing(call.account, _tag_id(call.body.get("tagid")))
    for openid in openids:
        if openid not in call.account.followers:
            raise errors.ApiError(40003, openid)
    return tag, openids


async def tag_members(call: calls.Call) -> calls.Outcome:
    tag, openids = _batch(call)
    for openid in openids:
        held = sum(1 for t in call.account.tags.values() if openid in t.members)
        if openid not in tag.members and held >= MAX_TAGS_PER_USER:
            raise errors.ApiError(45059)
    tag.members.update(openids)
    return calls.Outcome(calls.ok())


async def untag_members(call: calls.Call) -> calls.Outcome:
    tag, openids = _batch(call)
    tag.members.difference_update(openids)
    return calls.Outcome(calls.ok())


async def list_tags(call: calls.Call) -> calls.Outcome:
    tags = [
        {"id": t.id, "name": t.name, "count": len(t.members)}
        for t in sorted(call.account.tags.values(), key=lambda t: t.id)
    ]
    return calls.Outcome({"tags": tags})
