"""Stores callbacks and applies them to follower state, many callbacks per transaction.

A batch is: insert the events (retries skipped by the unique dedupe key), lock the followers
they touch, compute each follower's new state with the pure window rules, write it, wake the
deliveries of followers who interacted or re-subscribed, and record job-finish results.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from gateway.domain import kinds, window
from gateway.domain.follower_fold import Follower as _Follower
from gateway.domain.follower_fold import apply
from gateway.store import job_finish, pool, queries, wakeups, webhooks
from gateway.store import replies as reply_store

# Events that describe a job of ours, not a follower's action.
JOB_EVENTS = frozenset({"TEMPLATESENDJOBFINISH", "MASSSENDJOBFINISH"})


@dataclasses.dataclass(frozen=True)
class EventRecord:
    """One verified, parsed callback, ready to store."""

    account_id: str
    kind: kinds.AccountKind
    profile: window.RuleProfile
    dedupe_key: str
    openid: str
    msg_type: str
    event: str | None
    event_key: str | None
    msg_id: int | None
    create_time: dt.datetime
    received_at: dt.datetime
    fields: Mapping[str, str]
    scene: str | None
    raw_xml: str | None = None  # the body as received (decrypted); None: not kept
    reply_xml: str | None = None  # the passive reply to answer with (plaintext); None: none

    @property
    def interaction(self) -> window.Interaction | None:
        return window.classify(self.msg_type, self.event, self.event_key)

    @property
    def at(self) -> dt.datetime:
        return window.clamp(self.create_time, self.received_at)


@dataclasses.dataclass(frozen=True)
class Stored:
    """One record's outcome: new (stored now) or a retry, and the passive reply its stored
    event was answered with (a retry gets the first answer's reply, whatever it brought)."""

    new: bool
    reply_xml: str | None = None

    def __bool__(self) -> bool:
        return self.new


Key = tuple[str, str]


async def _lock_followers(
    conn: pool.Connection, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], _Follower]:
    found: dict[tuple[str, str], _Follower] = {}
    missing = list(keys)
    # A follower row another process inserted after our snapshot is invisible to the first
    # pass; the next statement sees it.
    for _ in range(3):
        rows = await conn.fetch(
            queries.get("inbound_lock_followers"),
            [k[0] for k in missing],
            [k[1] for k in missing],
        )
        for r in rows:
            found[(r["account_id"], r["openid"])] = _Follower(
                subscribed=r["subscribed"],
                window=window.Window(r["window_ends_at"], r["window_remaining"]),
                first_qr_scene=r["first_qr_scene"],
                last_interaction_at=r["last_interaction_at"],
                subscription_at=r["subscription_at"],
            )
        missing = [k for k in missing if k not in found]
        if not missing:
            return found
    raise RuntimeError("follower rows could not be locked")


async def _job_finish(conn: pool.Connection, record: EventRecord) -> None:
    """TEMPLATESENDJOBFINISH / MASSSENDJOBFINISH: the platform's verdict on a sent message."""
    counts = {}
    for name in ("TotalCount", "FilterCount", "SentCount", "ErrorCount"):
        value = record.fields.get(name, "")
        if value.isdigit():
            counts[name] = int(value)
    await job_finish.record_job_finish(
        conn,
        record.account_id,
        str(record.msg_id),
        record.fields.get("Status", ""),
        counts,
        now=dt.datetime.now(dt.UTC),
    )


def _columns(records: Sequence[EventRecord]) -> list[list[Any]]:
    return [
        [r.account_id for r in records],
        [r.dedupe_key for r in records],
        [r.openid for r in records],
        [r.msg_type for r in records],
        [r.event for r in records],
        [r.event_key for r in records],
        [None if r.msg_id is None else str(r.msg_id) for r in records],
        [r.create_time for r in records],
        [r.received_at for r in records],
        [dict(r.fields) for r in records],
    ]


async def store_batch(conn: pool.Connection, records: Sequence[EventRecord]) -> list[bool]:
    """Store and apply `records`; True for each that was new, False for a retry (already
    stored, or repeated within the batch). Committed before returning."""
    return [s.new for s in await store_batch_replies(conn, records)]


