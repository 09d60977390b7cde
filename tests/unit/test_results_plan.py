"""results.plan (scheduler.results) as a table, no database: the change each outcome of a
call makes to its rows, and what goes back (units) or is corrected (windows, followers)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo

import pytest

from gateway.domain import decide, kinds, send_outcomes, window
from gateway.store import delivery_rows, quota_units
from scheduler import options, results, work

NOW = dt.datetime(2026, 12, 3, 8, 0, tzinfo=dt.UTC)
TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
OPTS = options.Options(jitter=lambda: 1.0)  # the full backoff: deterministic
Out = send_outcomes.Outcome
SVC = delivery_rows.Account(
    "svc", kinds.AccountKind.SERVICE, window.RuleProfile.SEED, "wxsvc", "secret"
)
SUB = delivery_rows.Account(
    "sub", kinds.AccountKind.SUBSCRIPTION, window.RuleProfile.SEED, "wxsub", "secret"
)
UNIT = quota_units.Unit(quota_units.FOLLOWER_MONTH, "svc", "u1", dt.date(2026, 12, 1))
DAY = quota_units.Unit(quota_units.ACCOUNT_DAY, "sub", None, dt.date(2026, 12, 3))


def _message(account: str, type_: decide.MessageType, hours: float = 24) -> delivery_rows.Message:
    audience = {"openids": ["u1"]} if type_ == decide.MessageType.MASS else None
    expires = NOW + dt.timedelta(hours=hours)
    return delivery_rows.Message(account, 7, type_, audience, {}, None, "hold", None, expires, NOW)


def _call(
    channel: decide.Channel = decide.Channel.CUSTOM,
    quota: quota_units.Unit | None = None,
    account: delivery_rows.Account = SVC,
    hours: float = 24,
    resend: bool = False,
) -> work.Call:
    type_ = (
        decide.MessageType.CUSTOMER_SERVICE
        if channel == decide.Channel.CUSTOM
        else decide.MessageType.MASS
    )
    key = None if channel == decide.Channel.CUSTOM else "k"
    openid = None if channel == decide.Channel.SENDALL else "u1"
    item = delivery_rows.ClaimedDelivery(
        account.id, 1, 7, openid, "sending", channel.value, key, quota, 1
    )
    message = _message(account.id, type_, hours)
    return work.Call(account, message, channel, (item,), key, resend=resend, decided_at=NOW)


def _plan(call: work.Call, outcome: send_outcomes.Outcome) -> results.Plan:
    return results.plan([(call, [(call.items[0], outcome)])], NOW, TZ, OPTS)


@pytest.mark.parametrize(
    ("call", "outcome", "status", "reason", "pinned", "units_back"),
    [
        (_call(), Out("sent", msgid="m1"), "sent", None, False, False),
        (
            _call(),
            Out("failed", "wechat_error", errcode=40003),
            "failed",
            "wechat_error",
            False,
            False,
        ),
        (_call(quota=UNIT), Out("failed", "wechat_error"), "failed", "wechat_error", False, True),
        (_call(quota=UNIT), Out("retry", "retry_backoff"), "held", "retry_backoff", False, True),
        (
            _call(decide.Channel.MASS_SINGLE, UNIT),
            Out("retry", "rate_limited"),
            "held",
            "rate_limited",
            True,
            False,
        ),
        (
            _call(hours=0.0001),
            Out("retry", "retry_backoff"),
            "expired",
            "retry_backoff",
            False,
            False,
        ),
        (
            _call(),
            Out("stale", "window_closed", errcode=45047),
            "held",
            "window_closed",
            False,
            False,
        ),
        (_call(quota=UNIT), send_outcomes.RELEASED, "queued", None, False, True),
        (
            _call(decide.Channel.MASS_SINGLE, UNIT, resend=True),
            send_outcomes.RELEASED,
            "queued",
            None,
            True,
            False,
        ),
        # a unit never comes back when the call may have reached WeChat
        (
            _call(quota=UNIT),
            Out("retry", "retry_backoff", unknown=True),
            "held",
            "retry_backoff",
            False,
            False,
        ),
    ],
)
def test_the_change_of_each_outcome(
    call: work.Call,
    outcome: send_outcomes.Outcome,
    status: str,
    reason: str | None,
    pinned: bool,
    units_back: bool,
) -> None:
    planned = _plan(call, outcome)
    (change,) = planned.changes
    assert (change.status, change.reason) == (status, reason)
    assert (change.client_msg_id is not None) == pinned
    assert (("svc", 1) in planned.give_back) == units_back
    assert change.unknown == outcome.unknown
    assert change.leased_attempts == 1


def test_a_sent_call_records_its_msgid() -> None:
    planned = _plan(_call(), Out("sent", msgid="m1"))
    assert planned.sent == {("svc", 1): "m1"}
    assert planned.changes[0].wechat_msgid == "m1"


def test_a_retry_is_held_for_the_backoff() -> None:
    (change,) = _plan(_call(), Out("retry", "retry_backoff")).changes
    # attempt 1, full jitter drawn at 1.0: the whole first ceiling (backoff.BASE)
    assert change.release_at == NOW + dt.timedelta(seconds=OPTS.backoff_base)


@pytest.mark.parametrize(
    ("call", "errcode", "field", "value"),
    [
        (_call(), 45015, "close_windows", ("svc", "u1")),
        (_call(), 45047, "close_windows", ("svc", "u1")),
        (_call(), 43004, "unsubscribed", ("svc", "u1")),
        (_call(decide.Channel.SENDALL, DAY, SUB), 45028, "no_quota", ("sub", DAY.period)),
    ],
)
def test_stale_answers_correct_our_view(
    call: work.Call, errcode: int, field: str, value: tuple[str, object]
) -> None:
    planned = _plan(call, Out("stale", "x", errcode=errcode))
    assert getattr(planned, field) == {(call.account.id, 1): value}
    others = {"close_windows", "unsubscribed", "no_quota"} - {field}
    assert all(getattr(planned, f) == {} for f in others)
    assert dataclasses.replace(planned.changes[0], release_at=None).status == "held"
