"""User tags: create, rename, delete, tag and untag followers, list. Both account kinds.

`tags/update {"tag": {"id", "name"}}`; `user/tag/get {"tagid", "next_openid"?}` pages a
tag's members 10,000 at a time (`{"count", "data": {"openid"}, "next_openid"}`);
`tags/getidlist {"openid"}` -> `{"tagid_list"}`. A tag of more than 100,000 members cannot
be deleted (45057), as on the platform.
"""

from __future__ import annotations

from typing import Any

from gateway.mock import calls, errors, state

MAX_TAGS = 100
MAX_NAME_CHARS = 30
MAX_BATCH = 50
MAX_TAGS_PER_USER = 20
SYSTEM_TAGS = (0, 1, 2)
MEMBER_PAGE = 10_000
DELETE_MAX_MEMBERS = 100_000


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


def _name(account: state.Account, value: Any, tag_id: int | None = None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise errors.ApiError(45157)
    if len(value) > MAX_NAME_CHARS:
        raise errors.ApiError(45158)
    if any(t.name == value and t.id != tag_id for t in account.tags.values()):
        raise errors.ApiError(45157, "a tag of that name exists")
    return value


async def create(call: calls.Call) -> calls.Outcome:
    account = call.account
    name = _name(account, _tag_object(call).get("name"))
    if len(account.tags) >= MAX_TAGS:
        raise errors.ApiError(45056)
    tag = state.Tag(account.next_tag_id, name)
    account.next_tag_id += 1
    account.tags[tag.id] = tag
    return calls.Outcome({"tag": {"id": tag.id, "name": tag.name}})


async def update(call: calls.Call) -> calls.Outcome:
    given = _tag_object(call)
    tag = _existing(call.account, _tag_id(given.get("id")))
    tag.name = _name(call.account, given.get("name"), tag.id)
    return calls.Outcome(calls.ok())


async def delete(call: calls.Call) -> calls.Outcome:
    tag = _existing(call.account, _tag_id(_tag_object(call).get("id")))
    if len(tag.members) > DELETE_MAX_MEMBERS:
        raise errors.ApiError(45057)
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


async def members(call: calls.Call) -> calls.Outcome:
    """A tag's members in openid order, a page at a time after `next_openid`."""
    tag = _existing(call.account, _tag_id(call.body.get("tagid")))
    after = call.body.get("next_openid") or ""
    if not isinstance(after, str):
        raise errors.ApiError(47001, "next_openid must be a string")
    page = sorted(o for o in tag.members if o > after)[:MEMBER_PAGE]
    answer: dict[str, Any] = {"count": len(page)}
    if page:
        answer["data"] = {"openid": page}
    answer["next_openid"] = page[-1] if page else ""
    return calls.Outcome(answer)


async def id_list(call: calls.Call) -> calls.Outcome:
    openid = call.body.get("openid")
    if not isinstance(openid, str) or openid not in call.account.followers:
        raise errors.ApiError(40003)
    held = sorted(t.id for t in call.account.tags.values() if openid in t.members)
    return calls.Outcome({"tagid_list": held})
