"""The account's tags (SPEC 9) as the platform has them, and membership kept per follower.

The platform is the source of truth: rows here are written after the platform accepted a
change, and a follower sync replaces the list (`replace`) and every member's `tags`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import asyncpg

from gateway.store import errors, queries, rows
from gateway.store import pool as pool_mod

Db = pool_mod.Connection | asyncpg.Pool


@dataclasses.dataclass(frozen=True, slots=True)
class Tag:
    """One of the account's tags, with the member count the platform last reported."""

    tag_id: int
    name: str
    count: int


async def list_tags(db: Db, account_id: str) -> list[Tag]:
    return rows.build_all(Tag, await db.fetch(queries.get("tags_list"), account_id))


async def get_tag(db: Db, account_id: str, tag_id: int) -> Tag:
    row = await db.fetchrow(queries.get("tags_get"), account_id, tag_id)
    if row is None:
        raise errors.NotFound("no such tag")
    return rows.build(Tag, row)


async def insert(db: Db, account_id: str, tag_id: int, name: str) -> Tag:
    row = await db.fetchrow(queries.get("tags_insert"), account_id, tag_id, name)
    assert row is not None
    return rows.build(Tag, row)


async def delete(db: Db, account_id: str, tag_id: int) -> None:
    """Forget the tag and take it off every follower's `tags`."""
    await db.execute(queries.get("tags_delete"), account_id, tag_id)


async def replace(db: Db, account_id: str, tags: list[tuple[int, str, int]]) -> None:
    """The platform's list (id, name, count) replaces the account's."""
    await db.execute(
        queries.get("tags_replace"),
        account_id,
        [t[0] for t in tags],
        [t[1] for t in tags],
        [t[2] for t in tags],
    )


async def held(
    db: Db, account_id: str, openids: list[str], tag_id: int
) -> dict[str, tuple[int, bool]]:
    """Per openid: how many tags the follower holds and whether `tag_id` is among them."""
    found = await db.fetch(queries.get("tags_member_counts"), account_id, openids, tag_id)
    return {r["openid"]: (int(r["held"]), bool(r["has"])) for r in found}


async def add_members(db: Db, account_id: str, tag_id: int, openids: list[str]) -> None:
    await db.execute(queries.get("tags_add_members"), account_id, openids, tag_id)


async def remove_members(db: Db, account_id: str, tag_id: int, openids: list[str]) -> None:
    await db.execute(queries.get("tags_remove_members"), account_id, openids, tag_id)


async def charge_mass(
    db: Db, account_id: str, delivery_id: int, tag_id: int, period: dt.date, limit: int
) -> int:
    """Consume a unit of `period` from every subscribed member of the tag who has one left,
    as the platform counts a tag mass (C7); how many members were charged."""
    charged = await db.fetchval(
        queries.get("tags_charge_mass"), account_id, delivery_id, tag_id, period, limit
    )
    return int(charged or 0)


async def give_back_mass(db: Db, deliveries: list[tuple[str, int]]) -> None:
    """Tag masses that were not sent: their members' units come back."""
    if deliveries:
        await db.execute(
            queries.get("tags_give_back_mass"),
            [d[0] for d in deliveries],
            [d[1] for d in deliveries],
        )
