"""The Planner (scheduler.planner) on frozen store values, no database: each row decided on
the state the earlier rows of the claim left, sends grouped into calls with their keys."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from gateway.domain import decide, kinds, periods, window
from gateway.store import delivery_rows, quota_units
from scheduler import planner, work

NOW = dt.datetime(2026, 12, 3, 8, 0, tzinfo=dt.UTC)
TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
MONTH = periods.month_key(NOW, TZ)
DAY = periods.day_key(NOW, TZ)
SVC = delivery_rows.Account(
    "svc", kinds.AccountKind.SERVICE, window.RuleProfile.SEED, "wxsvc", "secret"
)
SUB = delivery_rows.Account(
    "sub", kinds.AccountKind.SUBSCRIPTION, window.RuleProfile.SEED, "wxsub", "secret"
)
ACCOUNTS = {"svc": SVC, "sub": SUB}
OPEN = window.Window(NOW + dt.timedelta(hours=1), None)
CLOSED = window.Window(NOW - dt.timedelta(hours=1), None)


def _message(
    account: str,
    id_: int,
    type_: decide.MessageType,
    audience: dict[str, object] | None = None,
    outside: str = "hold",
    expires_in: dt.timedelta = dt.timedelta(days=1),
) -> delivery_rows.Message:
    return delivery_rows.Message(
        account, id_, type_, audience, {"text": "hi"}, None, outside, None, NOW + expires_in, NOW
    )


CS = _message("svc", 1, decide.MessageType.CUSTOMER_SERVICE)
CS_REACH = _message("svc", 2, decide.MessageType.CUSTOMER_SERVICE, outside="reach")
MASS = _message("svc", 3, decide.MessageType.MASS, {"openids": ["u1", "u2", "u3"]})
TEMPLATE = _message("svc", 4, decide.MessageType.TEMPLATE)
EXPIRED = _message("svc", 5, decide.MessageType.CUSTOMER_SERVICE, expires_in=-dt.timedelta(1))
SENDALL = _message("sub", 6, decide.MessageType.MASS, {"tag_id": 2})
MESSAGES = {(m.account_id, m.id): m for m in (CS, CS_REACH, MASS, TEMPLATE, EXPIRED, SENDALL)}


def _row(
    message: delivery_rows.Message, id_: int, openid: str | None
) -> delivery_rows.ClaimedDelivery:
    return delivery_rows.ClaimedDelivery(
        message.account_id, id_, message.id, openid, "queued", None, None, None, 0
    )


def _follower(
    openid: str, w: window.Window = OPEN, subscribed: bool = True, account: str = "svc"
) -> delivery_rows.LockedFollower:
    return delivery_rows.LockedFollower(account, openid, True, False, subscribed, w)


def _planner(
    followers: list[delivery_rows.LockedFollower],
    follower_used: dict[tuple[str, str, dt.date], int] | None = None,
    account_used: dict[tuple[str, dt.date], int] | None = None,
) -> planner.Planner:
    return planner.Planner(
        NOW,
        TZ,
        ACCOUNTS,
        MESSAGES,
        {(f.account_id, f.openid): f for f in followers},
        follower_used or {},
        account_used or {},
    )


@pytest.mark.parametrize(
    ("message", "follower", "used", "status", "reason"),
    [
        (CS, _follower("u1"), 0, "sending", None),
        (CS, _follower("u1", CLOSED), 0, "held", "window_closed"),
        (CS, _follower("u1", subscribed=False), 0, "held", "not_subscribed"),
        (CS_REACH, _follower("u1", CLOSED), 0, "sending", None),
        (CS_REACH, _follower("u1", CLOSED), 4, "held", "mass_quota_exhausted"),
        (MASS, _follower("u1"), 3, "sending", None),
        # held to next month, past expires_at: expires now, with the reason
        (MASS, _follower("u1"), 4, "expired", "mass_quota_exhausted"),
        (EXPIRED, _follower("u1"), 0, "expired", "expired"),
    ],
)
def test_one_row_is_decided_by_the_domain(
    message: delivery_rows.Message,
    follower: delivery_rows.LockedFollower,
    used: int,
    status: str,
    reason: str | None,
) -> None:
    plan = _planner([follower], {("svc", "u1", MONTH): used})
    plan.consider(_row(message, 10, "u1"))
    plan.calls(NOW + dt.timedelta(minutes=1))
    ((change),) = plan.changes
    assert (change.status, change.reason) == (status, reason)


def test_a_busy_follower_is_skipped_and_a_missing_one_is_held_and_looked_at_again() -> None:
    busy = delivery_rows.LockedFollower("svc", "u1", False, True)
    missing = delivery_rows.LockedFollower("svc", "u2", False, False)
    plan = _planner([busy, missing])
    plan.consider(_row(CS, 10, "u1"))
    plan.consider(_row(CS, 11, "u2"))
    assert plan.skipped == 1
    ((change),) = plan.changes
    assert (change.id, change.status, change.wait_for) == (11, "held", "subscribe")
    assert plan.unseen == [("svc", 11)]


def test_earlier_rows_of_the_claim_use_up_the_month() -> None:
    plan = _planner([_follower("u1")], {("svc", "u1", MONTH): 3})
    plan.consider(_row(MASS, 10, "u1"))
    plan.consider(_row(CS_REACH, 11, "u1"))  # the window is open: no unit needed
    plan.consider(_row(_message("svc", 3, decide.MessageType.MASS, {"openids": ["u1"]}), 12, "u1"))
    assert plan.units() == [quota_units.Unit(quota_units.FOLLOWER_MONTH, "svc", "u1", MONTH)]
    assert [c.reason for c in plan.changes] == ["mass_quota_exhausted"]


def test_mass_rows_go_out_in_one_openid_list_call_and_a_single_one_through_a_tag() -> None:
    plan = _planner([_follower(u) for u in ("u1", "u2", "u3")])
    for i, openid in enumerate(("u1", "u2", "u3")):
        plan.consider(_row(MASS, 10 + i, openid))
    (call,) = plan.calls(NOW + dt.timedelta(minutes=1))
    assert call.channel == decide.Channel.MASS_OPENIDS
    assert [i.id for i in call.items] == [10, 11, 12]
    assert call.key is not None and call.key.startswith("wxgate-m3-")
    assert {i.client_msg_id for i in call.items} == {call.key}
    single = _planner([_follower("u1")])
    single.consider(_row(MASS, 10, "u1"))
    (call,) = single.calls(NOW + dt.timedelta(minutes=1))
    assert call.channel == decide.Channel.MASS_SINGLE
    assert call.key == work.delivery_key("svc", 10)


def test_a_template_call_carries_the_delivery_key_and_a_sendall_the_account_day() -> None:
    plan = _planner([_follower("u1")])
    plan.consider(_row(TEMPLATE, 10, "u1"))
    plan.consider(_row(SENDALL, 11, None))
    calls = plan.calls(NOW + dt.timedelta(minutes=1))
    assert [(c.channel, c.key) for c in calls] == [
        (decide.Channel.TEMPLATE, work.delivery_key("svc", 10)),
        (decide.Channel.SENDALL, work.delivery_key("sub", 11)),
    ]
    assert plan.units() == [quota_units.Unit(quota_units.ACCOUNT_DAY, "sub", None, DAY)]
    assert [c.attempt for c in plan.changes] == [1, 1]


def test_refused_units_turn_their_sends_into_the_decision_of_an_exhausted_quota() -> None:
    plan = _planner([_follower("u1")])
    plan.consider(_row(MASS, 10, "u1"))
    plan.refuse(set(plan.units()))
    assert plan.calls(NOW + dt.timedelta(minutes=1)) == []
    ((change),) = plan.changes
    assert (change.status, change.reason) == ("expired", "mass_quota_exhausted")


def test_a_counted_window_is_consumed_and_named() -> None:
    counted = window.Window(NOW + dt.timedelta(hours=40), 2)
    follower = delivery_rows.LockedFollower("svc", "u1", True, False, True, counted, NOW)
    plan = _planner([follower])
    plan.consider(_row(CS, 10, "u1"))
    (call,) = plan.calls(NOW + dt.timedelta(minutes=1))
    assert call.items[0].window == delivery_rows.WindowCount("svc", "u1", counted.ends_at, NOW)
    assert plan.windows() == {("svc", "u1"): 1}
