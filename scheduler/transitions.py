"""What a worker reports of message transitions: a counter by status and reason, and a log
line for each hold, expiry and failure."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from gateway import metrics
from gateway.store import message_status

log = logging.getLogger("scheduler.worker")  # where these lines have always come from

# Counter children by (status, reason): `labels()` validates and locks on every call.
_MESSAGES: dict[tuple[str, str], Any] = {}


def observe(transitions: Iterable[message_status.Transition]) -> None:
    """Count the transitions; log the holds, expiries and failures among them."""
    for t in transitions:
        status, reason = t.status, t.reason
        key = (status, reason or "")
        counter = _MESSAGES.get(key)
        if counter is None:
            counter = _MESSAGES[key] = metrics.MESSAGES.labels(status=status, reason=key[1])
        counter.inc()
        if status in ("held", "expired", "failed"):
            log.info(
                "message %s (%s)",
                status,
                reason,
                extra={
                    "action": "message_" + status,
                    "account_id": t.account_id,
                    "message_id": t.message_id,
                    "reason": reason,
                },
            )
