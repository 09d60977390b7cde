"""Property tests: quotas hold over random histories, decisions keep their invariants.

The quota oracles count deliveries by Shanghai calendar period computed independently of
`periods` (UTC+8, no DST since 1991), while the simulated scheduler keys usage the way the
product does (periods.month_key / day_key).
"""

from __future__ import annotations

import collections
import datetime as dt
import zoneinfo
from typing import Literal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from gateway.domain import decide, kinds, periods, window

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
ZONES = [
    SHANGHAI,
    zoneinfo.ZoneInfo("UTC"),
    zoneinfo.ZoneInfo("America/New_York"),
    zoneinfo.ZoneInfo("America/Havana"),
]
SERVICE = kinds.AccountKind.SERVICE
SUBSCRIPTION = kinds.AccountKind.SUBSCRIPTION
CH = decide.Channel
PROPS = settings(max_examples=200, deadline=None, database=None)
FAR = dt.datetime(2099, 1, 1, tzinfo=dt.UTC)


def _shanghai_month(at: dt.datetime) -> tuple[int, int]:
    local = at.astimezone(dt.UTC) + dt.timedelta(hours=8)
    return local.year, local.month


def _shanghai_day(at: dt.datetime) -> dt.date:
    return (at.astimezone(dt.UTC) + dt.timedelta(hours=8)).date()


# Starts near Shanghai month edges (16:00 UTC on the last UTC day), including Feb 2028 and the
# year change, or anywhere in 2026-2028.
_EDGES = [
    dt.datetime(2026, 1, 31, 16, tzinfo=dt.UTC),
    dt.datetime(2026, 2, 28, 16, tzinfo=dt.UTC),
    dt.datetime(2026, 12, 31, 16, tzinfo=dt.UTC),
    dt.datetime(2028, 2, 28, 16, tzinfo=dt.UTC),
    dt.datetime(2028, 2, 29, 16, tzinfo=dt.UTC),
]
starts = st.one_of(
    st.builds(
        lambda edge, secs: edge + dt.timedelta(seconds=secs),
        st.sampled_from(_EDGES),
        st.integers(-12 * 3600, 12 * 3600),
    ),
    st.datetimes(
        min_value=dt.datetime(2026, 1, 1),
        max_value=dt.datetime(2028, 12, 31),
        timezones=st.just(dt.UTC),
    ),
)
advances = st.tuples(
    st.just("advance"),
    st.one_of(st.integers(1, 120), st.integers(1, 12 * 3600), st.integers(1, 12 * 86400)),
)
interactions = st.tuples(st.just("interact"), st.sampled_from(list(window.Interaction)))
subscriptions = st.tuples(st.just("subscribed"), st.booleans())
cs_sends = st.tuples(st.just("cs"), st.sampled_from(["hold", "reach"]))


def _step_follower(
    follower: decide.Follower,
    op: tuple[str, object],
    now: dt.datetime,
    profile: window.RuleProfile,
    kind: kinds.AccountKind,
) -> decide.Follower:
    """Apply a non-send step the way the callback handler would."""
    name, arg = op
    if name == "interact":
        assert isinstance(arg, window.Interaction)
        w = window.open_window(follower.window, arg, now, profile, kind)
        return decide.Follower(follower.subscribed, w)
    assert name == "subscribed" and isinstance(arg, bool)
    if arg and not follower.subscribed:  # re-subscribing is an interaction
        w = window.open_window(follower.window, window.Interaction.SUBSCRIBE, now, profile, kind)
        return decide.Follower(True, w)
    return decide.Follower(arg, follower.window)


service_mass = st.tuples(
    st.just("mass"), st.sampled_from([decide.Audience.OPENIDS, decide.Audience.ALL])
)


