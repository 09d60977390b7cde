"""Reply rules (SPEC 8): an account's rule set, replaced whole, with a version; and the
passive reply a stored callback was answered with."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg

from gateway.store import errors, pool, queries, rows

Db = pool.Connection | asyncpg.Pool


@dataclasses.dataclass(frozen=True, slots=True)
class RuleSet:
    """An account's rule set: `rules` is the stored JSON document (None, version None: never
    PUT), with the account's reply endpoint where the read joins it."""

    rules: dict[str, Any] | None
    version: int | None
    updated_at: dt.datetime | None
    endpoint_id: str | None = None
    endpoint_url: str | None = None
    endpoint_disabled: bool | None = None


async def put_rules(db: Db, account_id: str, rules: Mapping[str, Any]) -> RuleSet:
    """Store the checked rule set; NotFound for an unknown account."""
    with errors.translated():  # the account's foreign key: NotFound
        row = await db.fetchrow(queries.get("reply_rules_put"), account_id, dict(rules))
    assert row is not None
    return rows.build(RuleSet, row)


async def get_rules(db: Db, account_id: str) -> RuleSet:
    """The rule set with the reply endpoint; NotFound for an unknown account."""
    row = await db.fetchrow(queries.get("reply_rules_get"), account_id)
    if row is None:
        raise errors.NotFound(f"no account {account_id!r}")
    return rows.build(RuleSet, row)


async def stored_reply(db: Db, account_id: str, dedupe_key: str) -> tuple[bool, str | None]:
    """(stored, reply_xml) of a callback: whether it is already stored, and its reply."""
    row = await db.fetchrow(queries.get("reply_stored"), account_id, dedupe_key)
    return (False, None) if row is None else (True, row["reply_xml"])


async def stored_replies(
    db: Db, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], str | None]:
    """{(account_id, dedupe_key): reply_xml} of the callbacks among `keys` already stored."""
    found = await db.fetch(
        queries.get("inbound_stored_replies"), [k[0] for k in keys], [k[1] for k in keys]
    )
    return {(r["account_id"], r["dedupe_key"]): r["reply_xml"] for r in found}
