"""The changes of claimed rows that are not sent: a hold, an expiry or a rejection decided by
the pure core, and a keyed send whose earlier attempt may have arrived too long ago."""

from __future__ import annotations

import dataclasses

from gateway.domain import attempts, decide
from gateway.store import delivery_rows


def not_sent(
    item: delivery_rows.ClaimedDelivery, decision: decide.Decision
) -> delivery_rows.Change:
    """The change of a row decided to hold, expire or fail (no call)."""
    base = delivery_rows.Change(item.account_id, item.id, "held")
    if isinstance(decision, decide.Hold):
        return dataclasses.replace(
            base,
            reason=decision.reason.value,
            release_at=decision.release_at,
            wait_for=decision.wait_for.value if decision.wait_for else None,
        )
    if isinstance(decision, decide.Expire):
        return dataclasses.replace(base, status="expired", reason=expiry_reason(item, decision))
    if isinstance(decision, decide.Reject):
        return dataclasses.replace(
            base, status="failed", reason=decision.capability.value, errmsg=decision.message
        )
    raise TypeError(f"not a hold, expiry or rejection: {decision!r}")


def unknown_outcome(item: delivery_rows.ClaimedDelivery) -> delivery_rows.Change:
    """A keyed send whose earlier attempt may have reached WeChat, past the platform's
    deduplication window: failed, keeping its key and units (retryable by hand)."""
    return delivery_rows.Change(
        item.account_id,
        item.id,
        "failed",
        reason=attempts.OUTCOME_UNKNOWN,
        channel=item.channel,
        client_msg_id=item.client_msg_id,
        quota_kind=item.quota.kind if item.quota else None,
        quota_key=item.quota.period if item.quota else None,
    )


def expiry_reason(item: delivery_rows.ClaimedDelivery, decision: decide.Expire) -> str:
    """A held row found past its message's expires_at expires with what it waited for (as
    the expiry sweep does), never a bare `expired` that hides why it did not go out."""
    if decision.reason == "expired" and item.status == "held" and item.reason:
        return item.reason
    return decision.reason
