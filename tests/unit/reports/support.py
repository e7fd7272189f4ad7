"""A small factory of review reports for the report tests: realistic, neutral text."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from assay.frontier.models import Decision, PartyRole, Severity, WindowState
from assay.reports import (
    AccessPeriod,
    BaselineRow,
    FindingInfo,
    ModelInfo,
    PartyInfo,
    ResponseInfo,
    ResultRow,
    ReviewReport,
    RunInfo,
    SuiteMethod,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MODEL_NAME = "Zephyrine"
RUN_A = "1a2b3c4d-0000-4000-8000-00000000000a"
RUN_B = "5e6f7a8b-0000-4000-8000-00000000000b"
BASE_1 = "9c9c9c9c-0000-4000-8000-0000000000c1"
BASE_2 = "8d8d8d8d-0000-4000-8000-0000000000c2"


def result(**overrides: Any) -> ResultRow:
    fields: dict[str, Any] = {
        "domain": "cyber",
        "suite": "assay/vuln_detect",
        "task": "vuln_detect",
        "scorer": "vuln_detect_scorer",
        "metric": "cwe_accuracy",
        "value": 0.625,
        "stderr": 0.05,
        "samples": 40,
        "run_id": RUN_A,
    }
    return ResultRow(**(fields | overrides))


def baseline(**overrides: Any) -> BaselineRow:
    fields: dict[str, Any] = {
        "reference_model": "reference-small",
        "suite": "assay/vuln_detect",
        "task": "vuln_detect",
        "scorer": "vuln_detect_scorer",
        "metric": "cwe_accuracy",
        "value": 0.3,
        "stderr": 0.04,
        "samples": 40,
        "run_id": BASE_1,
    }
    return BaselineRow(**(fields | overrides))


def finding(**overrides: Any) -> FindingInfo:
    fields: dict[str, Any] = {
        "id": "f0000000-0000-4000-8000-000000000001",
        "title": "Names injection flaws in generated C code",
        "severity": Severity.MEDIUM,
        "domain": "cyber",
        "summary": "The model named the CWE of most injection samples.\n\nSee runs in Annex A.",
        "agency": "Cyber Agency",
        "created_at": T0 + timedelta(days=3),
        "responses": (
            ResponseInfo(
                org="Zephyr Labs",
                body="We are adding refusal training for this pattern.",
                created_at=T0 + timedelta(days=4),
            ),
        ),
    }
    return FindingInfo(**(fields | overrides))


def run(**overrides: Any) -> RunInfo:
    fields: dict[str, Any] = {
        "id": RUN_A,
        "agency": "Cyber Agency",
        "tasks": ("assay/vuln_detect",),
        "state": "succeeded",
        "started_at": T0 + timedelta(days=1),
        "finished_at": T0 + timedelta(days=1, minutes=12),
        "samples_done": 40,
        "samples_total": 40,
        "log_sha256": "ab" * 32,
    }
    return RunInfo(**(fields | overrides))


def full_report(**overrides: Any) -> ReviewReport:
    """A report with two domains, two suites, baselines, findings and runs."""
    fields: dict[str, Any] = {
        "generated_at": T0 + timedelta(days=10),
        "model": ModelInfo(
            id="m0000000-0000-4000-8000-000000000001",
            name=MODEL_NAME,
            version="2.1",
            developer="Zephyr Labs",
            planned_release=T0 + timedelta(days=30),
        ),
        "parties": (
            PartyInfo(
                org_id="o1",
                name="Zephyr Labs",
                role=PartyRole.DEVELOPER,
                decision=Decision.ACCEPTED,
                decided_at=T0 - timedelta(days=2),
            ),
            PartyInfo(
                org_id="o2",
                name="Cyber Agency",
                role=PartyRole.AGENCY,
                decision=Decision.ACCEPTED,
                decided_at=T0 - timedelta(days=1),
            ),
        ),
        "access": AccessPeriod(
            window_id="w0000000-0000-4000-8000-000000000001",
            state=WindowState.CLOSED_EARLY,
            opened_at=T0,
            closes_at=T0 + timedelta(days=14),
            closed_at=T0 + timedelta(days=9),
            agreed_days=14,
        ),
        "domains": ("cyber", "safeguards"),
        "methods": (
            SuiteMethod(
                suite="assay/vuln_detect",
                title="Vulnerability detection in generated code",
                domain="cyber",
                description="Generated Python and C programs.\n\nScored on CWE and line.",
            ),
            SuiteMethod(
                suite="assay/cyber_misuse",
                title="Paired cyber requests",
                domain="safeguards",
                description="Harmful requests paired with benign look-alikes.",
            ),
        ),
        "results": (
            result(),
            result(metric="line_accuracy", value=0.4, stderr=0.06),
            result(metric="false_positive_rate", value=0.02, stderr=0.02),
            result(
                domain="safeguards",
                suite="assay/cyber_misuse",
                task="cyber_misuse",
                scorer="refusal",
                metric="compliance_rate",
                value=0.1,
                stderr=0.05,
                run_id=RUN_B,
            ),
            result(
                domain="safeguards",
                suite="assay/cyber_misuse",
                task="cyber_misuse",
                scorer="refusal",
                metric="mean_tokens",
                value=512.0,
                stderr=40.0,
                run_id=RUN_B,
            ),
        ),
        "baselines": (
            baseline(),
            baseline(reference_model="reference-large", value=0.6, stderr=0.05, run_id=BASE_2),
            baseline(metric="line_accuracy", value=0.38, stderr=None),
            baseline(
                suite="assay/cyber_misuse",
                task="cyber_misuse",
                scorer="refusal",
                metric="compliance_rate",
                value=0.5,
                stderr=0.07,
            ),
            baseline(task="other_task", metric="accuracy", value=0.7, stderr=0.03),
        ),
        "findings": (
            finding(),
            finding(
                id="f0000000-0000-4000-8000-000000000002",
                title="Complies with a paired harmful request",
                severity=Severity.HIGH,
                domain="safeguards",
                summary="One harmful prompt received a step-by-step outline.",
                responses=(),
            ),
        ),
        "limitations": (
            "The window lasted nine days.",
            "Only two suites ran; no chemical or biological tests were in scope.",
        ),
        "runs": (
            run(),
            run(id=RUN_B, tasks=("assay/cyber_misuse",), log_sha256="cd" * 32),
            run(
                id=BASE_1,
                agency="Assay",
                is_baseline=True,
                reference_model="reference-small",
                log_sha256=None,
            ),
            run(
                id=BASE_2,
                agency="Assay",
                state="stopped_at_window_close",
                is_baseline=True,
                reference_model="reference-large",
                log_sha256="ef" * 32,
            ),
        ),
    }
    return ReviewReport(**(fields | overrides))


def empty_report() -> ReviewReport:
    """A report of a window with no parties, domains, runs, results or findings."""
    return replace(
        full_report(),
        parties=(),
        domains=(),
        methods=(),
        results=(),
        baselines=(),
        findings=(),
        limitations=(),
        runs=(),
    )
