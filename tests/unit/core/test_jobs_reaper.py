"""The reaper: jobs whose worker was lost go back on the queue, or fail when out of attempts."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from assay.core.audit import AuditEvent
from assay.core.clock import FrozenClock
from assay.core.jobs import lease, service
from assay.core.jobs.models import Job, JobStatus
from assay.core.jobs.queue import NullJobQueue
from assay.core.jobs.reaper import reap
from assay.runtime import Runtime


def _enqueue(session: Session, clock: FrozenClock, **params: Any) -> Job:
    job = service.enqueue_job(
        session, actor=None, clock=clock, queue=NullJobQueue(), kind="core.sleep", params=params
    )
    session.commit()
    return job


def _claim(session: Session, clock: FrozenClock, job: Job, owner: str, lease_s: float) -> None:
    assert lease.claim(session, clock=clock, job_id=job.id, owner=owner, lease_seconds=lease_s)
    session.commit()


def _fresh(session: Session, job_id: uuid.UUID) -> Job:
    job = session.get(Job, job_id, populate_existing=True)
    assert job is not None
    return job


def test_a_running_job_with_an_expired_lease_is_requeued(
    runtime: Runtime, session: Session, clock: FrozenClock
) -> None:
    lease_s = runtime.settings.job_lease_seconds
    job = _enqueue(session, clock)
    _claim(session, clock, job, "killed-worker", lease_s)
    queue = NullJobQueue()
    clock.advance(timedelta(seconds=lease_s - 1))
    assert reap(runtime, queue).requeued == []  # the lease still holds
    clock.advance(timedelta(seconds=2))
    report = reap(runtime, queue)
    assert report.requeued == [job.id] and queue.pushed == [job.id]
    requeued = _fresh(session, job.id)
    assert requeued.status == JobStatus.QUEUED and requeued.lease_owner is None
    assert requeued.enqueued_at == clock.now() and requeued.attempts == 1
    action = session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.object_id == str(job.id))
        .order_by(AuditEvent.seq.desc())
    ).first()
    assert action == "core:job:requeued"
    assert reap(runtime, queue).requeued == []  # once is enough
    assert queue.pushed == [job.id]


def test_a_queued_job_that_huey_lost_is_pushed_again(
    runtime: Runtime, session: Session, clock: FrozenClock
) -> None:
    job = _enqueue(session, clock)
    queue = NullJobQueue()
    assert reap(runtime, queue).repushed == []
    clock.advance(timedelta(seconds=runtime.settings.job_lease_seconds + 1))
    assert reap(runtime, queue).repushed == [job.id]
    assert queue.pushed == [job.id]
    assert _fresh(session, job.id).enqueued_at == clock.now()
    assert reap(runtime, queue).repushed == []  # not again until another lease passes


def test_a_job_out_of_attempts_is_failed_with_the_reason(
    runtime: Runtime, session: Session, clock: FrozenClock
) -> None:
    lease_s = runtime.settings.job_lease_seconds
    job = _enqueue(session, clock)
    queue = NullJobQueue()
    for _ in range(job.max_attempts):
        _claim(session, clock, job, "doomed", lease_s)
        clock.advance(timedelta(seconds=lease_s + 1))
        reap(runtime, queue)
    failed = _fresh(session, job.id)
    assert failed.status == JobStatus.FAILED and failed.attempts == job.max_attempts
    assert failed.error is not None
    assert failed.error.startswith(f"gave up after {job.max_attempts} attempts")
    assert len(queue.pushed) == job.max_attempts - 1


def test_a_lost_job_that_was_asked_to_cancel_is_cancelled(
    runtime: Runtime, session: Session, clock: FrozenClock
) -> None:
    job = _enqueue(session, clock)
    _claim(session, clock, job, "killed-worker", runtime.settings.job_lease_seconds)
    session.execute(update(Job).where(Job.id == job.id).values(cancel_requested=True))
    session.commit()
    clock.advance(timedelta(seconds=runtime.settings.job_lease_seconds + 1))
    queue = NullJobQueue()
    assert reap(runtime, queue).cancelled == [job.id]
    assert queue.pushed == []
    assert _fresh(session, job.id).status == JobStatus.CANCELLED


def test_live_and_finished_jobs_are_left_alone(
    runtime: Runtime, session: Session, clock: FrozenClock
) -> None:
    lease_s = runtime.settings.job_lease_seconds
    live, done = _enqueue(session, clock), _enqueue(session, clock)
    _claim(session, clock, live, "alive", lease_s)
    _claim(session, clock, done, "finisher", lease_s)
    lease.finish(session, clock=clock, job_id=done.id, owner="finisher", status=JobStatus.SUCCEEDED)
    session.commit()
    for _ in range(3):  # a live worker renews its lease before it runs out
        clock.advance(timedelta(seconds=lease_s / 2))
        lease.renew(session, job_id=live.id, owner="alive", now=clock.now(), lease_seconds=lease_s)
        session.commit()
    report = reap(runtime, NullJobQueue())
    assert report.requeued == report.repushed == report.failed == []
    assert _fresh(session, live.id).status == JobStatus.RUNNING
    assert _fresh(session, done.id).status == JobStatus.SUCCEEDED
