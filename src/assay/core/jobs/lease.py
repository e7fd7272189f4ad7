"""The job record's worker side: claim, renew and finish, each one conditional UPDATE.

Each transition names the state it expects in its WHERE clause, so when two workers (or a
worker and the reaper) race for one job only one UPDATE matches the row; the other matches
nothing and backs off. Each runs first in its transaction, so that on SQLite the write lock
is taken before anything is read: a transaction that reads and then writes can fail there
with "database is locked" when another writer got in between.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, literal, or_, update
from sqlalchemy.orm import Session

from assay.core.audit import record_event
from assay.core.clock import Clock
from assay.core.db import UTCDateTime
from assay.core.jobs.events import JobEvent
from assay.core.jobs.models import Job, JobStatus

_NO_SYNC = {"synchronize_session": False}
_FINISH_EVENTS = {
    JobStatus.SUCCEEDED: JobEvent.SUCCEEDED,
    JobStatus.FAILED: JobEvent.FAILED,
    JobStatus.CANCELLED: JobEvent.CANCELLED,
}


def new_owner() -> str:
    """A lease owner unique to one attempt: host, process and a random part."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{uuid.uuid4().hex[:16]}"


def _at(when: datetime) -> Any:
    # A literal typed as the column is, so SQLite stores it in the same form.
    return literal(when, UTCDateTime())


@dataclass(frozen=True)
class Claim:
    """A job this worker now holds."""

    job_id: uuid.UUID
    owner: str
    kind: str
    params: dict[str, Any]
    attempt: int
    """This attempt's number, 1 for the first."""
    progress_done: int
    progress_total: int | None


def claim(
    session: Session, *, clock: Clock, job_id: uuid.UUID, owner: str, lease_seconds: float
) -> Claim | None:
    """Take the job if it is queued, or running under an expired lease, and not cancelled or
    out of attempts; None when it is not to be had."""
    now = clock.now()
    claimable = or_(
        Job.status == JobStatus.QUEUED,
        and_(Job.status == JobStatus.RUNNING, Job.lease_expires_at < _at(now)),
    )
    row = session.execute(
        update(Job)
        .where(
            Job.id == job_id,
            claimable,
            Job.cancel_requested.is_(False),
            Job.attempts < Job.max_attempts,
        )
        .values(
            status=JobStatus.RUNNING,
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            heartbeat_at=now,
            attempts=Job.attempts + 1,
            started_at=func.coalesce(Job.started_at, _at(now)),
        )
        .returning(Job.kind, Job.params, Job.attempts, Job.progress_done, Job.progress_total)
        .execution_options(**_NO_SYNC)
    ).one_or_none()
    if row is None:
        return None
    record_event(
        session,
        clock=clock,
        actor=None,
        action=JobEvent.STARTED,
        object_type="job",
        object_id=job_id,
        details={"attempt": row.attempts, "owner": owner},
    )
    return Claim(
        job_id=job_id,
        owner=owner,
        kind=row.kind,
        params=dict(row.params or {}),
        attempt=row.attempts,
        progress_done=row.progress_done,
        progress_total=row.progress_total,
    )


@dataclass(frozen=True)
class Renewal:
    held: bool
    """False when the job is no longer this owner's (taken over, finished or reaped)."""
    cancel_requested: bool


def renew(
    session: Session,
    *,
    job_id: uuid.UUID,
    owner: str,
    now: datetime,
    lease_seconds: float,
    progress: tuple[int, int | None] | None = None,
) -> Renewal:
    """Extend the lease, saving progress if given; tells whether a cancel was requested."""
    values: dict[str, Any] = {
        "lease_expires_at": now + timedelta(seconds=lease_seconds),
        "heartbeat_at": now,
    }
    if progress is not None:
        done, total = progress
        values["progress_done"] = done
        if total is not None:
            values["progress_total"] = total
    row = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.lease_owner == owner, Job.status == JobStatus.RUNNING)
        .values(**values)
        .returning(Job.cancel_requested)
        .execution_options(**_NO_SYNC)
    ).one_or_none()
    if row is None:
        return Renewal(held=False, cancel_requested=False)
    return Renewal(held=True, cancel_requested=bool(row.cancel_requested))


def finish(
    session: Session,
    *,
    clock: Clock,
    job_id: uuid.UUID,
    owner: str,
    status: JobStatus,
    result: dict[str, Any] | None = None,
    error: str | None = None,
) -> bool:
    """Record how the attempt ended; False (and nothing written) if the lease was lost."""
    now = clock.now()
    updated = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.lease_owner == owner, Job.status == JobStatus.RUNNING)
        .values(
            status=status,
            finished_at=now,
            result=result,
            error=error,
            lease_owner=None,
            lease_expires_at=None,
        )
        .returning(Job.id)
        .execution_options(**_NO_SYNC)
    ).one_or_none()
    if updated is None:
        return False
    details: dict[str, Any] = {"owner": owner}
    if error:
        details["error"] = error[:500]
    record_event(
        session,
        clock=clock,
        actor=None,
        action=_FINISH_EVENTS[status],
        object_type="job",
        object_id=job_id,
        details=details,
    )
    return True


def jsonable_result(value: object) -> dict[str, Any] | None:
    """A handler's return value as it will be stored; ValueError says why it cannot be."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"a handler returns a dict or None, not {type(value).__name__}")
    try:
        loaded: dict[str, Any] = json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the handler's result is not JSON: {exc}") from exc
    return loaded
