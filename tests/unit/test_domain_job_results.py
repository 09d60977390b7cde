"""Job-finish `Status` values (gateway.domain.job_results.job_result), as the platform sends
them for TEMPLATESENDJOBFINISH and MASSSENDJOBFINISH."""

from __future__ import annotations

import pytest

from gateway.domain import job_results

R = job_results.JobResult


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("success", R("delivered")),
        ("send success", R("delivered")),
        ("  success \n", R("delivered")),
        ("failed:user block", R("failed", "job_failed", None, "failed:user block")),
        ("failed: system failed", R("failed", "job_failed", None, "failed: system failed")),
        ("send fail", R("failed", "job_failed", None, "send fail")),
        ("err(20013)", R("failed", "job_failed", 20013, "err(20013)")),
        ("err(-1)", R("failed", "job_failed", -1, "err(-1)")),
        ("err(x)", None),
        ("err(1", None),
        ("", None),
        ("SUCCESS", None),
        ("delivered", None),
    ],
)
def test_job_result(status: str, expected: job_results.JobResult | None) -> None:
    assert job_results.job_result(status) == expected
