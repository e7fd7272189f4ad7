"""Eval runs: start one in an open window, follow it, cancel it, resume it, mark a baseline.

Starting a run checks the window against the clock and queues an ``evals.run`` job; the
job (``assay.evals.executor``) runs Inspect against the gateway, so the gateway's own
window check and metering apply to every call the run makes. Nothing here reads a score to
decide anything: a run's outcome is reported, never acted on.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from assay.core.audit import record_event
from assay.core.authz import Actor, OwnerColumns, Permission, authorize, visible_filter
from assay.core.blobs import BlobStore
from assay.core.clock import Clock
from assay.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from assay.core.jobs.models import Job
from assay.core.jobs.queue import JobQueue
from assay.core.jobs.service import cancel_job, enqueue_job
from assay.core.pagination import Page, paginate
from assay.evals.events import EvalEvent
from assay.evals.models import ACTIVE_STATES, RESUMABLE_STATES, EvalRun, RunState
from assay.evals.schemas import (
    UPLOAD_PREFIX,
    MetricOut,
    RunCreate,
    RunPublic,
    TaskResultOut,
)
from assay.frontier import windows
from assay.frontier.models import (
    Agreement,
    AgreementParty,
    AgreementState,
    ReviewWindow,
    WindowState,
)

JOB_KIND = "evals.run"
MAX_TASK_FILE_BYTES = 1024 * 1024


def _shared_with_run(org_id: uuid.UUID) -> Any:
    developer = exists().where(ReviewWindow.id == EvalRun.window_id, ReviewWindow.org_id == org_id)
    fellow_agency = exists().where(
        ReviewWindow.id == EvalRun.window_id,
        Agreement.id == ReviewWindow.agreement_id,
        Agreement.share_findings_between_agencies.is_(True),
        Agreement.state.in_((AgreementState.PROPOSED, AgreementState.ACTIVE)),
        AgreementParty.agreement_id == Agreement.id,
        AgreementParty.org_id == org_id,
    )
    return or_(developer, fellow_agency)


RUN_COLUMNS = OwnerColumns(org=EvalRun.org_id, shared_with=_shared_with_run)


def start_run(
    session: Session,
    *,
    actor: Actor,
    clock: Clock,
    queue: JobQueue,
    blobs: BlobStore,
    data: RunCreate,
    task_file: tuple[str, bytes] | None = None,
    allow_task_files: bool = False,
) -> EvalRun:
    """Queue a run of ``data.tasks`` on the window's model. Refused unless the window is open
    now and the actor's agency is party to it; an upload is kept in the blob store.

    An uploaded task file is Python that the worker imports, with the worker's rights: it is
    refused unless the instance allows it (``ASSAY_EVAL_ALLOW_TASK_FILES``)."""
    window = session.get(ReviewWindow, data.window_id)
    if window is None:
        raise NotFound("no such window")
    authorize(actor, Permission.EVAL_RUN, window)
    state = windows.state_of(window, clock.now())
    if state != WindowState.OPEN:
        raise Conflict(f"the window is {state.value}: runs start only while it is open")
    uses_upload = any(t.startswith(UPLOAD_PREFIX) for t in data.tasks)
    file_digest = file_name = None
    if uses_upload != (task_file is not None):
        raise InvalidInput(
            "an upload: task needs a task file, and a task file needs an upload: task"
        )
    if task_file is not None and not allow_task_files:
        raise Forbidden(
            "this instance does not run uploaded task files (ASSAY_EVAL_ALLOW_TASK_FILES): "
            "they run as code in the worker"
        )
    if task_file is not None:
        file_name, content = task_file
        file_name = Path(file_name).name
        if not file_name.endswith(".py") or len(content) > MAX_TASK_FILE_BYTES:
            raise InvalidInput("a task file is one Python file (.py) of at most 1 MiB")
        try:
            compile(content, file_name, "exec")
        except (SyntaxError, ValueError) as exc:
            raise InvalidInput(f"{file_name} is not valid Python: {exc}") from exc
        file_digest = blobs.put(content)
    now = clock.now()
    run = EvalRun(
        id=uuid.uuid4(),
        window_id=window.id,
        org_id=actor.org_id,
        created_by=actor.user_id,
        tasks=list(data.tasks),
        options=data.options.model_dump(mode="json"),
        task_file=file_digest,
        task_file_name=file_name,
        state=RunState.QUEUED,
        samples_done=0,
        input_tokens=0,
        output_tokens=0,
        is_baseline=False,
        reference_model=window.model.name,
        created_at=now,
    )
    run.window = window
    run.results = []
    session.add(run)
    session.flush()
    job = enqueue_job(
        session, actor=actor, clock=clock, queue=queue, kind=JOB_KIND, params={"run": str(run.id)}
    )
    run.job_id = job.id
    record_event(
        session,
        clock=clock,
        actor=actor,
        action=EvalEvent.RUN_QUEUED,
        object_type="eval_run",
        object_id=run.id,
        details={"window": str(window.id), "tasks": run.tasks, "job": str(job.id)},
    )
    return run


def get_run(session: Session, *, actor: Actor, run_id: uuid.UUID) -> EvalRun:
    run = session.get(EvalRun, run_id)
    if run is None:
        raise NotFound("no such eval run")
    if run.is_baseline and run.window_id is None:
        authorize(actor, Permission.BASELINE_READ, run)
    else:
        authorize(actor, Permission.EVAL_READ, run)
    return run


def list_runs(
    session: Session,
    *,
    actor: Actor,
    limit: int,
    offset: int,
    window_id: uuid.UUID | None = None,
    state: RunState | None = None,
) -> Page[EvalRun]:
    stmt = select(EvalRun).where(
        EvalRun.window_id.is_not(None), visible_filter(actor, Permission.EVAL_READ, RUN_COLUMNS)
    )
    if window_id is not None:
        stmt = stmt.where(EvalRun.window_id == window_id)
    if state is not None:
        stmt = stmt.where(EvalRun.state == state)
    stmt = stmt.order_by(EvalRun.created_at.desc(), EvalRun.id)
    return paginate(session, stmt, limit=limit, offset=offset)


def list_baselines(session: Session, *, actor: Actor) -> list[EvalRun]:
    """Every baseline the actor may compare against."""
    authorize(actor, Permission.BASELINE_READ)
    stmt = select(EvalRun).where(EvalRun.is_baseline.is_(True))
    rows = session.scalars(stmt.order_by(EvalRun.reference_model, EvalRun.created_at)).all()
    visible = []
    for run in rows:
        try:
            authorize(actor, Permission.BASELINE_READ, run)
        except NotFound:
            continue
        visible.append(run)
    return visible


def cancel_run(session: Session, *, actor: Actor, clock: Clock, run_id: uuid.UUID) -> EvalRun:
    """Ask the run to stop. A queued run stops at once; a running one at its next check
    (Inspect writes its log as cancelled, and a resume picks up from it)."""
    run = get_run(session, actor=actor, run_id=run_id)
    authorize(actor, Permission.EVAL_CANCEL, run)
    if run.state not in ACTIVE_STATES:
        raise Conflict(f"the run is {run.state.value}; there is nothing to cancel")
    if run.job_id is not None:
        job = session.get(Job, run.job_id)
        if job is not None and job.finished_at is None:
            cancel_job(session, actor=actor, clock=clock, job_id=run.job_id)
    if run.state == RunState.QUEUED:
        run.state = RunState.CANCELLED
        run.finished_at = clock.now()
    record_event(
        session,
        clock=clock,
        actor=actor,
        action=EvalEvent.RUN_CANCEL_REQUESTED,
        object_type="eval_run",
        object_id=run.id,
        details={"state": run.state.value},
    )
    return run


def resume_run(
    session: Session, *, actor: Actor, clock: Clock, queue: JobQueue, run_id: uuid.UUID
) -> EvalRun:
    """Queue a failed or cancelled run again; its completed samples are kept (``eval_retry``)."""
    run = get_run(session, actor=actor, run_id=run_id)
    authorize(actor, Permission.EVAL_CANCEL, run)
    if run.state not in RESUMABLE_STATES:
        raise Conflict(f"the run is {run.state.value}; only a failed or cancelled run resumes")
    assert run.window is not None
    state = windows.state_of(run.window, clock.now())
    if state != WindowState.OPEN:
        raise Conflict(f"the window is {state.value}: runs resume only while it is open")
    job = enqueue_job(
        session, actor=actor, clock=clock, queue=queue, kind=JOB_KIND, params={"run": str(run.id)}
    )
    run.job_id = job.id
    run.state = RunState.QUEUED
    run.error = None
    run.finished_at = None
    record_event(
        session,
        clock=clock,
        actor=actor,
        action=EvalEvent.RUN_RESUMED,
        object_type="eval_run",
        object_id=run.id,
        details={"job": str(job.id)},
    )
    return run


def mark_baseline(
    session: Session, *, actor: Actor, clock: Clock, run_id: uuid.UUID, reference_model: str
) -> EvalRun:
    """Mark a finished run as the baseline for ``reference_model``: reports of every window
    then compare their scores with it."""
    run = get_run(session, actor=actor, run_id=run_id)
    authorize(actor, Permission.BASELINE_WRITE, run)
    if run.state != RunState.SUCCEEDED:
        raise Conflict(f"the run is {run.state.value}; only a finished run can be a baseline")
    run.is_baseline = True
    run.reference_model = reference_model.strip()
    record_event(
        session,
        clock=clock,
        actor=actor,
        action=EvalEvent.BASELINE_MARKED,
        object_type="eval_run",
        object_id=run.id,
        details={"reference_model": run.reference_model},
    )
    return run


def mark_stopped_before_start(session: Session, run: EvalRun, *, clock: Clock) -> None:
    """A run whose window closed before any worker started it: stopped, and audited."""
    run.state = RunState.STOPPED_AT_WINDOW_CLOSE
    run.finished_at = clock.now()
    record_event(
        session,
        clock=clock,
        actor=None,
        action=EvalEvent.RUN_STOPPED_AT_WINDOW_CLOSE,
        object_type="eval_run",
        object_id=run.id,
        details={"before_start": True},
    )


def stop_queued_at_window_close(session: Session, *, clock: Clock) -> int:
    """Mark queued runs of windows that have closed as stopped, and cancel their jobs: a run
    no worker reached before the close must not wait in the queue for ever. Running runs
    stop themselves (their executor watches the window); this is the periodic sweep's part.
    """
    now = clock.now()
    queued = session.scalars(
        select(EvalRun).where(EvalRun.state == RunState.QUEUED, EvalRun.window_id.is_not(None))
    ).all()
    stopped = 0
    for run in queued:
        if run.window is None or windows.state_of(run.window, now) in (
            WindowState.OPEN,
            WindowState.SCHEDULED,
        ):
            continue
        mark_stopped_before_start(session, run, clock=clock)
        if run.job_id is not None:
            job = session.get(Job, run.job_id)
            if job is not None and job.finished_at is None:
                job.cancel_requested = True
        stopped += 1
    return stopped


def progress_of(run: EvalRun) -> float | None:
    if not run.samples_total:
        return 1.0 if run.state == RunState.SUCCEEDED else None
    return min(1.0, run.samples_done / run.samples_total)


def to_public(run: EvalRun) -> RunPublic:
    return RunPublic(
        id=run.id,
        window_id=run.window_id,
        agency_id=run.org_id,
        tasks=run.tasks,
        options=run.options,
        state=run.state,
        samples_done=run.samples_done,
        samples_total=run.samples_total,
        progress=progress_of(run),
        input_tokens=run.input_tokens,
        output_tokens=run.output_tokens,
        error=run.error,
        is_baseline=run.is_baseline,
        reference_model=run.reference_model,
        job_id=run.job_id,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        results=[
            TaskResultOut(
                task=r.task,
                status=r.status,
                samples_total=r.samples_total,
                samples_completed=r.samples_completed,
                input_tokens=r.input_tokens,
                output_tokens=r.output_tokens,
                log_sha256=r.log_digest,
                log_name=r.log_name,
                error=r.error,
                metrics=[
                    MetricOut(scorer=m.scorer, metric=m.metric, value=m.value, stderr=m.stderr)
                    for m in r.metrics
                ],
            )
            for r in run.results
        ],
    )


__all__ = [
    "JOB_KIND",
    "cancel_run",
    "get_run",
    "list_baselines",
    "list_runs",
    "mark_baseline",
    "resume_run",
    "start_run",
    "to_public",
]