@PROPS
@given(
    start=starts,
    profile=st.sampled_from(list(window.RuleProfile)),
    # Weighted towards sends so that histories often reach the quota on both sides of an edge.
    ops=st.lists(
        st.one_of(service_mass, service_mass, cs_sends, advances, interactions, subscriptions),
        min_size=10,
        max_size=80,
    ),
)
# One unit an hour after the Shanghai month turned (still January in UTC), then four more
# after the UTC month turned too: the fifth must hold.
@example(
    start=dt.datetime(2026, 1, 31, 17, tzinfo=dt.UTC),
    profile=window.RuleProfile.SEED,
    ops=[("mass", decide.Audience.OPENIDS), ("advance", 9 * 3600)]
    + [("mass", decide.Audience.ALL)] * 3
    + [("cs", "reach")] * 2,
)
def test_service_follower_gets_at_most_4_mass_per_shanghai_month(
    start: dt.datetime, profile: window.RuleProfile, ops: list[tuple[str, object]]
) -> None:
    account = decide.Account(SERVICE, profile, SHANGHAI)
    follower = decide.Follower(True, window.Window())
    now = start
    usage: collections.Counter[dt.date] = collections.Counter()  # by periods.month_key
    delivered: collections.Counter[tuple[int, int]] = collections.Counter()  # by oracle
    for op in ops:
        name, arg = op
        if name == "advance":
            assert isinstance(arg, int)
            now += dt.timedelta(seconds=arg)
            continue
        if name not in ("cs", "mass"):
            follower = _step_follower(follower, op, now, profile, SERVICE)
            continue
        if name == "cs":
            assert arg in ("hold", "reach")
            outside: Literal["hold", "reach"] = "reach" if arg == "reach" else "hold"
            message = decide.Message(
                type=decide.MessageType.CUSTOMER_SERVICE, outside_window=outside, expires_at=FAR
            )
        else:
            assert isinstance(arg, decide.Audience)
            message = decide.Message(type=decide.MessageType.MASS, audience=arg, expires_at=FAR)
        key = periods.month_key(now, SHANGHAI)
        used = decide.Usage(follower_mass_used=usage[key])
        result = decide.decide(account, follower, message, used, now)
        assert not isinstance(result, decide.Reject | decide.Expire)
        if not isinstance(result, decide.Send):
            continue
        assert follower.subscribed
        if result.channel == CH.CUSTOM:
            assert window.is_open(follower.window, now)
            follower = decide.Follower(True, window.consume(follower.window))
        else:
            assert result.channel in (CH.MASS_SINGLE, CH.MASS_OPENIDS)
            assert (result.units, result.quota) == (1, "follower_month")
            usage[key] += result.units
            delivered[_shanghai_month(now)] += 1
        assert all(count <= 4 for count in delivered.values())


@PROPS
@given(
    start=starts,
    ops=st.lists(
        st.one_of(
            advances,
            st.tuples(st.just("mass"), st.sampled_from([decide.Audience.TAG, decide.Audience.ALL])),
        ),
        min_size=5,
        max_size=60,
    ),
)
def test_subscription_account_sends_at_most_1_mass_per_shanghai_day(
    start: dt.datetime, ops: list[tuple[str, object]]
) -> None:
    account = decide.Account(SUBSCRIPTION, window.RuleProfile.SEED, SHANGHAI)
    now = start
    usage: collections.Counter[dt.date] = collections.Counter()  # by periods.day_key
    delivered: collections.Counter[dt.date] = collections.Counter()  # by oracle
    for name, arg in ops:
        if name == "advance":
            assert isinstance(arg, int)
            now += dt.timedelta(seconds=arg)
            continue
        assert isinstance(arg, decide.Audience)
        message = decide.Message(type=decide.MessageType.MASS, audience=arg, expires_at=FAR)
        key = periods.day_key(now, SHANGHAI)
        result = decide.decide(
            account, None, message, decide.Usage(account_mass_used=usage[key]), now
        )
        if isinstance(result, decide.Send):
            assert result == decide.Send(CH.SENDALL, 1, "account_day")
            usage[key] += result.units
            delivered[_shanghai_day(now)] += 1
        else:
            assert isinstance(result, decide.Hold)
            assert result.reason == decide.HoldReason.DAILY_MASS_USED
            assert result.release_at is not None and result.release_at > now
            assert _shanghai_day(result.release_at) == _shanghai_day(now) + dt.timedelta(days=1)
        assert all(count <= 1 for count in delivered.values())


seconds = st.integers(-4 * 86400, 4 * 86400).map(lambda s: dt.timedelta(seconds=s))
windows = st.builds(
    window.Window,
    st.one_of(st.none(), seconds.map(lambda d: dt.datetime(2026, 6, 1, tzinfo=dt.UTC) + d)),
    st.one_of(st.none(), st.integers(0, 6)),
)
followers = st.one_of(st.none(), st.builds(decide.Follower, st.booleans(), windows))
nows = seconds.map(lambda d: dt.datetime(2026, 6, 1, tzinfo=dt.UTC) + d)


