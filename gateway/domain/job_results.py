"""Job results: what a job-finish push's `Status` means for the sent deliveries it reports."""

from __future__ import annotations

import dataclasses
import re

_ERR = re.compile(r"^err\((-?\d+)\)$")


@dataclasses.dataclass(frozen=True)
class JobResult:
    """The deliveries' new status, and the failure's reason, errcode and text when it failed."""

    status: str
    reason: str | None = None
    errcode: int | None = None
    errmsg: str | None = None


def job_result(status: str) -> JobResult | None:
    """The result of a job-finish `Status`, None if unknown.

    TEMPLATESENDJOBFINISH: `success`, `failed:user block`, `failed: system failed`.
    MASSSENDJOBFINISH: `send success`, `send fail`, `err(N)` (a review failure).
    """
    text = status.strip()
    if text in ("success", "send success"):
        return JobResult("delivered")
    if text.startswith("failed") or text == "send fail":
        return JobResult("failed", "job_failed", None, text)
    match = _ERR.match(text)
    if match:
        return JobResult("failed", "job_failed", int(match.group(1)), text)
    return None
