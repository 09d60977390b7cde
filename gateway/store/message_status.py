"""A message's status, recomputed from its deliveries in the transaction that changed them
(README "Decisions": Scheduler). One-delivery messages take their delivery's status; others
are aggregated, and a large one at most every few seconds while it is being sent; a batched
message (a service `all` mass) over its batches."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import time
from collections.abc import Iterable, Mapping
from typing import Any

import asyncpg

from gateway.store import pool, queries

Key = tuple[str, int]  # (account_id, id) of a message
MAX_TRACKED = 10_000  # messages a throttle remembers


@dataclasses.dataclass(frozen=True)
class Transition:
    """A message status change appended to its history by a recompute."""

    account_id: str
    message_id: int
    status: str
    reason: str | None
    created_at: dt.datetime  # the message's


class RefreshThrottle:
    """Recomputing a message's status reads every delivery of it (about 2 us a row here): on
    a million-recipient fan-out, every pass would re-read a million rows. A worker therefore
    recomputes a message of at least `min_rows` recipients at most once per `interval`
    seconds, or per second for every `rows_per_second` recipients if that is longer, while
    the message still has rows being sent or due (a later pass recomputes it); once none is
    left, at once."""

    def __init__(
        self, min_rows: int = 10_000, interval: float = 2.0, rows_per_second: int = 50_000
    ) -> None:
        self.min_rows = min_rows
        self.interval = interval
        self.rows_per_second = rows_per_second
        self._last: dict[Key, float] = {}

    def recent(self, key: Key, rows: int) -> bool:
        wait = max(self.interval, rows / self.rows_per_second)
        return time.monotonic() - self._last.get(key, -math.inf) < wait

    def done(self, keys: Iterable[Key]) -> None:
        now = time.monotonic()
        for key in keys:
            self._last[key] = now
        if len(self._last) > MAX_TRACKED:  # bounded: forget the oldest half
            for key, _ in sorted(self._last.items(), key=lambda kv: kv[1])[: len(self._last) // 2]:
                del self._last[key]


async def refresh_messages(
    conn: pool.Connection,
    keys: Iterable[Key],
    now: dt.datetime,
    detail: Mapping[str, Any] | None = None,
    throttle: RefreshThrottle | None = None,
) -> list[Transition]:
    """Recompute the status of these messages from their deliveries; returns the
    transitions appended (account_id, message_id, status, reason, created_at).

    Any sending -> sending; else any queued -> queued; else any held -> held (reason and
    release_at of the earliest held row); all terminal -> the most frequent terminal status,
    ties in the order delivered, sent, failed, expired, canceled (as the API's cancel does).

    A message of one delivery takes its status from it in a first statement, which also
    locks every message named. The others are recomputed in a later statement, which then
    sees every delivery committed before the locks were granted: of two workers finishing
    the last rows of one message at once, the second sees the first's rows finished.
    """
    keys = sorted(set(keys))
    if not keys:
        return []
    if not conn.is_in_transaction():
        async with conn.transaction():
            return await refresh_messages(conn, keys, now, detail, throttle)
    extra = dict(detail) if detail is not None else None
    rows = await conn.fetch(
        queries.get("refresh_single_message_status"),
        [k[0] for k in keys],
        [k[1] for k in keys],
        now,
        extra,
    )
    transitions = [_transition(r) for r in rows if r["recipients_total"] is None]
    batched = sorted((r["account_id"], r["message_id"]) for r in rows if r["batched"])
    if batched:
        # A service `all` mass: aggregated over its batches (about 100 rows), never deferred.
        changed = await conn.fetch(
            queries.get("refresh_batched_message_status"),
            [k[0] for k in batched],
            [k[1] for k in batched],
            now,
            extra,
        )
        transitions += [_transition(r) for r in changed]
    sizes = {
        (r["account_id"], r["message_id"]): r["recipients_total"] for r in rows if not r["batched"]
    }
    multi = sorted(k for k, n in sizes.items() if n is not None)
    if throttle is not None:
        multi = await _not_deferred(conn, multi, sizes, now, throttle)
    if multi:
        changed = await conn.fetch(
            queries.get("refresh_message_status"),
            [k[0] for k in multi],
            [k[1] for k in multi],
            now,
            extra,
        )
        transitions += [_transition(r) for r in changed]
    return transitions


def _transition(r: asyncpg.Record) -> Transition:
    return Transition(r["account_id"], r["message_id"], r["status"], r["reason"], r["created_at"])


async def _not_deferred(
    conn: pool.Connection,
    keys: list[Key],
    sizes: Mapping[Key, int],
    now: dt.datetime,
    throttle: RefreshThrottle,
) -> list[Key]:
    """The messages to recompute now: the throttle puts off large ones recomputed recently
    that still have rows being sent or due."""
    recent = [k for k in keys if sizes[k] >= throttle.min_rows and throttle.recent(k, sizes[k])]
    if recent:
        busy = await conn.fetch(
            queries.get("find_messages_in_flight"),
            [k[0] for k in recent],
            [k[1] for k in recent],
            now,
        )
        deferred = {(r["account_id"], r["id"]) for r in busy}
        keys = [k for k in keys if k not in deferred]
    throttle.done(k for k in keys if sizes[k] >= throttle.min_rows)
    return keys
