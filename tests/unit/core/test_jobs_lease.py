"""Claiming, renewing and finishing jobs, and the runner that does it around a handler."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from assay.core.audit import AuditEvent
from assay.core.clock import FrozenClock
from assay.core.jobs import JobContext, job_handler, lease, service
from assay.core.jobs.models import Job, JobStatus
from assay.core.jobs.queue import NullJobQueue
from assay.core.jobs.runner import RunOutcome, run_job
from assay.runtime import Runtime

LEASE = 60.0


@job_handler("test.fail")
def _fail(ctx: JobContext, params: dict[str, Any]) -> None:
    ctx.progress(1, 3)
    raise RuntimeError("the model endpoint said no")


@job_handler("test.cancel_midway")
def _cancel_midway(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    ctx.progress(1, 3)
    with ctx.transaction() as session:  # as a user's cancel would, from another process
        session.execute(update(Job).where(Job.id == ctx.job_id).values(cancel_requested=True))
    ctx.progress(2, 3)
    return {"unreachable": True}


@job_handler("test.taken_over")
def _taken_over(ctx: JobContext, params: dict[str, Any]) -> None:
    with ctx.transaction() as session:  # as if the lease expired and another worker took it
        session.execute(update(Job).where(Job.id == ctx.job_id).values(lease_owner="other"))
    ctx.check_cancelled()


@job_handler("test.bad_result")
def _bad_result(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    return {"when": object()}


def _enqueue(session: Session, clock: FrozenClock, kind: str = "core.sleep", **params: Any) -> Job:
    job = service.enqueue_job(
        session, actor=None, clock=clock, queue=NullJobQueue(), kind=kind, params=params
    )
    session.commit()
    return job


def _fresh(session: Session, job_id: uuid.UUID) -> Job:
    job = session.get(Job, job_id, populate_existing=True)
    assert job is not None
    return job


def _actions(session: Session, job_id: uuid.UUID) -> list[str]:
    query = select(AuditEvent.action).where(AuditEvent.object_id == str(job_id))
    return list(session.scalars(query.order_by(AuditEvent.seq)))


def test_a_claim_is_exclusive(session: Session, clock: FrozenClock) -> None:
    job = _enqueue(session, clock)
    first = lease.claim(session, clock=clock, job_id=job.id, owner="w1", lease_seconds=LEASE)
    second = lease.claim(session, clock=clock, job_id=job.id, owner="w2", lease_seconds=LEASE)
    assert first is not None and first.attempt == 1 and first.kind == "core.sleep"
    assert second is None
    claimed = _fresh(session, job.id)
    assert claimed.status == JobStatus.RUNNING and claimed.lease_owner == "w1"
    assert claimed.lease_expires_at == clock.now() + timedelta(seconds=LEASE)
    assert claimed.started_at == clock.now()
    assert _actions(session, job.id) == ["core:job:enqueued", "core:job:started"]


def test_an_expired_lease_can_be_reclaimed_and_counts_an_attempt(
    session: Session, clock: FrozenClock
) -> None:
    job = _enqueue(session, clock)
    started = clock.now()
    assert lease.claim(session, clock=clock, job_id=job.id, owner="w1", lease_seconds=LEASE)
    clock.advance(timedelta(seconds=LEASE - 1))
    assert not lease.claim(session, clock=clock, job_id=job.id, owner="w2", lease_seconds=LEASE)
    clock.advance(timedelta(seconds=2))
    second = lease.claim(session, clock=clock, job_id=job.id, owner="w2", lease_seconds=LEASE)
    assert second is not None and second.attempt == 2
    reclaimed = _fresh(session, job.id)
    assert reclaimed.lease_owner == "w2" and reclaimed.attempts == 2
    assert reclaimed.started_at == started  # the first start, not the latest
    stale = lease.renew(session, job_id=job.id, owner="w1", now=clock.now(), lease_seconds=LEASE)
    assert not stale.held


def test_no_claim_beyond_max_attempts_or_after_a_cancel(
    session: Session, clock: FrozenClock
) -> None:
    job = _enqueue(session, clock)
    session.execute(update(Job).where(Job.id == job.id).values(attempts=Job.max_attempts))
    assert lease.claim(session, clock=clock, job_id=job.id, owner="w", lease_seconds=LEASE) is None
    other = _enqueue(session, clock)
    session.execute(update(Job).where(Job.id == other.id).values(cancel_requested=True))
    assert (
        lease.claim(session, clock=clock, job_id=other.id, owner="w", lease_seconds=LEASE) is None
    )


def test_renewing_saves_progress_and_extends_the_lease(
    session: Session, clock: FrozenClock
) -> None:
    job = _enqueue(session, clock)
    assert lease.claim(session, clock=clock, job_id=job.id, owner="w1", lease_seconds=LEASE)
    clock.advance(timedelta(seconds=30))
    renewal = lease.renew(
        session,
        job_id=job.id,
        owner="w1",
        now=clock.now(),
        lease_seconds=LEASE,
        progress=(3, 10),
    )
    assert renewal.held and not renewal.cancel_requested
    lease.renew(
        session, job_id=job.id, owner="w1", now=clock.now(), lease_seconds=LEASE, progress=(4, None)
    )
    renewed = _fresh(session, job.id)
    assert (renewed.progress_done, renewed.progress_total) == (4, 10)
    assert renewed.lease_expires_at == clock.now() + timedelta(seconds=LEASE)
    assert renewed.heartbeat_at == clock.now()


def test_the_runner_runs_a_job_to_success_with_progress(
    runtime: Runtime, session: Session, clock: FrozenClock
) -> None:
    job = _enqueue(session, clock, steps=3, step_seconds=0)
    assert run_job(runtime, job.id) == RunOutcome.SUCCEEDED
    done = _fresh(session, job.id)
    assert done.status == JobStatus.SUCCEEDED
    assert (done.progress_done, done.progress_total, done.attempts) == (3, 3, 1)
    assert done.result == {"steps": 3, "resumed_at": 0, "attempt": 1}
    assert done.finished_at == clock.now() and done.lease_owner is None
    assert _actions(session, job.id)[-1] == "core:job:succeeded"
    assert run_job(runtime, job.id) == RunOutcome.SKIPPED  # a second delivery is harmless


def test_a_later_attempt_resumes_where_the_last_one_got_to(
    runtime: Runtime, session: Session, clock: FrozenClock
) -> None:
    job = _enqueue(session, clock, steps=4, step_seconds=0)
    assert lease.claim(session, clock=clock, job_id=job.id, owner="lost", lease_seconds=LEASE)
    lease.renew(
        session, job_id=job.id, owner="lost", now=clock.now(), lease_seconds=LEASE, progress=(3, 4)
    )
    session.commit()
    clock.advance(timedelta(seconds=LEASE + 1))
    assert run_job(runtime, job.id) == RunOutcome.SUCCEEDED
    assert _fresh(session, job.id).result == {"steps": 4, "resumed_at": 3, "attempt": 2}


def test_a_handler_error_fails_the_job(
    runtime: Runtime, session: Session, clock: FrozenClock
) -> None:
    job = _enqueue(session, clock, kind="test.fail")
    assert run_job(runtime, job.id) == RunOutcome.FAILED
    failed = _fresh(session, job.id)
    assert failed.status == JobStatus.FAILED
    assert failed.error == "RuntimeError: the model endpoint said no"
    assert failed.progress_done == 1 and failed.attempts == 1
    assert _actions(session, job.id)[-1] == "core:job:failed"


def test_a_cancel_stops_a_running_job_at_its_next_checkpoint(
    runtime: Runtime, session: Session, clock: FrozenClock
) -> None:
    job = _enqueue(session, clock, kind="test.cancel_midway")
    assert run_job(runtime, job.id) == RunOutcome.CANCELLED
    cancelled = _fresh(session, job.id)
    assert cancelled.status == JobStatus.CANCELLED and cancelled.result is None
    assert cancelled.progress_done == 2
    assert _actions(session, job.id)[-1] == "core:job:cancelled"


def test_a_worker_that_lost_its_lease_stops_and_writes_nothing(
    runtime: Runtime, session: Session, clock: FrozenClock
) -> None:
    job = _enqueue(session, clock, kind="test.taken_over")
    assert run_job(runtime, job.id) == RunOutcome.LOST
    held = _fresh(session, job.id)
    assert held.status == JobStatus.RUNNING and held.lease_owner == "other"


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("test.bad_result", "ValueError: the handler's result is not JSON"),
        ("test.unregistered", "no handler for job kind 'test.unregistered'"),
    ],
)
def test_a_bad_result_or_a_missing_handler_fails_the_job(
    runtime: Runtime, session: Session, clock: FrozenClock, kind: str, error: str
) -> None:
    if kind == "test.unregistered":  # made by a worker that knew a kind this one does not
        job = _enqueue(session, clock)
        session.execute(update(Job).where(Job.id == job.id).values(kind=kind))
        session.commit()
    else:
        job = _enqueue(session, clock, kind=kind)
    assert run_job(runtime, job.id) == RunOutcome.FAILED
    assert (_fresh(session, job.id).error or "").startswith(error)
