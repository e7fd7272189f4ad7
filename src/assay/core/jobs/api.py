"""HTTP routes of the job subsystem: thin translations to ``jobs.service``."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from assay.api.deps import CurrentActor, PageDep, PageOut, RuntimeDep, SessionDep, page_out
from assay.core.jobs import service
from assay.core.jobs.models import JobStatus
from assay.core.jobs.schemas import JobPublic

router = APIRouter(prefix="/api/jobs", tags=["jobs"])


@router.get("")
def list_jobs(
    actor: CurrentActor,
    session: SessionDep,
    page: PageDep,
    status: JobStatus | None = None,
    kind: str | None = None,
) -> PageOut[JobPublic]:
    """The jobs of your organization, newest first."""
    result = service.list_jobs(
        session, actor=actor, status=status, kind=kind, limit=page.limit, offset=page.offset
    )
    return page_out(result, JobPublic)


@router.get("/{job_id}")
def get_job(job_id: uuid.UUID, actor: CurrentActor, session: SessionDep) -> JobPublic:
    """One job: status, progress, result or error."""
    return JobPublic.model_validate(service.get_job(session, actor=actor, job_id=job_id))


@router.post("/{job_id}/cancel")
def cancel_job(
    job_id: uuid.UUID, actor: CurrentActor, session: SessionDep, runtime: RuntimeDep
) -> JobPublic:
    """Cancel a job: a queued one at once, a running one at its next checkpoint."""
    job = service.cancel_job(session, actor=actor, clock=runtime.clock, job_id=job_id)
    return JobPublic.model_validate(job)
