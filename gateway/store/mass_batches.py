"""Batches of a service `all` mass (issue 19): one `mass_batches` row per mass/send call of up
to 10,000 openids; their claims, leases and take-overs, results, and one recipient's status.
The expansion: gateway.store.mass_expansion; expiry, cancel, retry: mass_ends. Times are
parameters (the worker's clock).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from collections.abc import Iterable, Sequence

import asyncpg

from gateway.domain import attempts, decide, periods
from gateway.store import errors, mass_expansion, pool, queries
from gateway.store.message_status import Transition, refresh_messages

MASS = decide.Channel.MASS_OPENIDS

Key = tuple[str, int, int]  # (account_id, message_id, seq)


@dataclasses.dataclass(frozen=True)
class Batch:
    """A leased batch: one mass/send call, keyed by its clientmsgid for every retry."""

    account_id: str
    message_id: int
    seq: int
    openids: list[str]
    client_msg_id: str
    attempts: int
    takeovers: int
    unknown_since: dt.datetime | None
    quota_period: dt.date | None
    lease_until: dt.datetime

    @property
    def key(self) -> Key:
        return (self.account_id, self.message_id, self.seq)

    @classmethod
    def from_record(cls, r: asyncpg.Record) -> Batch:
        return cls(
            r["account_id"],
            r["message_id"],
            r["seq"],
            list(r["openids"]),
            r["client_msg_id"],
            r["attempts"],
            r["takeovers"],
            r["unknown_since"],
            r["quota_period"],
            r["lease_until"],
        )


@dataclasses.dataclass(frozen=True)
class Result:
    """What became of a leased batch's call: `released` puts it back unmade."""

    key: Key
    status: str
    reason: str | None = None
    release_at: dt.datetime | None = None
    msgid: str | None = None
    errcode: int | None = None
    errmsg: str | None = None
    unknown: bool = False
    released: bool = False
    give_back: bool = False  # refused for good, no attempt may have arrived: units back


@dataclasses.dataclass(frozen=True)
class End:
    key: Key
    status: str
    reason: str | None
    give_back: bool


def messages_of(keys: Iterable[Key]) -> list[tuple[str, int]]:
    return sorted({(k[0], k[1]) for k in keys})


async def end(conn: pool.Connection, now: dt.datetime, ends: Sequence[End]) -> None:
    if not ends:
        return
    await conn.execute(
        queries.get("end_batches"),
        [e.key[0] for e in ends],
        [e.key[1] for e in ends],
        [e.key[2] for e in ends],
        now,
        [e.status for e in ends],
        [e.reason for e in ends],
        [e.give_back for e in ends],
    )


async def work_due(conn: pool.Connection, now: dt.datetime) -> bool:
    """Whether any batch work is due: one index probe per table when there is none."""
    return bool(await conn.fetchval(queries.get("find_mass_work"), now))


async def claim(
    conn: pool.Connection,
    now: dt.datetime,
    tz: zoneinfo.ZoneInfo,
    *,
    worker_id: str,
    lease_until: dt.datetime,
    limit: int,
) -> tuple[int, list[Batch], list[Transition]]:
    """Lease up to `limit` due batches; returns (batches locked, leased batches, transitions).
    A batch past its message's expiry expires (units back unless an attempt may have arrived);
    one whose units are of an ended month is rebased first."""
    async with conn.transaction():
        rows = await conn.fetch(queries.get("lock_due_batches"), now, limit)
        if not rows:
            return 0, [], []
        month = periods.month_key(now, tz)
        ends: list[End] = []
        lease: list[Key] = []
        for r in rows:
            key = (r["account_id"], r["message_id"], r["seq"])
            unused = r["unknown_since"] is None
            if now >= r["expires_at"]:
                ends.append(End(key, "expired", r["reason"] or "expired", unused))
            elif not attempts.repeat_allowed(MASS, r["unknown_since"], now):
                ends.append(End(key, "failed", attempts.OUTCOME_UNKNOWN, False))
            elif (
                not unused
                or r["quota_period"] == month
                or await mass_expansion.rebase(conn, r, month, now)
            ):
                lease.append(key)
        await end(conn, now, ends)
        leased = []
        if lease:
            got = await conn.fetch(
                queries.get("lease_batches"),
                now,
                [k[0] for k in lease],
                [k[1] for k in lease],
                lease_until,
                worker_id,
                [k[2] for k in lease],
            )
            leased = [Batch.from_record(g) for g in got]
        keys = [(r["account_id"], r["message_id"]) for r in rows]
        transitions = await refresh_messages(conn, keys, now)
    return len(rows), leased, transitions


