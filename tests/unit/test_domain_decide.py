"""decide() and check_enqueue(): the per-recipient decision table (SPEC 1.4)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Literal

import pytest

from gateway.domain import decide, kinds, window

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
UTC = zoneinfo.ZoneInfo("UTC")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
SERVICE = kinds.AccountKind.SERVICE
SUBSCRIPTION = kinds.AccountKind.SUBSCRIPTION
C = kinds.Capability
R = decide.HoldReason
CH = decide.Channel
MT = decide.MessageType
AU = decide.Audience
INTERACTION = decide.WaitFor.INTERACTION
SUBSCRIBE = decide.WaitFor.SUBSCRIBE

H = dt.timedelta(hours=1)
S = dt.timedelta(seconds=1)
NOW = dt.datetime(2026, 3, 10, 4, 0, tzinfo=dt.UTC)  # 12:00 in Shanghai
EXP = NOW + dt.timedelta(days=7)  # the default TTL
LATE = NOW + dt.timedelta(days=60)
NEXT_MONTH = dt.datetime(2026, 3, 31, 16, 0, tzinfo=dt.UTC)  # 2026-04-01 00:00 Shanghai
NEXT_DAY = dt.datetime(2026, 3, 10, 16, 0, tzinfo=dt.UTC)  # 2026-03-11 00:00 Shanghai


def t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def acct(
    kind: kinds.AccountKind,
    tz: zoneinfo.ZoneInfo = SHANGHAI,
    profile: window.RuleProfile = window.RuleProfile.SEED,
) -> decide.Account:
    return decide.Account(kind, profile, tz)


def fol(
    ends_at: dt.datetime | None, remaining: int | None = None, subscribed: bool = True
) -> decide.Follower:
    return decide.Follower(subscribed, window.Window(ends_at, remaining))


OPEN = fol(NOW + H)
CLOSED = fol(NOW - H)
UNSUBSCRIBED = fol(NOW + H, subscribed=False)
NEVER = fol(None)  # subscribed, window never opened


def cs(
    outside: Literal["hold", "reach"] = "hold",
    not_before: dt.datetime | None = None,
    expires_at: dt.datetime = EXP,
) -> decide.Message:
    return decide.Message(
        type=MT.CUSTOMER_SERVICE,
        outside_window=outside,
        not_before=not_before,
        expires_at=expires_at,
    )


def tpl(expires_at: dt.datetime = EXP) -> decide.Message:
    return decide.Message(type=MT.TEMPLATE, expires_at=expires_at)


def mass(audience: decide.Audience, expires_at: dt.datetime = EXP) -> decide.Message:
    return decide.Message(type=MT.MASS, audience=audience, expires_at=expires_at)


def used(follower: int = 0, account: int = 0) -> decide.Usage:
    return decide.Usage(follower_mass_used=follower, account_mass_used=account)


def rej(cap: kinds.Capability) -> decide.Reject:
    return decide.Reject(cap, kinds.refusal(SUBSCRIPTION, cap))


REACH_SEND = decide.Send(CH.MASS_SINGLE, 1, "follower_month")
MASS_SEND = decide.Send(CH.MASS_OPENIDS, 1, "follower_month")
DAILY_SEND = decide.Send(CH.SENDALL, 1, "account_day")
CUSTOM = decide.Send(CH.CUSTOM, 0, None)
NOT_SUBSCRIBED = decide.Hold(R.NOT_SUBSCRIBED, None, SUBSCRIBE)
WINDOW_CLOSED = decide.Hold(R.WINDOW_CLOSED, None, INTERACTION)
TEMPLATE = decide.Send(CH.TEMPLATE, 0, None)

Case = tuple[
    str,
    decide.Account,
    decide.Follower | None,
    decide.Message,
    decide.Usage,
    dt.datetime,
    decide.Decision,
]

# fmt: off
CASES: list[Case] = [
    # Capabilities, re-checked by the worker (the account may have changed).
    ("template on subscription", acct(SUBSCRIPTION), OPEN, tpl(), used(), NOW,
     rej(C.TEMPLATE_MESSAGES)),
    ("openid mass on subscription", acct(SUBSCRIPTION), None, mass(AU.OPENIDS), used(), NOW,
     rej(C.MASS_BY_OPENID)),
    ("reach on subscription", acct(SUBSCRIPTION), CLOSED, cs("reach"), used(), NOW,
     rej(C.REACH_OUTSIDE_WINDOW)),
    ("reject wins over expiry", acct(SUBSCRIPTION), OPEN, tpl(NOW), used(), NOW,
     rej(C.TEMPLATE_MESSAGES)),
    # Expiry and not_before.
    ("expired at expires_at", acct(SERVICE), OPEN, cs(expires_at=NOW), used(), NOW,
     decide.Expire("expired")),
    ("last second before expiry", acct(SERVICE), OPEN, cs(expires_at=NOW + S), used(), NOW,
     CUSTOM),
    ("expired beats not_before", acct(SERVICE), OPEN, cs(not_before=NOW + H, expires_at=NOW),
     used(), NOW, decide.Expire("expired")),
    ("not_before in the future", acct(SERVICE), OPEN, cs(not_before=NOW + H), used(), NOW,
     decide.Hold(R.NOT_BEFORE, NOW + H, None)),
    ("not_before now", acct(SERVICE), OPEN, cs(not_before=NOW), used(), NOW, CUSTOM),
    ("not_before past", acct(SERVICE), OPEN, cs(not_before=NOW - H), used(), NOW, CUSTOM),
    ("not_before at expires_at", acct(SERVICE), OPEN, cs(not_before=EXP), used(), NOW,
     decide.Expire("not_before")),
    ("not_before a second before expiry", acct(SERVICE), OPEN, cs(not_before=EXP - S), used(),
     NOW, decide.Hold(R.NOT_BEFORE, EXP - S, None)),
    # Customer service: subscription state, then the window.
    ("cs to unknown follower", acct(SERVICE), None, cs(), used(), NOW, NOT_SUBSCRIBED),
    ("cs to unsubscribed, window open", acct(SERVICE), UNSUBSCRIBED, cs(), used(), NOW,
     NOT_SUBSCRIBED),
    ("cs reach to unsubscribed", acct(SERVICE), UNSUBSCRIBED, cs("reach"), used(), NOW,
     NOT_SUBSCRIBED),
    ("cs window open, service", acct(SERVICE), OPEN, cs(), used(), NOW, CUSTOM),
    ("cs window open, subscription", acct(SUBSCRIPTION), OPEN, cs(), used(), NOW, CUSTOM),
    ("cs window open, quota irrelevant", acct(SERVICE), OPEN, cs("reach"), used(4), NOW, CUSTOM),
    ("cs window ends now", acct(SERVICE), fol(NOW), cs(), used(), NOW, WINDOW_CLOSED),
    ("cs window ends in a second", acct(SERVICE), fol(NOW + S), cs(), used(), NOW, CUSTOM),
    ("cs never opened", acct(SERVICE), NEVER, cs(), used(), NOW, WINDOW_CLOSED),
    ("cs closed, subscription", acct(SUBSCRIPTION), CLOSED, cs(), used(), NOW, WINDOW_CLOSED),
    ("cs closed, hold waits past expiry", acct(SERVICE), CLOSED, cs(expires_at=NOW + S), used(),
     NOW, WINDOW_CLOSED),
    ("cs count used up (wechat-2023)", acct(SERVICE), fol(NOW + H, 0), cs(), used(), NOW,
     WINDOW_CLOSED),
    ("cs count left (wechat-2023)", acct(SERVICE), fol(NOW + H, 1), cs(), used(), NOW, CUSTOM),
    # Reach: the 1st to 4th of the month go as a single-follower mass, the 5th waits for the
    # window or the next month, whichever comes first (so it never expires early).
    ("reach, 1st of month", acct(SERVICE), CLOSED, cs("reach"), used(0), NOW, REACH_SEND),
    ("reach, 4th of month", acct(SERVICE), CLOSED, cs("reach"), used(3), NOW, REACH_SEND),
    ("reach, 5th of month", acct(SERVICE), CLOSED, cs("reach"), used(4), NOW,
     decide.Hold(R.MASS_QUOTA_EXHAUSTED, NEXT_MONTH, INTERACTION)),
    ("reach, over quota", acct(SERVICE), CLOSED, cs("reach"), used(9), NOW,
     decide.Hold(R.MASS_QUOTA_EXHAUSTED, NEXT_MONTH, INTERACTION)),
    ("reach, quota out, expires first", acct(SERVICE), CLOSED, cs("reach", expires_at=NOW + H),
     used(4), NOW, decide.Hold(R.MASS_QUOTA_EXHAUSTED, NEXT_MONTH, INTERACTION)),
    ("reach, month's last second", acct(SERVICE), NEVER, cs("reach"), used(4),
     t("2026-01-31T15:59:59Z"),
     decide.Hold(R.MASS_QUOTA_EXHAUSTED, t("2026-01-31T16:00:00Z"), INTERACTION)),
    ("reach, UTC month", acct(SERVICE, UTC), NEVER, cs("reach"), used(4),
     t("2026-01-31T16:00:00Z"),
     decide.Hold(R.MASS_QUOTA_EXHAUSTED, t("2026-02-01T00:00:00Z"), INTERACTION)),
    # Template: service only, subscribed only, not bound by the window.
    ("template, window closed", acct(SERVICE), CLOSED, tpl(), used(4), NOW, TEMPLATE),
    ("template, window open", acct(SERVICE), OPEN, tpl(), used(), NOW, TEMPLATE),
    ("template, unsubscribed", acct(SERVICE), UNSUBSCRIBED, tpl(), used(), NOW, NOT_SUBSCRIBED),
    ("template, unknown", acct(SERVICE), None, tpl(), used(), NOW, NOT_SUBSCRIBED),
    # Service mass by openid (and ALL, expanded per recipient): 4 per follower per month.
    ("mass 1st", acct(SERVICE), CLOSED, mass(AU.OPENIDS), used(0), NOW, MASS_SEND),
    ("mass 4th", acct(SERVICE), CLOSED, mass(AU.OPENIDS), used(3), NOW, MASS_SEND),
    ("mass 5th", acct(SERVICE), CLOSED, mass(AU.OPENIDS, LATE), used(4), NOW,
     decide.Hold(R.MASS_QUOTA_EXHAUSTED, NEXT_MONTH, None)),
    ("mass all 4th", acct(SERVICE), OPEN, mass(AU.ALL), used(3), NOW, MASS_SEND),
    ("mass all 5th", acct(SERVICE), OPEN, mass(AU.ALL, LATE), used(4), NOW,
     decide.Hold(R.MASS_QUOTA_EXHAUSTED, NEXT_MONTH, None)),
    ("mass to unsubscribed", acct(SERVICE), UNSUBSCRIBED, mass(AU.OPENIDS), used(), NOW,
     NOT_SUBSCRIBED),
    ("mass to unknown", acct(SERVICE), None, mass(AU.ALL), used(), NOW, NOT_SUBSCRIBED),
    ("mass 5th, expires in a week", acct(SERVICE), CLOSED, mass(AU.OPENIDS), used(4), NOW,
     decide.Expire("mass_quota_exhausted")),
    ("mass 5th, expires before month", acct(SERVICE), CLOSED,
     mass(AU.OPENIDS, NEXT_MONTH - S), used(4), NOW, decide.Expire("mass_quota_exhausted")),
    ("mass 5th, expires at month", acct(SERVICE), CLOSED, mass(AU.OPENIDS, NEXT_MONTH),
     used(4), NOW, decide.Expire("mass_quota_exhausted")),
    ("mass 5th, expires after month", acct(SERVICE), CLOSED,
     mass(AU.OPENIDS, NEXT_MONTH + S), used(4), NOW,
     decide.Hold(R.MASS_QUOTA_EXHAUSTED, NEXT_MONTH, None)),
    ("mass 5th, Jan 31 15:59:59Z", acct(SERVICE), NEVER, mass(AU.OPENIDS), used(4),
     t("2026-01-31T15:59:59Z"),
     decide.Hold(R.MASS_QUOTA_EXHAUSTED, t("2026-01-31T16:00:00Z"), None)),
    ("mass 5th, leap Feb", acct(SERVICE), NEVER, mass(AU.OPENIDS, t("2028-04-01T00:00:00Z")),
     used(4), t("2028-02-29T15:59:59Z"),
     decide.Hold(R.MASS_QUOTA_EXHAUSTED, t("2028-02-29T16:00:00Z"), None)),
    ("mass 5th, December", acct(SERVICE), NEVER, mass(AU.OPENIDS, t("2027-02-01T00:00:00Z")),
     used(4), t("2026-12-20T00:00:00Z"),
     decide.Hold(R.MASS_QUOTA_EXHAUSTED, t("2026-12-31T16:00:00Z"), None)),
    ("mass 5th, New York", acct(SERVICE, NEW_YORK), NEVER,
     mass(AU.OPENIDS, t("2026-05-01T00:00:00Z")), used(4), t("2026-03-31T12:00:00Z"),
     decide.Hold(R.MASS_QUOTA_EXHAUSTED, t("2026-04-01T04:00:00Z"), None)),
    # Service mass by tag: the platform filters over-quota members itself.
    ("tag mass, service", acct(SERVICE), None, mass(AU.TAG), used(4), NOW,
     decide.Send(CH.SENDALL, 0, None)),
    # Subscription mass: one per account per local day.
    ("sub tag 1st of day", acct(SUBSCRIPTION), None, mass(AU.TAG), used(), NOW, DAILY_SEND),
    ("sub all 1st of day", acct(SUBSCRIPTION), None, mass(AU.ALL), used(), NOW, DAILY_SEND),
    ("sub follower ignored", acct(SUBSCRIPTION), UNSUBSCRIBED, mass(AU.ALL), used(4), NOW,
     DAILY_SEND),
    ("sub 2nd of day", acct(SUBSCRIPTION), None, mass(AU.TAG), used(account=1), NOW,
     decide.Hold(R.DAILY_MASS_USED, NEXT_DAY, None)),
    ("sub 2nd of day, all", acct(SUBSCRIPTION), None, mass(AU.ALL), used(account=1), NOW,
     decide.Hold(R.DAILY_MASS_USED, NEXT_DAY, None)),
    ("sub 2nd, 15:59:59Z", acct(SUBSCRIPTION), None, mass(AU.ALL), used(account=1),
     t("2026-03-10T15:59:59Z"), decide.Hold(R.DAILY_MASS_USED, NEXT_DAY, None)),
    ("sub 2nd, 16:00:00Z", acct(SUBSCRIPTION), None, mass(AU.ALL), used(account=1),
     t("2026-03-10T16:00:00Z"),
     decide.Hold(R.DAILY_MASS_USED, t("2026-03-11T16:00:00Z"), None)),
    ("sub 2nd, expires before midnight", acct(SUBSCRIPTION), None,
     mass(AU.TAG, NEXT_DAY - S), used(account=1), NOW, decide.Expire("daily_mass_used")),
    ("sub 2nd, UTC", acct(SUBSCRIPTION, UTC), None, mass(AU.TAG), used(account=1), NOW,
     decide.Hold(R.DAILY_MASS_USED, t("2026-03-11T00:00:00Z"), None)),
    ("sub 2nd, New York DST day", acct(SUBSCRIPTION, NEW_YORK), None, mass(AU.TAG),
     used(account=1), t("2026-03-08T12:00:00Z"),
     decide.Hold(R.DAILY_MASS_USED, t("2026-03-09T04:00:00Z"), None)),
    # The wechat-2023 profile changes nothing here: the window state carries it.
    ("profile wechat-2023", acct(SERVICE, profile=window.RuleProfile.WECHAT_2023), OPEN, cs(),
     used(), NOW, CUSTOM),
]
# fmt: on


@pytest.mark.parametrize(
    ("account", "follower", "message", "usage", "now", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_decide(
    account: decide.Account,
    follower: decide.Follower | None,
    message: decide.Message,
    usage: decide.Usage,
    now: dt.datetime,
    expected: decide.Decision,
) -> None:
    assert decide.decide(account, follower, message, usage, now) == expected


@pytest.mark.parametrize(
    ("kind", "message", "expected"),
    [
        (SERVICE, cs(), None),
        (SERVICE, cs("reach"), None),
        (SERVICE, tpl(), None),
        (SERVICE, mass(AU.OPENIDS), None),
        (SERVICE, mass(AU.TAG), None),
        (SERVICE, mass(AU.ALL), None),
        (SUBSCRIPTION, cs(), None),
        (SUBSCRIPTION, cs("reach"), rej(C.REACH_OUTSIDE_WINDOW)),
        (SUBSCRIPTION, tpl(), rej(C.TEMPLATE_MESSAGES)),
        (SUBSCRIPTION, mass(AU.OPENIDS), rej(C.MASS_BY_OPENID)),
        (SUBSCRIPTION, mass(AU.TAG), None),
        (SUBSCRIPTION, mass(AU.ALL), None),
    ],
)
def test_check_enqueue(
    kind: kinds.AccountKind, message: decide.Message, expected: decide.Reject | None
) -> None:
    assert decide.check_enqueue(kind, message) == expected


def test_template_refusal_names_the_rule() -> None:
    rejected = decide.check_enqueue(SUBSCRIPTION, tpl())
    assert rejected is not None
    assert rejected.message == (
        "subscription accounts cannot send template messages; "
        "upgrade the account to a service account"
    )


def test_upgrade_turns_template_reject_into_send() -> None:
    before = acct(SUBSCRIPTION)
    assert decide.decide(before, CLOSED, tpl(), used(), NOW) == rej(C.TEMPLATE_MESSAGES)
    after = decide.Account(kinds.change_kind(before.kind, SERVICE), before.profile, before.tz)
    assert decide.decide(after, CLOSED, tpl(), used(), NOW) == decide.Send(CH.TEMPLATE, 0, None)
    assert decide.decide(after, CLOSED, cs("reach"), used(), NOW) == REACH_SEND
    with pytest.raises(kinds.DowngradeNotAllowed):
        kinds.change_kind(after.kind, SUBSCRIPTION)


@pytest.mark.parametrize("kind", [SERVICE, SUBSCRIPTION])
def test_resubscribe_after_unsubscribe(kind: kinds.AccountKind) -> None:
    account = acct(kind)
    seed = window.RuleProfile.SEED
    subscribed_at = NOW - 100 * H
    first = window.open_window(
        window.Window(), window.Interaction.SUBSCRIBE, subscribed_at, seed, kind
    )
    gone = decide.Follower(False, first)  # unsubscribed; the old window is long closed
    assert decide.decide(account, gone, cs(), used(), NOW) == NOT_SUBSCRIBED
    back_at = NOW - H
    back = decide.Follower(
        True, window.open_window(gone.window, window.Interaction.SUBSCRIBE, back_at, seed, kind)
    )
    assert decide.decide(account, back, cs(), used(), NOW) == CUSTOM
    assert decide.decide(account, back, cs(), used(), back_at + 48 * H) == decide.Hold(
        R.WINDOW_CLOSED, None, INTERACTION
    )


@pytest.mark.parametrize(
    ("since_interaction", "expected"),
    [
        (47 * H + 59 * dt.timedelta(minutes=1) + 59 * S, CUSTOM),
        (48 * H, decide.Hold(R.WINDOW_CLOSED, None, INTERACTION)),
        (48 * H + S, decide.Hold(R.WINDOW_CLOSED, None, INTERACTION)),
    ],
)
def test_window_boundary_via_decide(
    since_interaction: dt.timedelta, expected: decide.Decision
) -> None:
    at = NOW - since_interaction
    w = window.open_window(
        window.Window(), window.Interaction.MESSAGE, at, window.RuleProfile.SEED, SERVICE
    )
    assert decide.decide(acct(SERVICE), decide.Follower(True, w), cs(), used(), NOW) == expected


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"type": MT.MASS}, "audience"),
        ({"type": MT.TEMPLATE, "audience": AU.ALL}, "audience"),
        ({"type": MT.CUSTOMER_SERVICE, "audience": AU.OPENIDS}, "audience"),
        ({"type": MT.TEMPLATE, "outside_window": "reach"}, "reach"),
        ({"type": MT.MASS, "audience": AU.TAG, "outside_window": "reach"}, "reach"),
        ({"type": MT.TEMPLATE, "expires_at": dt.datetime(2026, 1, 1)}, "naive"),
        ({"type": MT.TEMPLATE, "not_before": dt.datetime(2026, 1, 1)}, "naive"),
    ],
)
def test_invalid_messages(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        decide.Message(**{"expires_at": EXP, **kwargs})  # type: ignore[arg-type]


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        decide.decide(acct(SERVICE), OPEN, cs(), used(), dt.datetime(2026, 3, 10, 4))


def test_hold_reason_codes_are_the_spec_codes() -> None:
    assert {r.value for r in R} == {
        "not_before",
        "window_closed",
        "not_subscribed",
        "mass_quota_exhausted",
        "daily_mass_used",
        "api_quota_exhausted",
        "rate_limited",
        "retry_backoff",
    }
