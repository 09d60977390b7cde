"""What WeChat's answers to a send mean (gateway.domain.send_outcomes), and the scheduler's
dispatch of call errors to them (scheduler.sender.classify)."""

from __future__ import annotations

import pytest

from gateway.domain import kinds, send_outcomes
from gateway.wechat import client as wx
from scheduler import sender

Out = send_outcomes.Outcome
SERVICE = kinds.AccountKind.SERVICE
SUBSCRIPTION = kinds.AccountKind.SUBSCRIPTION


@pytest.mark.parametrize(
    ("errcode", "kind", "stale_token", "expected"),
    [
        (-1, SERVICE, False, Out("retry", "retry_backoff", errcode=-1, errmsg="e")),
        (45009, SERVICE, False, Out("retry", "api_quota_exhausted", errcode=45009, errmsg="e")),
        (45011, SERVICE, False, Out("retry", "rate_limited", errcode=45011, errmsg="e")),
        (45066, SERVICE, False, Out("retry", "rate_limited", errcode=45066, errmsg="e")),
        (45056, SERVICE, False, Out("retry", "retry_backoff", errcode=45056, errmsg="e")),
        (40001, SERVICE, True, Out("retry", "retry_backoff", errcode=40001, errmsg="e")),
        (42001, SUBSCRIPTION, True, Out("retry", "retry_backoff", errcode=42001, errmsg="e")),
        (45015, SERVICE, False, Out("stale", "window_closed", errcode=45015, errmsg="e")),
        (45047, SERVICE, False, Out("stale", "window_closed", errcode=45047, errmsg="e")),
        (43004, SERVICE, False, Out("stale", "not_subscribed", errcode=43004, errmsg="e")),
        (45028, SUBSCRIPTION, False, Out("stale", "daily_mass_used", errcode=45028, errmsg="e")),
        (45028, SERVICE, False, Out("stale", "mass_quota_exhausted", errcode=45028, errmsg="e")),
        (40003, SERVICE, False, Out("failed", "wechat_error", errcode=40003, errmsg="e")),
        (47001, SERVICE, False, Out("failed", "wechat_error", errcode=47001, errmsg="e")),
        (40001, SERVICE, False, Out("failed", "wechat_error", errcode=40001, errmsg="e")),
    ],
)
def test_classify_errcode(
    errcode: int, kind: kinds.AccountKind, stale_token: bool, expected: send_outcomes.Outcome
) -> None:
    assert send_outcomes.classify(errcode, "e", kind, stale_token=stale_token) == expected


def test_no_answer_is_a_retry_that_may_have_arrived() -> None:
    assert send_outcomes.transport_failed("timeout") == Out(
        "retry", "retry_backoff", errmsg="timeout", unknown=True
    )
    assert send_outcomes.token_unavailable(40013, "no token") == Out(
        "retry", "retry_backoff", errcode=40013, errmsg="no token"
    )


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            wx.WeChatError(45047, "out of window"),
            Out("stale", "window_closed", errcode=45047, errmsg="out of window"),
        ),
        (
            wx.WeChatError(40001, "stale"),
            Out("retry", "retry_backoff", errcode=40001, errmsg="stale"),
        ),
        (wx.TransportError("reset"), Out("retry", "retry_backoff", errmsg="reset", unknown=True)),
    ],
)
def test_sender_classify_dispatches_on_the_error(
    error: Exception, expected: send_outcomes.Outcome
) -> None:
    assert sender.classify(error, SERVICE) == expected


def test_a_token_failure_is_a_retry_with_its_errcode() -> None:
    outcome = sender.classify(sender.TokenUnavailable(wx.WeChatError(40013, "bad")), SERVICE)
    assert (outcome.kind, outcome.reason, outcome.errcode, outcome.unknown) == (
        "retry",
        "retry_backoff",
        40013,
        False,
    )


def test_anything_else_is_not_classified() -> None:
    with pytest.raises(TypeError):
        sender.classify(ValueError("x"), SERVICE)
