"""The one-statement seed path and the general (domain-folded) path store the same state."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.domain import kinds, window
from gateway.store import inbound

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
OPENIDS = ["oA", "oB"]
EVENTS: list[tuple[str, str | None, str | None]] = [
    ("text", None, None),
    ("event", "subscribe", ""),
    ("event", "subscribe", "qrscene_fair"),
    ("event", "unsubscribe", ""),
    ("event", "SCAN", "booth"),
    ("event", "CLICK", "menu"),
    ("event", "LOCATION", None),
    ("event", "VIEW", "https://x"),
]
COLUMNS = (
    "subscribed, subscribed_at, unsubscribed_at, last_interaction_at, last_interaction,"
    " window_ends_at, window_remaining, first_qr_scene, latest_qr_scene, subscription_at"
)


def record(
    n: int, openid: str, kind: int, offset: int, profile: window.RuleProfile
) -> inbound.EventRecord:
    msg_type, event, key = EVENTS[kind]
    at = T0 + dt.timedelta(minutes=offset)
    scene = None
    if event == "subscribe" and key and key.startswith("qrscene_"):
        scene = key.removeprefix("qrscene_")
    elif event == "SCAN":
        scene = key
    return inbound.EventRecord(
        account_id="acme",
        kind=kinds.AccountKind.SERVICE,
        profile=profile,
        dedupe_key=f"k{n}",
        openid=openid,
        msg_type=msg_type,
        event=event,
        event_key=key,
        msg_id=n if event is None else None,
        create_time=at,
        received_at=at,
        fields={"n": str(n)},
        scene=scene,
    )


async def state(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    rows = await pool.fetch(f"SELECT openid, {COLUMNS} FROM followers ORDER BY openid")
    return [dict(r) for r in rows]


batches = st.lists(
    st.lists(
        st.tuples(st.sampled_from(OPENIDS), st.integers(0, len(EVENTS) - 1), st.integers(0, 4000)),
        min_size=1,
        max_size=6,
    ),
    min_size=1,
    max_size=4,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=batches)
async def test_seed_statement_matches_the_domain_fold(
    pool: asyncpg.Pool, batches: list[Any]
) -> None:
    results = {}
    for name, profile_path in (("sql", True), ("domain", False)):
        await pool.execute("TRUNCATE followers, inbound_events")
        n = 0
        for batch in batches:
            records = []
            for openid, kind, offset in batch:
                n += 1
                records.append(record(n, openid, kind, offset, window.RuleProfile.SEED))
            async with pool.acquire() as conn:
                if profile_path:
                    await inbound._ingest_seed(conn, records)
                else:
                    await inbound._ingest_general(conn, records)
        results[name] = await state(pool)
    assert results["sql"] == results["domain"]


@pytest.fixture(autouse=True)
async def account(pool: asyncpg.Pool) -> None:
    await pool.execute(
        "INSERT INTO accounts (id, kind, app_id, app_secret, token, oauth_signing_key)"
        " VALUES ('acme', 'service', 'wx1', 's', 't', 'k')"
    )