async def store_batch_replies(
    conn: pool.Connection, records: Sequence[EventRecord]
) -> list[Stored]:
    """store_batch, with the passive reply each record's stored event was answered with."""
    if all(_seed_only(r) for r in records):
        inserted, replies = await _ingest_seed(conn, records)
    else:
        inserted, replies = await _ingest_general(conn, records)
    missing = [k for k in {(r.account_id, r.dedupe_key) for r in records} if k not in replies]
    if missing:  # a duplicate committed concurrently, after the statement's snapshot
        replies.update(await reply_store.stored_replies(conn, missing))
    # Retries too: if this look failed after the commit, WeChat's retry takes it again.
    await wakeups.after_ingest(conn, [(r.account_id, r.openid) for r in records if _wakes(r)])
    results = []
    claimed: set[Key] = set()
    for r in records:
        key = (r.account_id, r.dedupe_key)
        results.append(Stored(key in inserted and key not in claimed, replies.get(key)))
        claimed.add(key)
    return results


def _wakes(record: EventRecord) -> bool:
    """A window trigger or a subscribe: the follower's held deliveries may be due."""
    if record.event in JOB_EVENTS:
        return False
    return record.interaction is not None or record.event == "subscribe"


def _seed_only(record: EventRecord) -> bool:
    return record.profile == window.RuleProfile.SEED and record.event not in JOB_EVENTS


def _unique(records: Sequence[EventRecord]) -> list[EventRecord]:
    seen: set[tuple[str, str]] = set()
    unique: list[EventRecord] = []
    for r in records:
        if (r.account_id, r.dedupe_key) not in seen:
            seen.add((r.account_id, r.dedupe_key))
            unique.append(r)
    return unique


def _sub_change(record: EventRecord) -> int:
    return {"subscribe": 1, "unsubscribe": -1}.get(record.event or "", 0)


async def _ingest_seed(
    conn: pool.Connection, records: Sequence[EventRecord]
) -> tuple[set[Key], dict[Key, str | None]]:
    """The fast path: one statement does what _ingest_general does, for the seed profile."""
    unique = _unique(records)
    interactions = [r.interaction for r in unique]
    rows = await conn.fetch(
        queries.get("inbound_ingest_seed"),
        *_columns(unique),
        [r.at for r in unique],
        [None if i is None else i.value for i in interactions],
        [r.scene for r in unique],
        [_sub_change(r) for r in unique],
        [r.raw_xml for r in unique],
        [r.reply_xml for r in unique],
    )
    inserted = {(r["account_id"], r["dedupe_key"]) for r in rows if r["kind"] == "event"}
    replies = {
        (r["account_id"], r["dedupe_key"]): r["reply_xml"] for r in rows if r["kind"] != "notify"
    }
    return inserted, replies


async def _ingest_general(
    conn: pool.Connection, records: Sequence[EventRecord]
) -> tuple[set[Key], dict[Key, str | None]]:
    """Any profile and job-finish events: lock the followers, fold with the domain rules."""
    unique = _unique(records)
    async with conn.transaction():
        rows = await conn.fetch(
            queries.get("inbound_insert_events"),
            *_columns(unique),
            [r.raw_xml for r in unique],
            [r.reply_xml for r in unique],
        )
        inserted = {(r["account_id"], r["dedupe_key"]) for r in rows}
        replies = {(r["account_id"], r["dedupe_key"]): r["reply_xml"] for r in rows}
        fresh = [r for r in unique if (r.account_id, r.dedupe_key) in inserted]
        if fresh:
            await webhooks.outbox_inbound(conn, [(r.account_id, r.dedupe_key) for r in fresh])
        follower_events = [r for r in fresh if r.event not in JOB_EVENTS]
        if follower_events:
            await _apply_followers(conn, follower_events)
        for r in fresh:
            if r.event in JOB_EVENTS:
                await _job_finish(conn, r)
    return inserted, replies


async def _apply_followers(conn: pool.Connection, events: Sequence[EventRecord]) -> None:
    keys = sorted({(r.account_id, r.openid) for r in events})
    states = await _lock_followers(conn, keys)
    for r in events:
        apply(states[(r.account_id, r.openid)], r)
    touched = [(k, states[k]) for k in keys]
    await conn.execute(
        queries.get("inbound_update_followers"),
        [k[0] for k, _ in touched],
        [k[1] for k, _ in touched],
        [s.subscribed for _, s in touched],
        [s.subscribed_at for _, s in touched],
        [s.unsubscribed_at for _, s in touched],
        [s.last_interaction_at for _, s in touched],
        [s.last_interaction for _, s in touched],
        [s.window.ends_at for _, s in touched],
        [s.window.remaining for _, s in touched],
        [s.first_qr_scene for _, s in touched],
        [s.latest_qr_scene for _, s in touched],
        [s.subscription_at for _, s in touched],
    )
    woken = [k for k, s in touched if s.wake]
    if woken:
        await conn.execute(
            queries.get("inbound_wake_deliveries"),
            [k[0] for k in woken],
            [k[1] for k in woken],
        )
