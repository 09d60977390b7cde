"""Send outcomes: what WeChat's answer to a send (or its failure to answer) means for the
deliveries the call served: sent, retry later, re-decide (stale), failed, or released unmade.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from gateway.domain import attempts, decide, kinds

Hold = decide.HoldReason

# Answers that mean "try again later" and the hold reason they get.
RETRY: dict[int, Hold] = {
    -1: Hold.RETRY_BACKOFF,
    45009: Hold.API_QUOTA_EXHAUSTED,  # the API's daily quota; clear_quota may reset it
    45011: Hold.RATE_LIMITED,  # the API's minute quota
    45066: Hold.RATE_LIMITED,  # the same clientmsgid retried too fast
    45056: Hold.RETRY_BACKOFF,  # too many tags: our one-member tags are still in use
}
# Answers that mean our view of the follower or the quota was stale: re-decide.
STALE_WINDOW = frozenset({45015, 45047})
NOT_SUBSCRIBED = 43004
NO_MERCHANT = 47001  # a red pack or coupon for an account whose pay settings were removed
NO_MASS_QUOTA = 45028

Kind = Literal["sent", "retry", "stale", "failed", "released"]


@dataclasses.dataclass(frozen=True)
class Outcome:
    kind: Kind
    reason: str | None = None
    msgid: str | None = None
    errcode: int | None = None
    errmsg: str | None = None
    # WeChat may have carried the call out (a timeout, a dropped connection, an HTTP 5xx).
    unknown: bool = False


RELEASED = Outcome("released")
UNKNOWN_FAILED = Outcome("failed", attempts.OUTCOME_UNKNOWN)


def token_unavailable(errcode: int | None, text: str) -> Outcome:
    """No access token could be had: the send did not happen; back off."""
    return Outcome("retry", Hold.RETRY_BACKOFF.value, errcode=errcode, errmsg=text)


def transport_failed(text: str) -> Outcome:
    """No answer (a timeout, a dropped connection, an HTTP 5xx): WeChat may have sent it."""
    return Outcome("retry", Hold.RETRY_BACKOFF.value, errmsg=text, unknown=True)


def classify(
    errcode: int, text: str, account_kind: kinds.AccountKind, *, stale_token: bool
) -> Outcome:
    """What an errcode answered to a send means; `stale_token`: the errcode says the token
    was stale (the call was already retried once with a fresh one)."""
    if errcode in RETRY:
        return Outcome("retry", RETRY[errcode].value, errcode=errcode, errmsg=text)
    if stale_token:
        return Outcome("retry", Hold.RETRY_BACKOFF.value, errcode=errcode, errmsg=text)
    if errcode in STALE_WINDOW:
        return Outcome("stale", Hold.WINDOW_CLOSED.value, errcode=errcode, errmsg=text)
    if errcode == NOT_SUBSCRIBED:
        return Outcome("stale", Hold.NOT_SUBSCRIBED.value, errcode=errcode, errmsg=text)
    if errcode == NO_MASS_QUOTA:
        reason = (
            Hold.DAILY_MASS_USED
            if account_kind == kinds.AccountKind.SUBSCRIPTION
            else Hold.MASS_QUOTA_EXHAUSTED
        )
        return Outcome("stale", reason.value, errcode=errcode, errmsg=text)
    return Outcome("failed", "wechat_error", errcode=errcode, errmsg=text)
