"""The batch path's SQL restates two domain rules for speed (issue 15 item 3): the unit limit
of a follower's month and "only subscribed followers get a mass message". Each test fails
when the query and the pure core drift apart (no database; the SQL text is parsed)."""

from __future__ import annotations

import datetime as dt
import operator
import re
import zoneinfo

import pytest

from gateway.domain import decide, kinds, periods, window
from gateway.store import mass_expansion, queries

NOW = dt.datetime(2026, 3, 10, 4, tzinfo=dt.UTC)
TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
ACCOUNT = decide.Account(kinds.AccountKind.SERVICE, window.RuleProfile.SEED, TZ)
MESSAGE = decide.Message(
    type=decide.MessageType.MASS,
    audience=decide.Audience.ALL,
    expires_at=NOW + dt.timedelta(days=60),
)
COMPARE = {"<": operator.lt, "<=": operator.le}


def _sends(subscribed: bool, used: int) -> bool:
    follower = decide.Follower(subscribed, window.Window())
    usage = decide.Usage(follower_mass_used=used)
    return isinstance(decide.decide(ACCOUNT, follower, MESSAGE, usage, NOW), decide.Send)


@pytest.mark.parametrize(
    "name", ["expand_mass_batches", "expand_mass_batches_upsert", "rebase_batch_units"]
)
def test_a_unit_is_taken_exactly_when_decide_would_send(name: str) -> None:
    """The upsert takes a unit while `used < $limit`, the limit passed being the service
    month's (mass_expansion.UNIT_LIMIT); decide sends exactly below periods.MASS_LIMIT."""
    assert mass_expansion.UNIT_LIMIT == periods.MASS_LIMIT[kinds.AccountKind.SERVICE]
    found = re.findall(r"\bu\.used (<=?) \$\d", queries.get(name))
    assert len(found) == 1, found
    takes = COMPARE[found[0]]
    for used in range(mass_expansion.UNIT_LIMIT + 2):
        assert takes(used, mass_expansion.UNIT_LIMIT) == _sends(True, used), used


@pytest.mark.parametrize("name", ["expand_mass_batches", "expand_mass_batches_upsert"])
def test_the_audience_is_the_followers_decide_would_send_to(name: str) -> None:
    """The expansion's audience is the subscribed followers (`f.subscribed`); decide sends a
    mass message to a subscribed follower and holds it for one who is not."""
    sql = queries.get(name)
    audience = re.search(r"audience AS MATERIALIZED \((.*?)\), (?:took|bumped)", sql, re.S)
    assert audience is not None
    where = audience.group(1).split("WHERE", 1)[1]
    assert re.fullmatch(
        r"\s*f\.account_id = \$1 AND f\.subscribed\s+ORDER BY f\.openid\s*", where
    ), where
    assert _sends(True, 0) and not _sends(False, 0)
