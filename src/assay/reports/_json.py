"""The report as JSON, checked against the schema this package ships.

The document carries the same computed intervals and comparisons as the HTML, so a reader
of the JSON never has to redo the statistics. It is validated before it is returned: a
document that fails its own schema is a bug here, and raises ``ReportSchemaError``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any, Final

from jsonschema import Draft202012Validator

from assay.reports._format import iso
from assay.reports._view import NOTICE, MetricGroup, ReportView, build_view
from assay.reports.errors import ReportSchemaError
from assay.reports.model import FindingInfo, PartyInfo, ReviewReport, RunInfo
from assay.reports.stats import INTERVAL_METHOD, Z_95, Bounds, Interval

SCHEMA_VERSION: Final = "1.0"
"""The version of the JSON document's shape; it changes whenever the schema does."""

SCHEMA_FILE: Final = "review-report.schema.json"


@functools.cache
def load_schema() -> dict[str, Any]:
    """The shipped JSON Schema (draft 2020-12) of the report's JSON form."""
    text = resources.files("assay.reports").joinpath("schema", SCHEMA_FILE).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def _validator() -> Draft202012Validator:
    schema = load_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def validate_report_json(document: Mapping[str, Any]) -> None:
    """Raises ``ReportSchemaError`` naming each place where ``document`` breaks the schema."""
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(map(str, e.path)))
    if errors:
        where = "; ".join(
            f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]
        )
        raise ReportSchemaError(f"the report's JSON breaks {SCHEMA_FILE}: {where}")


def _interval(iv: Interval | None) -> dict[str, float] | None:
    return None if iv is None else {"low": iv.low, "high": iv.high}


def _bounds(bounds: Bounds | None) -> list[float] | None:
    return None if bounds is None else [bounds[0], bounds[1]]


def _results(view: ReportView) -> list[dict[str, Any]]:
    return [
        {
            "domain": section.domain,
            "suite": r.row.suite,
            "task": r.row.task,
            "scorer": r.row.scorer,
            "metric": r.row.metric,
            "value": r.row.value,
            "stderr": r.row.stderr,
            "samples": r.row.samples,
            "run_id": r.row.run_id,
            "bounds": _bounds(group.bounds),
            "interval": _interval(r.interval),
            "comparisons": [
                {
                    "reference_model": b.reference_model,
                    "baseline_run_id": b.run_id,
                    "difference": cmp.difference,
                    "outcome": str(cmp.outcome),
                }
                for b, cmp in r.comparisons
            ],
        }
        for section in view.sections
        for group in section.groups
        for r in group.results
    ]


def _baselines(groups: list[MetricGroup]) -> list[dict[str, Any]]:
    return [
        {
            "reference_model": b.row.reference_model,
            "suite": b.row.suite,
            "task": b.row.task,
            "scorer": b.row.scorer,
            "metric": b.row.metric,
            "value": b.row.value,
            "stderr": b.row.stderr,
            "samples": b.row.samples,
            "run_id": b.row.run_id,
            "bounds": _bounds(group.bounds),
            "interval": _interval(b.interval),
        }
        for group in groups
        for b in group.baselines
    ]


def _party(p: PartyInfo) -> dict[str, Any]:
    return {
        "org_id": p.org_id,
        "name": p.name,
        "role": str(p.role),
        "decision": None if p.decision is None else str(p.decision),
        "decided_at": None if p.decided_at is None else iso(p.decided_at),
    }


def _finding(f: FindingInfo) -> dict[str, Any]:
    return {
        "id": f.id,
        "title": f.title,
        "severity": str(f.severity),
        "domain": f.domain,
        "summary": f.summary,
        "agency": f.agency,
        "created_at": iso(f.created_at),
        "responses": [
            {"org": r.org, "body": r.body, "created_at": iso(r.created_at)} for r in f.responses
        ],
    }


def _run(r: RunInfo) -> dict[str, Any]:
    return {
        "id": r.id,
        "agency": r.agency,
        "tasks": list(r.tasks),
        "state": r.state,
        "started_at": None if r.started_at is None else iso(r.started_at),
        "finished_at": None if r.finished_at is None else iso(r.finished_at),
        "samples_done": r.samples_done,
        "samples_total": r.samples_total,
        "log_sha256": r.log_sha256,
        "is_baseline": r.is_baseline,
        "reference_model": r.reference_model,
    }


def report_to_dict(report: ReviewReport) -> dict[str, Any]:
    """The report as a JSON-ready dict, validated against the shipped schema."""
    view = build_view(report)
    model, access = report.model, report.access
    document: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "generated_at": iso(report.generated_at),
        "notice": NOTICE,
        "model": {
            "id": model.id,
            "name": model.name,
            "version": model.version,
            "developer": model.developer,
            "planned_release": iso(model.planned_release),
        },
        "parties": [_party(p) for p in report.parties],
        "access": {
            "window_id": access.window_id,
            "state": str(access.state),
            "opened_at": iso(access.opened_at),
            "closes_at": iso(access.closes_at),
            "closed_at": None if access.closed_at is None else iso(access.closed_at),
            "agreed_days": access.agreed_days,
        },
        "domains": list(report.domains),
        "methods": [
            {"suite": m.suite, "title": m.title, "domain": m.domain, "description": m.description}
            for m in report.methods
        ],
        "interval_method": {"confidence": 0.95, "z": Z_95, "description": INTERVAL_METHOD},
        "results": _results(view),
        "baselines": _baselines(
            [g for s in view.sections for g in s.groups] + list(view.unmatched_baselines)
        ),
        "findings": [_finding(f) for f in view.findings],
        "limitations": list(report.limitations),
        "runs": [_run(r) for r in report.runs],
    }
    validate_report_json(document)
    return document


def render_json(report: ReviewReport) -> bytes:
    """The report as UTF-8 JSON, validated; ``allow_nan=False`` keeps it strict JSON."""
    text = json.dumps(report_to_dict(report), indent=2, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")
