"""SQL that restates a domain rule for speed, tied to the rule: each test fails when the
query and the domain constant drift apart (no database; the SQL text is parsed)."""

from __future__ import annotations

import datetime as dt
import re

from gateway.domain import kinds, window
from gateway.store import queries


def _hours(sql: str) -> list[dt.timedelta]:
    return [dt.timedelta(hours=int(h)) for h in re.findall(r"interval '(\d+) hours'", sql)]


def test_the_seed_fast_path_opens_the_seed_window() -> None:
    """inbound_ingest_seed writes `interacted_at + interval '48 hours'`: the seed profile's
    window (window.SEED_VALIDITY) that the general path's fold computes."""
    assert _hours(queries.get("inbound_ingest_seed")) == [window.SEED_VALIDITY]


def test_the_seed_window_is_unlimited_in_the_fast_path() -> None:
    """The seed window has no count (window_remaining NULL), as window.open_window gives."""
    sql = queries.get("inbound_ingest_seed")
    assert re.search(r"interacted_at \+ interval '\d+ hours', NULL,", sql)
    at = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    opened = window.open_window(
        window.Window(),
        window.Interaction.MESSAGE,
        at,
        window.RuleProfile.SEED,
        kinds.AccountKind.SERVICE,
    )
    assert opened == window.Window(at + window.SEED_VALIDITY, None)
