"""results.plan for calls put back unmade (released): the window count and the quota unit
the claim took go back; a call that was made keeps them."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from gateway.domain import decide, kinds, send_outcomes, window
from gateway.store import delivery_rows, quota_units
from scheduler import options, results, work

NOW = dt.datetime(2026, 12, 3, 8, 0, tzinfo=dt.UTC)
TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
ACCOUNT = delivery_rows.Account(
    "sub", kinds.AccountKind.SERVICE, window.RuleProfile.WECHAT_2023, "wxsub", "secret"
)
MESSAGE = delivery_rows.Message(
    "sub",
    7,
    decide.MessageType.CUSTOMER_SERVICE,
    None,
    {"msgtype": "text", "text": {"content": "hi"}},
    None,
    "reach",
    None,
    NOW + dt.timedelta(days=1),
    NOW,
)
COUNT = delivery_rows.WindowCount("sub", "u1", NOW + dt.timedelta(hours=40), NOW)
UNIT = quota_units.Unit(quota_units.FOLLOWER_MONTH, "sub", "u1", dt.date(2026, 12, 1))


def _call(window_count: delivery_rows.WindowCount | None) -> work.Call:
    claimed = delivery_rows.ClaimedDelivery(
        "sub", 1, 7, "u1", "sending", "custom", None, UNIT, 1, window=window_count
    )
    return work.Call(ACCOUNT, MESSAGE, decide.Channel.CUSTOM, (claimed,), None, decided_at=NOW)


def _plan(call: work.Call, outcome: send_outcomes.Outcome) -> results.Plan:
    return results.plan([(call, [(call.items[0], outcome)])], NOW, TZ, options.Options())


def test_a_released_call_gives_back_its_window_count_and_its_unit() -> None:
    planned = _plan(_call(COUNT), send_outcomes.RELEASED)
    assert planned.windows_back == {("sub", 1): COUNT}
    assert planned.give_back == {("sub", 1): UNIT}
    (change,) = planned.changes
    assert (change.status, change.attempt, change.quota_kind) == ("queued", -1, None)


def test_a_call_that_was_made_keeps_its_window_count() -> None:
    for outcome in (
        send_outcomes.Outcome("sent", msgid="1"),
        send_outcomes.Outcome("retry", "retry_backoff", unknown=True),
        send_outcomes.Outcome("stale", "window_closed", errcode=45047),
    ):
        assert _plan(_call(COUNT), outcome).windows_back == {}


def test_a_released_call_without_a_counted_window_gives_nothing_back_to_windows() -> None:
    assert _plan(_call(None), send_outcomes.RELEASED).windows_back == {}
