"""Job services for the doors: enqueue, read, list and cancel.

Like every service they take a session, the acting user and the clock, authorize through
``assay.core.authz``, write an audit event for each change, and leave the commit to the
caller's unit of work. ``actor`` None is the system itself (a scheduled or internal job).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from assay.core.audit import record_event
from assay.core.authz import Actor, OwnerColumns, Permission, authorize, visible_filter
from assay.core.clock import Clock
from assay.core.errors import Conflict, FieldError, InvalidInput, NotFound
from assay.core.jobs.events import JobEvent
from assay.core.jobs.models import FINISHED, Job, JobStatus
from assay.core.jobs.queue import JobQueue, push_after_commit
from assay.core.jobs.registry import require_handler
from assay.core.pagination import Page, paginate


def enqueue_job(
    session: Session,
    *,
    actor: Actor | None,
    clock: Clock,
    queue: JobQueue,
    kind: str,
    params: dict[str, Any] | None = None,
    org_id: uuid.UUID | None = None,
) -> Job:
    """Create a queued job of ``kind``; it is pushed to ``queue`` when the caller commits.

    The job belongs to the actor's organization; a system job (``actor`` None) to ``org_id``,
    or, when that is None, to the instance (only instance admins see it)."""
    spec = require_handler(kind)
    if actor is not None:
        authorize(actor, Permission.JOB_CREATE)
        if spec.requires is not None:
            authorize(actor, spec.requires)
        org_id = actor.org_id
    clean = spec.validate_params(_json_object(params or {}))
    now = clock.now()
    job = Job(
        id=uuid.uuid4(),
        kind=kind,
        params=clean,
        status=JobStatus.QUEUED,
        org_id=org_id,
        created_by=actor.user_id if actor else None,
        progress_done=0,
        progress_total=None,
        attempts=0,
        max_attempts=queue.max_attempts,
        cancel_requested=False,
        enqueued_at=now,
        created_at=now,
    )
    session.add(job)
    record_event(
        session,
        clock=clock,
        actor=actor,
        action=JobEvent.ENQUEUED,
        object_type="job",
        object_id=job.id,
        details={"kind": kind, "org_id": org_id},
    )
    push_after_commit(session, queue, job.id)
    return job


def _json_object(params: dict[str, Any]) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = json.loads(json.dumps(params, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            "job parameters must be JSON", errors=[FieldError("params", str(exc))]
        ) from exc
    return loaded


def get_job(session: Session, *, actor: Actor, job_id: uuid.UUID) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound("no such job")
    authorize(actor, Permission.JOB_READ, job)
    return job


def list_jobs(
    session: Session,
    *,
    actor: Actor,
    status: JobStatus | None = None,
    kind: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[Job]:
    """The jobs the actor may see, newest first."""
    stmt = select(Job).where(visible_filter(actor, Permission.JOB_READ, OwnerColumns(Job.org_id)))
    if status is not None:
        stmt = stmt.where(Job.status == status)
    if kind is not None:
        stmt = stmt.where(Job.kind == kind)
    stmt = stmt.order_by(Job.created_at.desc(), Job.id)
    return paginate(session, stmt, limit=limit, offset=offset)


def cancel_job(session: Session, *, actor: Actor, clock: Clock, job_id: uuid.UUID) -> Job:
    """Cancel a job: a queued one at once; a running one at its handler's next checkpoint.

    Cancelling a cancelled job, or one already asked to stop, changes nothing."""
    job = get_job(session, actor=actor, job_id=job_id)
    authorize(actor, Permission.JOB_CANCEL, job)
    now = clock.now()
    # Conditional updates: the job may be claimed between the read above and the write.
    if _transition(session, job, JobStatus.QUEUED, status=JobStatus.CANCELLED, finished_at=now):
        action = JobEvent.CANCELLED
    elif _transition(session, job, JobStatus.RUNNING, cancel_requested=True):
        action = JobEvent.CANCEL_REQUESTED
    else:
        session.refresh(job)
        if job.status == JobStatus.CANCELLED or (
            job.status == JobStatus.RUNNING and job.cancel_requested
        ):
            return job
        if job.status in FINISHED:
            raise Conflict(f"the job has already {job.status.value}; there is nothing to cancel")
        raise Conflict("the job changed while it was being cancelled; try again")
    session.refresh(job)
    record_event(
        session,
        clock=clock,
        actor=actor,
        action=action,
        object_type="job",
        object_id=job.id,
        details={"kind": job.kind},
    )
    return job


def _transition(session: Session, job: Job, expected: JobStatus, **values: Any) -> bool:
    conditions = [Job.id == job.id, Job.status == expected]
    if "cancel_requested" in values:
        conditions.append(Job.cancel_requested.is_(False))
    changed = session.execute(
        update(Job)
        .where(*conditions)
        .values(**values)
        .returning(Job.id)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    return changed is not None
