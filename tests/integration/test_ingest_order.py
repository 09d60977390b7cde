"""Follower state follows `CreateTime`, not arrival (SPEC 2.2), on both ingest paths: an event
older than the follower's latest applied subscribe, unsubscribe or message does not undo it,
and is still stored."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Awaitable, Callable, Sequence

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.domain import kinds, window
from gateway.store import inbound
from gateway.store import pool as pool_mod

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
KINDS = {
    "text": ("text", None),
    "subscribe": ("event", "subscribe"),
    "unsubscribe": ("event", "unsubscribe"),
    "click": ("event", "CLICK"),
    "location": ("event", "LOCATION"),
}
Path = Callable[[pool_mod.Connection, Sequence[inbound.EventRecord]], Awaitable[object]]
PATHS: dict[str, Path] = {"seed": inbound._ingest_seed, "domain": inbound._ingest_general}


def event(n: int, kind: str, minute: int, openid: str = "o1") -> inbound.EventRecord:
    msg_type, name = KINDS[kind]
    at = T0 + dt.timedelta(minutes=minute)
    return inbound.EventRecord(
        account_id="acme",
        kind=kinds.AccountKind.SERVICE,
        profile=window.RuleProfile.SEED,
        dedupe_key=f"k{n}",
        openid=openid,
        msg_type=msg_type,
        event=name,
        event_key="menu" if name == "CLICK" else ("" if name else None),
        msg_id=None if name else n,
        create_time=at,
        received_at=at + dt.timedelta(hours=1),  # stored later than it happened: a retry
        fields={"n": str(n)},
        scene=None,
    )


async def ingest(
    pool: asyncpg.Pool, path: str, batches: Sequence[Sequence[inbound.EventRecord]]
) -> None:
    for batch in batches:
        async with pool.acquire() as conn:
            await PATHS[path](conn, batch)


async def subscribed(pool: asyncpg.Pool, openid: str = "o1") -> bool:
    value = await pool.fetchval(
        "SELECT subscribed FROM followers WHERE account_id = 'acme' AND openid = $1", openid
    )
    assert isinstance(value, bool)
    return value


@pytest.fixture(autouse=True)
async def account(pool: asyncpg.Pool) -> None:
    await pool.execute(
        "INSERT INTO accounts (id, kind, app_id, app_secret, token, oauth_signing_key)"
        " VALUES ('acme', 'service', 'wx1', 's', 't', 'k')"
    )


@pytest.mark.parametrize("together", [False, True], ids=["two_batches", "one_batch"])
@pytest.mark.parametrize("path", ["seed", "domain"])
async def test_a_retried_unsubscribe_older_than_a_resubscribe_leaves_the_follower_subscribed(
    pool: asyncpg.Pool, path: str, together: bool
) -> None:
    # Subscribed at 0; unsubscribed at 10 (answered 503); re-subscribed at 20; then the
    # unsubscribe's retry arrives.
    first = [event(1, "subscribe", 0)]
    later = [event(3, "subscribe", 20), event(2, "unsubscribe", 10)]
    await ingest(pool, path, [first, later] if together else [first, [later[0]], [later[1]]])
    assert await subscribed(pool) is True
    assert await pool.fetchval("SELECT count(*) FROM inbound_events") == 3  # still stored
    row = await pool.fetchrow("SELECT subscribed_at, unsubscribed_at FROM followers")
    assert row is not None
    assert (row["subscribed_at"], row["unsubscribed_at"]) == (
        T0 + dt.timedelta(minutes=20),
        T0 + dt.timedelta(minutes=10),
    )


@pytest.mark.parametrize("together", [False, True], ids=["two_batches", "one_batch"])
@pytest.mark.parametrize("path", ["seed", "domain"])
@pytest.mark.parametrize("late", ["subscribe", "text", "click"])
async def test_a_late_subscribe_or_message_older_than_an_unsubscribe_leaves_it_unsubscribed(
    pool: asyncpg.Pool, path: str, together: bool, late: str
) -> None:
    first = [event(1, "subscribe", 0)]
    later = [event(3, "unsubscribe", 20), event(2, late, 10)]
    await ingest(pool, path, [first, later] if together else [first, [later[0]], [later[1]]])
    assert await subscribed(pool) is False
    assert await pool.fetchval("SELECT count(*) FROM inbound_events") == 3


async def test_a_later_message_still_proves_a_resubscription(pool: asyncpg.Pool) -> None:
    await ingest(pool, "seed", [[event(1, "unsubscribe", 10)], [event(2, "text", 30)]])
    assert await subscribed(pool) is True


def _truth(events: Sequence[tuple[str, int]]) -> bool | None:
    """The subscription the event with the latest time says, if any says one."""
    relevant = [(minute, kind) for kind, minute in events if kind != "location"]
    if not relevant:
        return None
    return max(relevant)[1] != "unsubscribe"


# Distinct minutes, so the latest event is well defined whatever the arrival order.
histories = st.lists(
    st.tuples(st.sampled_from(sorted(KINDS)), st.integers(0, 10_000)),
    min_size=1,
    max_size=7,
    unique_by=lambda e: e[1],
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=histories, data=st.data())
async def test_both_paths_agree_with_create_time_under_any_arrival_order(
    pool: asyncpg.Pool, history: list[tuple[str, int]], data: st.DataObject
) -> None:
    arrival = data.draw(st.permutations(list(enumerate(history))), label="arrival")
    cuts = data.draw(
        st.lists(st.integers(1, max(1, len(arrival) - 1)), max_size=3, unique=True),
        label="batch cuts",
    )
    bounds = [0, *sorted(c for c in cuts if c < len(arrival)), len(arrival)]
    batches = [
        [event(n, kind, minute) for n, (kind, minute) in arrival[a:b]]
        for a, b in itertools.pairwise(bounds)
        if b > a
    ]
    states = {}
    for path in PATHS:
        await pool.execute("TRUNCATE followers, inbound_events")
        await ingest(pool, path, batches)
        row = await pool.fetchrow(
            "SELECT subscribed, subscribed_at, unsubscribed_at, subscription_at FROM followers"
        )
        states[path] = None if row is None else dict(row)
    assert states["seed"] == states["domain"]
    truth = _truth(history)
    if truth is not None:
        assert states["seed"] is not None
        assert states["seed"]["subscribed"] is truth
