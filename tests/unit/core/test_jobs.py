"""Job services: enqueue, read, list and cancel, with their rules and audit events."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.core.audit import AuditEvent
from assay.core.authz import Actor, OrgKind, Role
from assay.core.clock import FrozenClock
from assay.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from assay.core.jobs import lease, service
from assay.core.jobs.models import Job, JobStatus
from assay.core.jobs.queue import NullJobQueue
from tests.factories import actor, make_org, make_user


def _events(session: Session, job_id: uuid.UUID) -> list[str]:
    rows = session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.object_id == str(job_id))
        .order_by(AuditEvent.seq)
    )
    return list(rows)


def _member(session: Session, clock: FrozenClock, role: Role = Role.MEMBER) -> Actor:
    return actor(make_user(session, clock, make_org(session, clock, OrgKind.AGENCY), role))


def test_enqueue_records_the_job_and_pushes_it_only_after_commit(
    session: Session, clock: FrozenClock
) -> None:
    queue = NullJobQueue(max_attempts=3)
    who = _member(session, clock)
    job = service.enqueue_job(
        session, actor=who, clock=clock, queue=queue, kind="core.sleep", params={"steps": 2}
    )
    assert queue.pushed == []
    session.commit()
    assert queue.pushed == [job.id]
    assert job.status == JobStatus.QUEUED
    assert job.org_id == who.org_id and job.created_by == who.user_id
    assert job.max_attempts == 3 and job.attempts == 0
    assert job.params == {"steps": 2, "step_seconds": 1.0}  # normalised by the handler's model
    assert job.enqueued_at == clock.now()
    assert _events(session, job.id) == ["core:job:enqueued"]


def test_a_rolled_back_job_is_never_pushed(session: Session, clock: FrozenClock) -> None:
    queue = NullJobQueue()
    service.enqueue_job(session, actor=None, clock=clock, queue=queue, kind="core.sleep")
    session.rollback()
    session.commit()
    assert queue.pushed == []


def test_unknown_kind_and_bad_params_are_refused(session: Session, clock: FrozenClock) -> None:
    queue = NullJobQueue()
    with pytest.raises(InvalidInput) as unknown:
        service.enqueue_job(session, actor=None, clock=clock, queue=queue, kind="no.such")
    assert "core.sleep" in unknown.value.errors[0].message
    with pytest.raises(InvalidInput) as bad:
        service.enqueue_job(
            session, actor=None, clock=clock, queue=queue, kind="core.sleep", params={"steps": 0}
        )
    assert bad.value.errors[0].field == "params.steps"
    with pytest.raises(InvalidInput):
        service.enqueue_job(
            session,
            actor=None,
            clock=clock,
            queue=queue,
            kind="core.sleep",
            params={"steps": float("nan")},
        )


def test_a_viewer_may_not_enqueue_and_audit_verify_needs_audit_rights(
    session: Session, clock: FrozenClock
) -> None:
    queue = NullJobQueue()
    with pytest.raises(Forbidden):
        service.enqueue_job(
            session,
            actor=_member(session, clock, Role.VIEWER),
            clock=clock,
            queue=queue,
            kind="core.sleep",
        )
    with pytest.raises(Forbidden):
        service.enqueue_job(
            session,
            actor=_member(session, clock, Role.ADMIN),
            clock=clock,
            queue=queue,
            kind="core.audit_verify",
        )


def test_jobs_are_visible_to_their_organization_only(session: Session, clock: FrozenClock) -> None:
    queue = NullJobQueue()
    mine, theirs = _member(session, clock), _member(session, clock)
    job = service.enqueue_job(session, actor=mine, clock=clock, queue=queue, kind="core.sleep")
    system = service.enqueue_job(session, actor=None, clock=clock, queue=queue, kind="core.sleep")
    assert service.get_job(session, actor=mine, job_id=job.id) is job
    with pytest.raises(NotFound):
        service.get_job(session, actor=theirs, job_id=job.id)
    with pytest.raises(NotFound):
        service.get_job(session, actor=mine, job_id=system.id)
    assert [j.id for j in service.list_jobs(session, actor=mine).items] == [job.id]
    assert service.list_jobs(session, actor=theirs).total == 0
    assert service.list_jobs(session, actor=mine, status=JobStatus.RUNNING).total == 0
    assert service.list_jobs(session, actor=mine, kind="core.sleep").total == 1


def test_cancelling_a_queued_job_cancels_it_at_once(session: Session, clock: FrozenClock) -> None:
    who = _member(session, clock)
    job = service.enqueue_job(
        session, actor=who, clock=clock, queue=NullJobQueue(), kind="core.sleep"
    )
    cancelled = service.cancel_job(session, actor=who, clock=clock, job_id=job.id)
    assert cancelled.status == JobStatus.CANCELLED and cancelled.finished_at == clock.now()
    again = service.cancel_job(session, actor=who, clock=clock, job_id=job.id)
    assert again.status == JobStatus.CANCELLED
    assert _events(session, job.id) == ["core:job:enqueued", "core:job:cancelled"]


def test_cancelling_a_running_job_asks_it_to_stop(session: Session, clock: FrozenClock) -> None:
    who = _member(session, clock)
    job = service.enqueue_job(
        session, actor=who, clock=clock, queue=NullJobQueue(), kind="core.sleep"
    )
    assert lease.claim(session, clock=clock, job_id=job.id, owner="w1", lease_seconds=60)
    cancelled = service.cancel_job(session, actor=who, clock=clock, job_id=job.id)
    assert cancelled.status == JobStatus.RUNNING and cancelled.cancel_requested
    renewal = lease.renew(session, job_id=job.id, owner="w1", now=clock.now(), lease_seconds=60)
    assert renewal.held and renewal.cancel_requested
    service.cancel_job(session, actor=who, clock=clock, job_id=job.id)  # asking again is fine
    assert _events(session, job.id)[-1] == "core:job:cancel_requested"
    assert _events(session, job.id).count("core:job:cancel_requested") == 1


def test_a_finished_job_cannot_be_cancelled_and_viewers_may_not_cancel(
    session: Session, clock: FrozenClock
) -> None:
    org = make_org(session, clock, OrgKind.AGENCY)
    who = actor(make_user(session, clock, org, Role.MEMBER))
    viewer = actor(make_user(session, clock, org, Role.VIEWER))
    job = service.enqueue_job(
        session, actor=who, clock=clock, queue=NullJobQueue(), kind="core.sleep"
    )
    with pytest.raises(Forbidden):
        service.cancel_job(session, actor=viewer, clock=clock, job_id=job.id)
    assert lease.claim(session, clock=clock, job_id=job.id, owner="w1", lease_seconds=60)
    assert lease.finish(session, clock=clock, job_id=job.id, owner="w1", status=JobStatus.SUCCEEDED)
    session.expire_all()
    with pytest.raises(Conflict, match="already succeeded"):
        service.cancel_job(session, actor=who, clock=clock, job_id=job.id)
    assert session.get(Job, job.id).status == JobStatus.SUCCEEDED  # type: ignore[union-attr]
