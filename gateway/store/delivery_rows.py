"""The values the delivery store takes and hands out: changes to deliveries, counted-window
allowances taken by a claim, and the (account_id, id) key of a delivery or a message.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

Key = tuple[str, int]  # (account_id, id) of a delivery or a message


@dataclasses.dataclass(frozen=True)
class Change:
    """The new state of one delivery (a claim decision or a WeChat result)."""

    account_id: str
    id: int
    status: str
    reason: str | None = None
    release_at: dt.datetime | None = None
    wait_for: str | None = None
    channel: str | None = None
    client_msg_id: str | None = None
    quota_kind: str | None = None
    quota_key: dt.date | None = None
    lease_until: dt.datetime | None = None
    attempt: int = 0  # claims: +1 for a send; results: -1 undoes a send that never started
    wechat_msgid: str | None = None
    errcode: int | None = None
    errmsg: str | None = None
    unknown: bool = False  # results: WeChat may have carried this attempt out
    # results: the row's attempt count under the lease the result belongs to; a put-back
    # (attempt -1) is written only while that lease is the row's latest.
    leased_attempts: int | None = None


@dataclasses.dataclass(frozen=True)
class WindowCount:
    """One message taken from a follower's counted window (wechat-2023) by a claim, with what
    names that allowance: its end and the follower's latest interaction at the claim."""

    account_id: str
    openid: str
    ends_at: dt.datetime | None
    interacted_at: dt.datetime | None
