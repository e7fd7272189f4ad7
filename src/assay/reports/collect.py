"""A window's review report, read from the database through the authorization layer.

What goes in is what the reader may see: runs through ``EVAL_READ``, findings through
``FINDING_READ``, baselines through ``BASELINE_READ``. So a report built by one agency holds
its own runs and findings, and another's only where the agreement shares them.
"""

from __future__ import annotations

import math
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.core.authz import Actor
from assay.core.clock import Clock
from assay.evals import runs
from assay.evals.models import EvalRun, RunState
from assay.evals.suites import SUITES
from assay.frontier import findings, windows
from assay.frontier.models import FindingResponse
from assay.identity.models import Organization
from assay.reports.model import (
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

UNIT_BOUNDS = (0.0, 1.0)
FINDINGS_PAGE = 500
RUNS_PAGE = 500

LIMITATIONS = (
    "Scores measure the model as served through the gateway during the access period, "
    "with the settings of each run; other prompts, tools or settings may give other results.",
    "Intervals are 95% normal approximations from Inspect's standard errors; small sample "
    "counts make them wide, and they do not cover differences in how a task was run.",
    "Built-in suites are small, procedurally generated or hand-written sets; they indicate "
    "capabilities and safeguards in narrow settings and are not a complete assessment.",
    "Runs in Inspect's local sandbox are not isolated; a real frontier model's tool-using "
    "tasks must run in the Docker or Kubernetes sandbox.",
)


def _suite_of(task: str) -> tuple[str, str]:
    """(suite, domain): a built-in suite's own domain, else 'other'."""
    info = SUITES.get(task)
    return (task, info.domain) if info is not None else (task, "other")


def _bounds(metric: str, task: str) -> tuple[float, float] | None:
    info = SUITES.get(task)
    if info is not None and metric in info.metrics:
        return UNIT_BOUNDS
    return None


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _org_names(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = session.execute(
        select(Organization.id, Organization.name).where(Organization.id.in_(ids))
    )
    return {row.id: row.name for row in rows}


def build_report(
    session: Session, *, actor: Actor, clock: Clock, window_id: uuid.UUID
) -> ReviewReport:
    window = windows.get_window(session, actor=actor, window_id=window_id)
    now = clock.now()
    agreement = window.agreement
    model = window.model
    visible_runs = runs.list_runs(
        session, actor=actor, limit=RUNS_PAGE, offset=0, window_id=window.id
    ).items
    visible_findings = findings.list_findings(
        session, actor=actor, limit=FINDINGS_PAGE, offset=0, window_id=window.id
    ).items
    baselines = runs.list_baselines(session, actor=actor)
    org_ids = {p.org_id for p in agreement.parties} | {model.org_id}
    org_ids |= {r.org_id for r in [*visible_runs, *baselines]}
    org_ids |= {f.org_id for f in visible_findings}
    responders = {resp.org_id for f in visible_findings for resp in f.responses}
    names = _org_names(session, org_ids | responders)

    results: list[ResultRow] = []
    tasks_seen: set[str] = set()
    for run in visible_runs:
        if run.state not in (RunState.SUCCEEDED, RunState.STOPPED_AT_WINDOW_CLOSE):
            continue
        for result in run.results:
            if result.status != "success":
                continue
            suite, domain = _suite_of(result.task)
            tasks_seen.add(result.task)
            for metric in result.metrics:
                if not math.isfinite(metric.value):
                    continue
                results.append(
                    ResultRow(
                        domain=domain,
                        suite=suite,
                        task=result.task,
                        scorer=metric.scorer,
                        metric=metric.metric,
                        value=metric.value,
                        stderr=_finite(metric.stderr),
                        samples=result.samples_completed,
                        run_id=str(run.id),
                        bounds=_bounds(metric.metric, result.task),
                    )
                )
    baseline_rows = _baseline_rows(baselines, tasks_seen)
    methods = [
        SuiteMethod(suite=name, title=info.title, domain=info.domain, description=info.method)
        for name, info in SUITES.items()
        if name in tasks_seen
    ]
    return ReviewReport(
        generated_at=now,
        model=ModelInfo(
            id=str(model.id),
            name=model.name,
            version=model.version,
            developer=names.get(model.org_id, str(model.org_id)),
            planned_release=model.planned_release_at,
        ),
        access=AccessPeriod(
            window_id=str(window.id),
            state=windows.state_of(window, now),
            opened_at=window.opens_at,
            closes_at=windows.closes_at(window),
            agreed_days=agreement.review_days,
            closed_at=window.closed_early_at,
        ),
        parties=[
            PartyInfo(
                org_id=str(p.org_id),
                name=names.get(p.org_id, str(p.org_id)),
                role=p.role,
                decision=p.decision,
                decided_at=p.decided_at,
            )
            for p in agreement.parties
        ],
        domains=list(agreement.domains),
        methods=methods,
        results=results,
        baselines=baseline_rows,
        findings=[
            FindingInfo(
                id=str(f.id),
                title=f.title,
                severity=f.severity,
                domain=f.domain.value,
                summary=f.description,
                agency=names.get(f.org_id, str(f.org_id)),
                created_at=f.created_at,
                responses=[_response(r, names) for r in f.responses],
            )
            for f in visible_findings
        ],
        limitations=list(LIMITATIONS),
        runs=[info for r in [*visible_runs, *baselines] for info in _run_infos(r, names)],
    )


def _baseline_rows(baselines: list[EvalRun], tasks: set[str]) -> list[BaselineRow]:
    rows: list[BaselineRow] = []
    for run in baselines:
        for result in run.results:
            if result.task not in tasks or result.status != "success":
                continue
            for metric in result.metrics:
                if not math.isfinite(metric.value):
                    continue
                rows.append(
                    BaselineRow(
                        reference_model=run.reference_model or "unnamed reference",
                        suite=result.task,
                        task=result.task,
                        scorer=metric.scorer,
                        metric=metric.metric,
                        value=metric.value,
                        stderr=_finite(metric.stderr),
                        samples=result.samples_completed,
                        run_id=str(run.id),
                        bounds=_bounds(metric.metric, result.task),
                    )
                )
    return rows


def _response(response: FindingResponse, names: dict[uuid.UUID, str]) -> ResponseInfo:
    return ResponseInfo(
        org=names.get(response.org_id, str(response.org_id)),
        body=response.body,
        created_at=response.created_at,
    )


def _run_infos(run: EvalRun, names: dict[uuid.UUID, str]) -> list[RunInfo]:
    """The annex's lines for a run: one per task log, so that every log hash is listed."""

    def line(tasks: list[str], digest: str | None, done: int, total: int) -> RunInfo:
        return RunInfo(
            id=str(run.id),
            agency=names.get(run.org_id, str(run.org_id)),
            tasks=tasks,
            state=run.state.value,
            started_at=run.started_at,
            finished_at=run.finished_at,
            samples_done=done,
            samples_total=total,
            log_sha256=digest,
            is_baseline=run.is_baseline,
            reference_model=run.reference_model if run.is_baseline else None,
        )

    if not run.results:
        return [line(list(run.tasks), None, run.samples_done, run.samples_total or 0)]
    return [line([r.task], r.log_digest, r.samples_completed, r.samples_total) for r in run.results]
