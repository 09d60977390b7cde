"""Account kinds and the capabilities each kind has (SPEC 1, rules C1-C8).

The seed rule is simple: a service account has every capability in this module, a
subscription account has none of them. What both kinds share (the 48-hour window, a mass
quota, receiving messages) is not a capability here; the quota sizes live in `periods`.
"""

from __future__ import annotations

import enum
import types
from collections.abc import Mapping

from gateway import errors


class AccountKind(enum.StrEnum):
    SERVICE = "service"
    SUBSCRIPTION = "subscription"


class Capability(enum.StrEnum):
    PARAMETRIC_QR = "parametric_qr"  # C1
    PAYMENTS = "payments"  # C2
    REACH_OUTSIDE_WINDOW = "reach_outside_window"  # C3
    TEMPLATE_MESSAGES = "template_messages"  # C4
    MARKETING_EVENTS = "marketing_events"  # C5
    OAUTH = "oauth"  # C6
    MASS_BY_OPENID = "mass_by_openid"  # C7: mass/send by openid list


_CAPABILITIES: Mapping[AccountKind, frozenset[Capability]] = types.MappingProxyType(
    {
        AccountKind.SERVICE: frozenset(Capability),
        AccountKind.SUBSCRIPTION: frozenset(),
    }
)

_UPGRADE = "upgrade the account to a service account"

# One refusal per capability, each naming the seed rule it comes from.
_REFUSALS: Mapping[Capability, str] = types.MappingProxyType(
    {
        Capability.PARAMETRIC_QR: (
            "subscription accounts cannot create parametric QR codes; they have only the one "
            f"QR code that comes with the account; {_UPGRADE}"
        ),
        Capability.PAYMENTS: (
            "subscription accounts cannot receive payments or issue red packs and coupons; "
            f"{_UPGRADE}"
        ),
        Capability.REACH_OUTSIDE_WINDOW: (
            "subscription accounts cannot reach a follower outside the 48-hour "
            "customer-service window; the message must wait until the follower interacts "
            f"again (outside_window=hold); {_UPGRADE}"
        ),
        Capability.TEMPLATE_MESSAGES: (
            f"subscription accounts cannot send template messages; {_UPGRADE}"
        ),
        Capability.MARKETING_EVENTS: (
            "subscription accounts cannot run marketing events (registration, reminders, "
            f"onsite check-in, surveys); {_UPGRADE}"
        ),
        Capability.OAUTH: (f"subscription accounts cannot use OAuth web authorization; {_UPGRADE}"),
        Capability.MASS_BY_OPENID: (
            "subscription accounts cannot send mass messages to a list of openids; they may "
            f"send one mass message per day to all followers or to one tag; {_UPGRADE}"
        ),
    }
)


class DowngradeNotAllowed(errors.WxgateError):
    """A service account can never be changed back to a subscription account."""


def capabilities(kind: AccountKind) -> frozenset[Capability]:
    """Everything an account of this kind may do beyond what both kinds share."""
    return _CAPABILITIES[kind]


def has_capability(kind: AccountKind, cap: Capability) -> bool:
    """True iff an account of `kind` may use `cap`."""
    return cap in _CAPABILITIES[kind]


def refusal(kind: AccountKind, cap: Capability) -> str:
    """The human message for a capability `kind` lacks, naming the seed rule behind it.

    Asking why a kind is refused a capability it has is a caller bug: ValueError.
    """
    if has_capability(kind, cap):
        raise ValueError(f"{kind} accounts have the capability {cap}")
    return _REFUSALS[cap]


def change_kind(old: AccountKind, new: AccountKind) -> AccountKind:
    """The kind after a requested change: upgrades and no-ops pass, a downgrade raises (C8)."""
    if old == AccountKind.SERVICE and new == AccountKind.SUBSCRIPTION:
        raise DowngradeNotAllowed(
            "a service account can never be downgraded to a subscription account"
        )
    return AccountKind(new)
