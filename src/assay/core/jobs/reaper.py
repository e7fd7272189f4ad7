"""Finds jobs that huey lost and puts them back on the queue.

huey takes a task off its queue before running it and never acknowledges it, so a worker
killed mid-task takes the task with it. Every worker therefore runs a reaper that, every
``job_reaper_interval_seconds``, looks for

* running jobs whose lease expired (their worker stopped renewing it: killed or hung),
  which it re-queues, or fails once they used all their attempts, or cancels if a cancel
  was requested meanwhile; and
* queued jobs enqueued longer than a lease ago, which it pushes again in case the push
  was lost (a crash between commit and push, or a queue that lost its data).

Every change is a conditional UPDATE that repeats the condition the job was found by, so
several reapers, and a worker renewing its lease at that moment, never both win. A job
pushed twice is harmless: only one claim succeeds.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.orm import Session

from assay.core.audit import record_event
from assay.core.clock import Clock
from assay.core.jobs.context import JobRuntime
from assay.core.jobs.events import JobEvent
from assay.core.jobs.models import Job, JobStatus
from assay.core.jobs.queue import JobQueue

log = logging.getLogger(__name__)

BATCH = 200
_NO_SYNC = {"synchronize_session": False}


@dataclass
class ReapReport:
    """What one pass did, by job id."""

    requeued: list[uuid.UUID] = field(default_factory=list)
    """Running under an expired lease, put back on the queue."""
    repushed: list[uuid.UUID] = field(default_factory=list)
    """Queued for longer than a lease, pushed again."""
    failed: list[uuid.UUID] = field(default_factory=list)
    """Out of attempts."""
    cancelled: list[uuid.UUID] = field(default_factory=list)
    """Cancel requested while their worker was lost."""


@dataclass(frozen=True)
class _Candidate:
    id: uuid.UUID
    status: JobStatus
    attempts: int
    max_attempts: int
    cancel_requested: bool


def reap(runtime: JobRuntime, queue: JobQueue) -> ReapReport:
    """One pass over the jobs that look lost; pushes only after each change has committed."""
    now = runtime.clock.now()
    stale_before = now - timedelta(seconds=runtime.settings.job_lease_seconds)
    report = ReapReport()
    with runtime.db.session() as session:
        candidates = _find(session, now, stale_before)
    for candidate in candidates:
        with runtime.db.transaction(write=True) as session:
            outcome = _settle(session, runtime.clock, candidate, now, stale_before)
        if outcome is not None:
            getattr(report, outcome).append(candidate.id)
            if outcome in ("requeued", "repushed"):
                queue.push(candidate.id)
    if any((report.requeued, report.repushed, report.failed, report.cancelled)):
        log.info(
            "reaper: %d requeued, %d pushed again, %d failed, %d cancelled",
            len(report.requeued),
            len(report.repushed),
            len(report.failed),
            len(report.cancelled),
        )
    return report


def _expired(now: datetime) -> ColumnElement[bool]:
    return and_(Job.status == JobStatus.RUNNING, Job.lease_expires_at < now)


def _stale(stale_before: datetime) -> ColumnElement[bool]:
    return and_(Job.status == JobStatus.QUEUED, Job.enqueued_at < stale_before)


def _find(session: Session, now: datetime, stale_before: datetime) -> list[_Candidate]:
    rows = session.execute(
        select(Job.id, Job.status, Job.attempts, Job.max_attempts, Job.cancel_requested)
        .where(_expired(now) | _stale(stale_before))
        .order_by(Job.enqueued_at)
        .limit(BATCH)
    ).all()
    return [
        _Candidate(r.id, r.status, r.attempts, r.max_attempts, r.cancel_requested) for r in rows
    ]


def _settle(
    session: Session, clock: Clock, c: _Candidate, now: datetime, stale_before: datetime
) -> str | None:
    """Apply the one change due to ``c``; the name of the report list it goes in, or None
    when the job changed since it was found."""
    found_by = _expired(now) if c.status == JobStatus.RUNNING else _stale(stale_before)
    outcome, event, values, details = _change_for(c, now)
    changed = session.execute(
        update(Job)
        .where(Job.id == c.id, found_by)
        .values(**values, lease_owner=None, lease_expires_at=None)
        .returning(Job.id)
        .execution_options(**_NO_SYNC)
    ).one_or_none()
    if changed is None:
        return None
    if event is not None:
        record_event(
            session,
            clock=clock,
            actor=None,
            action=event,
            object_type="job",
            object_id=c.id,
            details=details,
        )
    return outcome


def _change_for(
    c: _Candidate, now: datetime
) -> tuple[str, JobEvent | None, dict[str, Any], dict[str, Any]]:
    """(report list, audit event, new values, event details) for a job that looks lost."""
    if c.cancel_requested:
        values: dict[str, Any] = {"status": JobStatus.CANCELLED, "finished_at": now}
        return "cancelled", JobEvent.CANCELLED, values, {"reason": "its worker was lost"}
    if c.attempts >= c.max_attempts:
        error = (
            f"gave up after {c.attempts} attempts: each time, the worker running the job "
            "stopped renewing its lease (killed, out of memory, or hung); see docs/jobs.md"
        )
        values = {"status": JobStatus.FAILED, "finished_at": now, "error": error}
        return "failed", JobEvent.FAILED, values, {"error": error}
    if c.status == JobStatus.RUNNING:
        values = {"status": JobStatus.QUEUED, "enqueued_at": now}
        return "requeued", JobEvent.REQUEUED, values, {"after_attempt": c.attempts}
    return "repushed", None, {"enqueued_at": now}, {}


class Reaper:
    """Runs ``reap`` in a background thread every ``job_reaper_interval_seconds``."""

    def __init__(self, runtime: JobRuntime, queue: JobQueue) -> None:
        self._runtime = runtime
        self._queue = queue
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="job-reaper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        interval = self._runtime.settings.job_reaper_interval_seconds
        while not self._stop.is_set():
            try:
                reap(self._runtime, self._queue)
            except Exception:
                log.exception("reaper pass failed; trying again in %ss", interval)
            self._stop.wait(interval)
