"""The API's answer to a capability the account's kind lacks: 403 capability_not_available,
with the message naming the seed rule (gateway.domain.kinds) and the capability in details."""

from __future__ import annotations

from gateway.api import errors
from gateway.domain import kinds


def refusal(kind: kinds.AccountKind, capability: kinds.Capability) -> errors.ApiError:
    return errors.ApiError(
        "capability_not_available",
        kinds.refusal(kind, capability),
        {"capability": capability.value},
    )


def require(kind_name: str, capability: kinds.Capability) -> None:
    """Raise the 403 unless an account of this kind has `capability`."""
    kind = kinds.AccountKind(kind_name)
    if not kinds.has_capability(kind, capability):
        raise refusal(kind, capability)
