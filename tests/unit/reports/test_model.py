"""The report model refuses values a renderer must never meet, and says how to fix them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from assay.reports import InvalidReport
from tests.unit.reports.support import T0, baseline, finding, full_report, result, run


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: result(value=float("nan")), "value must be finite"),
        (lambda: result(stderr=float("inf")), "stderr must be finite"),
        (lambda: baseline(stderr=-0.1), "stderr must be finite and 0 or more"),
        (lambda: result(samples=-1), "samples must be 0 or more"),
        (lambda: result(value=1.5, bounds=(0.0, 1.0)), "outside its declared bounds"),
        (lambda: result(bounds=(1.0, 0.0)), "low < high"),
        (lambda: run(log_sha256="ABC"), "64 lowercase hex digits"),
        (lambda: run(is_baseline=True), "needs its reference_model"),
        (lambda: run(started_at=datetime(2026, 3, 2, 9)), "timezone-aware"),  # noqa: DTZ001 - naive on purpose
        (lambda: finding(created_at=datetime(2026, 3, 2)), "timezone-aware"),  # noqa: DTZ001 - naive on purpose
        (lambda: full_report(generated_at=T0.astimezone(timezone(timedelta(hours=2)))), "UTC"),
    ],
)
def test_invalid_values_are_refused(build: Any, message: str) -> None:
    with pytest.raises(InvalidReport, match=message):
        build()


def test_unknown_severity_is_refused() -> None:
    with pytest.raises(ValueError, match="'severe' is not a valid Severity"):
        finding(severity="severe")


def test_report_values_are_frozen() -> None:
    report = full_report()
    with pytest.raises(AttributeError):
        report.model.name = "other"  # type: ignore[misc]
