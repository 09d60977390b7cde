"""The followers list's `window=open` filter (api_follower_list) restates window.is_open in
SQL: its predicate, cut from the query text, is evaluated by Postgres over a table of windows
and must agree with the domain (fails when they drift)."""

from __future__ import annotations

import datetime as dt
import re

import asyncpg
import pytest

from gateway.domain import window
from gateway.store import queries

NOW = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
S = dt.timedelta(seconds=1)
WINDOWS = [
    window.Window(None, None),
    window.Window(None, 3),
    window.Window(NOW + S, None),
    window.Window(NOW + S, 1),
    window.Window(NOW + S, 0),
    window.Window(NOW, None),  # the end is exclusive
    window.Window(NOW - S, None),
    window.Window(NOW - S, 5),
]


def _predicate() -> str:
    """The open-window test of api_follower_list: `coalesce(f.window_ends_at > $4 ...)`."""
    sql = queries.get("api_follower_list")
    start = sql.index("coalesce(f.window_ends_at")
    depth = 0
    for end in range(start, len(sql)):
        depth += {"(": 1, ")": -1}.get(sql[end], 0)
        if depth == 0 and sql[end] == ")":
            return sql[start : end + 1]
    raise AssertionError("unbalanced predicate")


@pytest.mark.parametrize("w", WINDOWS)
async def test_the_sql_open_window_test_is_the_domain_one(
    pool: asyncpg.Pool, w: window.Window
) -> None:
    predicate = re.sub(r"\$4\b", "$1", _predicate())
    assert "$" not in predicate.replace("$1", "")
    sql = (
        f"SELECT {predicate} FROM (SELECT $2::timestamptz AS window_ends_at,"
        " $3::integer AS window_remaining) f"
    )
    assert await pool.fetchval(sql, NOW, w.ends_at, w.remaining) is window.is_open(w, NOW)
