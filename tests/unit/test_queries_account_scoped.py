"""Every named query is scoped to accounts (so the schema can be distributed on Citus by
`account_id`), or says why not: a query that touches a table must filter or write by
`account_id` (the `accounts` table by its `id`), or carry a `-- cross-account: <why>` line
(maintenance sweeps, and the global token and session tables). No database: the SQL text of
gateway/store/queries/*.sql is read."""

from __future__ import annotations

import re

import pytest

from gateway.store import queries

MARKER = re.compile(r"^--\s*cross-account:\s*\S", re.MULTILINE)
TABLES = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE)\s+(?!unnest\b)([a-z_][a-z0-9_]*)\b(?!\s*\()")
SCOPED = [
    # account_id compared with a parameter: = $1, = ANY($1::text[]), IN ($1, $2)
    re.compile(r"\baccount_id\s*(?:=\s*\$\d|=\s*ANY\s*\(\s*\$\d|IN\s*\(\s*\$\d)", re.I),
    # a row comparison that leads with account_id, against parameters:
    # (d.account_id, d.id) IN (SELECT * FROM unnest($1::text[], $2::bigint[]))
    re.compile(
        r"\(\s*(?:\w+\.)?account_id\s*,[^()]*\)\s*(?:=|\bIN\b)\s*\(\s*(?:\$\d|SELECT\s+\*\s+FROM\s+unnest\s*\(\s*\$\d)",
        re.I,
    ),
    # an INSERT whose rows carry their account_id
    re.compile(r"\bINSERT\s+INTO\s+\w+(?:\s+AS\s+\w+)?\s*\([^)]*\baccount_id\b", re.IGNORECASE),
]
# Rows of parameter arrays (FROM unnest($1::text[], ...) AS w (a, ...)) joined by account_id.
UNNEST = re.compile(r"\bunnest\s*\(\s*\$\d", re.IGNORECASE)
BY_INPUT_ROW = re.compile(r"\baccount_id\s*=\s*\w+\.\w+\b", re.IGNORECASE)
# The accounts table is keyed by `id`: that is the account id.
ACCOUNTS_BY_ID = re.compile(r"\b(?:\w+\.)?id\s*=\s*(?:\$\d|ANY\b)", re.IGNORECASE)


def _code(sql: str) -> str:
    """The SQL without its comment lines."""
    return "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))


def unscoped(sql: str) -> str | None:
    """Why `sql` is not account-scoped, or None when it is (or says why it need not be)."""
    if MARKER.search(sql):
        return None
    code = _code(sql)
    tables = set(TABLES.findall(code)) - {"s", "w", "ids"}
    if not tables:
        return None  # no table: notifications, advisory locks, our functions taking the id
    if any(p.search(code) for p in SCOPED):
        return None
    if UNNEST.search(code) and BY_INPUT_ROW.search(code):
        return None  # keyed by the account ids of the parameter arrays' rows
    if "accounts" in tables and ACCOUNTS_BY_ID.search(code):
        return None
    return f"touches {sorted(tables)} with no account_id filter and no cross-account marker"


def _all() -> dict[str, str]:
    return {name: queries.get(name) for name in queries.names()}


@pytest.mark.parametrize("name", sorted(queries.names()))
def test_every_query_is_scoped_by_account_or_marked(name: str) -> None:
    assert unscoped(queries.get(name)) is None, name


@pytest.mark.parametrize(
    ("sql", "scoped"),
    [
        ("SELECT * FROM deliveries WHERE account_id = $1 AND id = $2", True),
        ("SELECT * FROM deliveries d WHERE d.account_id = ANY($1::text[])", True),
        (
            "UPDATE deliveries SET x = 1 WHERE (account_id, id) IN (SELECT * FROM unnest($1, $2))",
            True,
        ),
        (
            "UPDATE deliveries d SET x = 1 FROM unnest($1::text[]) AS w (a)"
            " WHERE d.account_id = w.a",
            True,
        ),
        # a join on account_id inside a sweep over every account is not a filter
        (
            "DELETE FROM messages m USING (SELECT account_id, id FROM messages LIMIT $1) old"
            " WHERE m.account_id = old.account_id AND m.id = old.id",
            False,
        ),
        ("INSERT INTO menus AS m (account_id, body) VALUES ($1, $2)", True),
        ("SELECT kind FROM accounts WHERE id = $1", True),
        ("SELECT pg_notify('wxgate_release', $1::text)", True),
        ("SELECT * FROM deliveries WHERE status = 'sending'", False),
        ("SELECT count(*) FROM webhook_endpoints WHERE disabled", False),
        ("DELETE FROM follower_mass_usage WHERE period < $1", False),
        # a comment that names account_id does not scope the query
        ("-- by account_id = $1\nSELECT * FROM deliveries WHERE status = 'x'", False),
        ("-- cross-account: a sweep over every account\nDELETE FROM t WHERE at < $1", True),
        ("SELECT * FROM accounts", False),
        ("SELECT a.id FROM access_tokens t JOIN accounts a ON a.id = t.account_id", False),
    ],
)
def test_the_check_itself(sql: str, scoped: bool) -> None:
    assert (unscoped(sql) is None) is scoped


def test_the_queries_are_all_read() -> None:
    """The parametrized test above sees every file's queries (a loader change that dropped a
    file would make it pass vacuously)."""
    found = _all()
    assert len(found) > 150
    assert {"inbound_ingest_seed", "wake_after_ingest", "menu_put"} <= set(found)