async def take_over(
    conn: pool.Connection,
    now: dt.datetime,
    expires: dict[tuple[str, int], dt.datetime],
    *,
    worker_id: str,
    lease_until: dt.datetime,
    limit: int,
) -> tuple[int, list[Batch], list[Transition]]:
    """Lease batches whose worker's lease ended and re-send them as they were (same key, same
    recipients, the units they took), unless the message expired, the take-overs are used up
    or the platform has forgotten the key. `expires`: filled with the messages' expiry."""
    found = await conn.fetch(queries.get("find_expired_batch_leases"), now, limit)
    if not found:
        return 0, [], []
    async with conn.transaction():
        got = await conn.fetch(
            queries.get("take_batch_leases"),
            now,
            [f["account_id"] for f in found],
            [f["message_id"] for f in found],
            [f["seq"] for f in found],
            lease_until,
            worker_id,
        )
        batches = [Batch.from_record(g) for g in got]
        for m in await conn.fetch(
            queries.get("get_batched_expiry"),
            [b.account_id for b in batches],
            [b.message_id for b in batches],
        ):
            expires[(m["account_id"], m["id"])] = m["expires_at"]
        ends, live = [], []
        for b in batches:
            if now >= expires[(b.account_id, b.message_id)]:
                ends.append(End(b.key, "expired", attempts.OUTCOME_UNKNOWN, False))
            elif not attempts.takeover_allowed(b.takeovers):
                ends.append(End(b.key, "failed", attempts.ATTEMPTS_EXHAUSTED, False))
            elif not attempts.repeat_allowed(MASS, b.unknown_since, now):
                ends.append(End(b.key, "failed", attempts.OUTCOME_UNKNOWN, False))
            else:
                live.append(b)
        await end(conn, now, ends)
        transitions = await refresh_messages(conn, messages_of(e.key for e in ends), now)
    return len(batches), live, transitions


async def record(
    conn: pool.Connection, worker_id: str, now: dt.datetime, results: Sequence[Result]
) -> tuple[set[Key], list[tuple[str, str]], list[Transition]]:
    """Write the calls' results (only of batches whose lease `worker_id` still holds) and the
    messages' status; returns (batches written, (account, msgid) of the sent, transitions)."""
    if not results:
        return set(), [], []
    async with conn.transaction():
        rows = await conn.fetch(
            queries.get("record_batch_results"),
            worker_id,
            now,
            [r.key[0] for r in results],
            [r.key[1] for r in results],
            [r.key[2] for r in results],
            [r.status for r in results],
            [r.reason for r in results],
            [r.release_at for r in results],
            [r.msgid for r in results],
            [r.errcode for r in results],
            [r.errmsg for r in results],
            [r.unknown for r in results],
            [r.released for r in results],
        )
        written = {(r["account_id"], r["message_id"], r["seq"]) for r in rows}
        back = [
            End(r.key, r.status, r.reason, True)
            for r in results
            if r.give_back and r.key in written
        ]
        await end(conn, now, back)
        sent = [(r["account_id"], r["wechat_msgid"]) for r in rows if r["status"] == "sent"]
        transitions = await refresh_messages(conn, messages_of(written), now)
    return written, [s for s in sent if s[1] is not None], transitions


@dataclasses.dataclass(frozen=True, slots=True)
class Recipient:
    """One recipient of a message: the status of their batch (`batch` its seq), of their skip
    (`expired` with its reason) or of their delivery (`batch` None)."""

    status: str
    reason: str | None
    batch: int | None
    wechat_msgid: str | None
    errcode: int | None
    errmsg: str | None


async def recipient(
    db: pool.Connection | asyncpg.Pool, account_id: str, message_id: int, openid: str
) -> Recipient | None:
    """One recipient's status in a message: its batch's, its skip's or its delivery's; None
    when the openid is not among the message's recipients (NotFound without the message)."""
    row = await db.fetchrow(queries.get("find_recipient"), account_id, message_id, openid)
    if row is None:
        if not await db.fetchval(queries.get("has_message"), account_id, message_id):
            raise errors.NotFound("no such message")
        return None
    return Recipient(
        status=row["status"],
        reason=row["reason"],
        batch=row["seq"],
        wechat_msgid=row["wechat_msgid"],
        errcode=row["errcode"],
        errmsg=row["errmsg"],
    )