@st.composite
def messages(draw: st.DrawFn) -> decide.Message:
    kind = draw(st.sampled_from(list(decide.MessageType)))
    audience = draw(st.sampled_from(list(decide.Audience))) if kind == "mass" else None
    modes: list[Literal["hold", "reach"]] = ["hold", "reach"]
    outside = draw(st.sampled_from(modes)) if kind == "customer_service" else "hold"
    base = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    not_before = draw(st.one_of(st.none(), seconds.map(lambda d: base + d)))
    expires_at = base + draw(seconds) + dt.timedelta(days=draw(st.integers(0, 60)))
    return decide.Message(
        type=kind,
        audience=audience,
        outside_window=outside,
        not_before=not_before,
        expires_at=expires_at,
    )


@PROPS
@given(
    kind=st.sampled_from(list(kinds.AccountKind)),
    tz=st.sampled_from(ZONES),
    follower=followers,
    message=messages(),
    usage=st.builds(decide.Usage, st.integers(0, 6), st.integers(0, 2)),
    now=nows,
)
def test_decision_invariants(
    kind: kinds.AccountKind,
    tz: zoneinfo.ZoneInfo,
    follower: decide.Follower | None,
    message: decide.Message,
    usage: decide.Usage,
    now: dt.datetime,
) -> None:
    account = decide.Account(kind, window.RuleProfile.SEED, tz)
    result = decide.decide(account, follower, message, usage, now)
    if decide.check_enqueue(kind, message) is not None:
        assert isinstance(result, decide.Reject)
        return
    assert not isinstance(result, decide.Reject)
    if isinstance(result, decide.Send):
        assert now < message.expires_at
        assert message.not_before is None or message.not_before <= now
        assert result.units in (0, 1) and (result.units == 0) == (result.quota is None)
        if message.type == decide.MessageType.CUSTOMER_SERVICE:
            # Never a customer-service send into a closed window, except as a reach unit.
            assert follower is not None and follower.subscribed
            if not window.is_open(follower.window, now):
                assert kind == SERVICE
                assert result == decide.Send(CH.MASS_SINGLE, 1, "follower_month")
            else:
                assert result == decide.Send(CH.CUSTOM, 0, None)
        if result.quota == "follower_month":
            assert usage.follower_mass_used < 4
        if result.quota == "account_day":
            assert usage.account_mass_used < 1
    elif isinstance(result, decide.Hold):
        assert now < message.expires_at
        assert result.release_at is not None or result.wait_for is not None
        if result.release_at is not None:
            assert result.release_at > now
            assert result.wait_for is not None or result.release_at < message.expires_at
    else:
        assert isinstance(result, decide.Expire)
        assert (
            now >= message.expires_at
            or message.not_before is not None
            or (message.type == decide.MessageType.MASS)
        )


@PROPS
@given(
    current=windows,
    interaction=st.sampled_from(list(window.Interaction)),
    at=nows,
    profile=st.sampled_from(list(window.RuleProfile)),
    kind=st.sampled_from(list(kinds.AccountKind)),
)
def test_a_new_trigger_never_shortens_an_open_window(
    current: window.Window,
    interaction: window.Interaction,
    at: dt.datetime,
    profile: window.RuleProfile,
    kind: kinds.AccountKind,
) -> None:
    result = window.open_window(current, interaction, at, profile, kind)
    if interaction == window.Interaction.PAYMENT and kind == SUBSCRIPTION:
        assert result == current
        return
    assert window.is_open(result, at)
    assert result.ends_at is not None and result.ends_at > at
    if window.is_open(current, at):
        assert current.ends_at is not None and result.ends_at >= current.ends_at
        if current.remaining is None:
            assert result.remaining is None
        elif result.remaining is not None:
            assert result.remaining >= current.remaining


@PROPS
@given(
    at=st.datetimes(
        min_value=dt.datetime(2000, 1, 1),
        max_value=dt.datetime(2099, 12, 31),
        timezones=st.just(dt.UTC),
    ),
    tz=st.sampled_from(ZONES),
)
def test_every_instant_lies_in_its_periods(at: dt.datetime, tz: zoneinfo.ZoneInfo) -> None:
    for period, key_of in (
        (periods.day_period(at, tz), periods.day_key),
        (periods.month_period(at, tz), periods.month_key),
    ):
        assert period.starts_at <= at < period.resets_at
        assert key_of(period.starts_at, tz) == period.key
        assert key_of(period.resets_at - dt.timedelta(microseconds=1), tz) == period.key
        assert key_of(period.resets_at, tz) > period.key
    assert periods.month_key(at, tz).day == 1
    assert periods.month_key(at, tz) <= periods.day_key(at, tz)
