"""Account kinds, capabilities, refusals and kind changes (SPEC 1, C1-C8)."""

from __future__ import annotations

import pytest

from gateway.domain import kinds

SERVICE = kinds.AccountKind.SERVICE
SUBSCRIPTION = kinds.AccountKind.SUBSCRIPTION
C = kinds.Capability


@pytest.mark.parametrize(
    ("kind", "cap", "expected"),
    [
        (SERVICE, C.PARAMETRIC_QR, True),
        (SERVICE, C.PAYMENTS, True),
        (SERVICE, C.REACH_OUTSIDE_WINDOW, True),
        (SERVICE, C.TEMPLATE_MESSAGES, True),
        (SERVICE, C.MARKETING_EVENTS, True),
        (SERVICE, C.OAUTH, True),
        (SERVICE, C.MASS_BY_OPENID, True),
        (SUBSCRIPTION, C.PARAMETRIC_QR, False),
        (SUBSCRIPTION, C.PAYMENTS, False),
        (SUBSCRIPTION, C.REACH_OUTSIDE_WINDOW, False),
        (SUBSCRIPTION, C.TEMPLATE_MESSAGES, False),
        (SUBSCRIPTION, C.MARKETING_EVENTS, False),
        (SUBSCRIPTION, C.OAUTH, False),
        (SUBSCRIPTION, C.MASS_BY_OPENID, False),
    ],
)
def test_has_capability(kind: kinds.AccountKind, cap: kinds.Capability, expected: bool) -> None:
    assert kinds.has_capability(kind, cap) is expected
    assert (cap in kinds.capabilities(kind)) is expected


def test_capability_sets() -> None:
    assert kinds.capabilities(SERVICE) == frozenset(C)
    assert kinds.capabilities(SUBSCRIPTION) == frozenset()


def test_kinds_accept_their_wire_strings() -> None:
    assert kinds.AccountKind("service") is SERVICE
    assert kinds.AccountKind("subscription") is SUBSCRIPTION
    assert kinds.has_capability(kinds.AccountKind("service"), C("template_messages"))


@pytest.mark.parametrize(
    ("cap", "fragment"),
    [
        (C.PARAMETRIC_QR, "cannot create parametric QR codes"),
        (C.PAYMENTS, "cannot receive payments"),
        (C.REACH_OUTSIDE_WINDOW, "outside the 48-hour customer-service window"),
        (C.TEMPLATE_MESSAGES, "cannot send template messages"),
        (C.MARKETING_EVENTS, "cannot run marketing events"),
        (C.OAUTH, "cannot use OAuth web authorization"),
        (C.MASS_BY_OPENID, "cannot send mass messages to a list of openids"),
    ],
)
def test_refusal_names_the_seed_rule(cap: kinds.Capability, fragment: str) -> None:
    text = kinds.refusal(SUBSCRIPTION, cap)
    assert text.startswith("subscription accounts ")
    assert fragment in text
    assert text.endswith("upgrade the account to a service account")


def test_refusal_exact_template_wording() -> None:
    assert kinds.refusal(SUBSCRIPTION, C.TEMPLATE_MESSAGES) == (
        "subscription accounts cannot send template messages; "
        "upgrade the account to a service account"
    )


def test_every_refusal_is_distinct() -> None:
    texts = [kinds.refusal(SUBSCRIPTION, cap) for cap in C]
    assert len(set(texts)) == len(C)


@pytest.mark.parametrize("cap", list(C))
def test_refusing_a_capability_the_kind_has_is_a_bug(cap: kinds.Capability) -> None:
    with pytest.raises(ValueError, match="have the capability"):
        kinds.refusal(SERVICE, cap)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (SUBSCRIPTION, SERVICE, SERVICE),
        (SUBSCRIPTION, SUBSCRIPTION, SUBSCRIPTION),
        (SERVICE, SERVICE, SERVICE),
        (SUBSCRIPTION, kinds.AccountKind("service"), SERVICE),
    ],
)
def test_change_kind_allowed(
    old: kinds.AccountKind, new: kinds.AccountKind, expected: kinds.AccountKind
) -> None:
    assert kinds.change_kind(old, new) is expected


def test_downgrade_is_refused() -> None:
    with pytest.raises(kinds.DowngradeNotAllowed, match="never be downgraded"):
        kinds.change_kind(SERVICE, SUBSCRIPTION)


def test_upgrade_grants_every_capability() -> None:
    after = kinds.change_kind(SUBSCRIPTION, SERVICE)
    assert all(kinds.has_capability(after, cap) for cap in C)
