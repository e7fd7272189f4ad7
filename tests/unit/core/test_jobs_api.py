"""Job endpoints: each has an allow test and a deny test for another organization."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from assay.core.authz import OrgKind, Role
from assay.core.clock import FrozenClock
from assay.core.jobs import lease, service
from assay.core.jobs.models import Job, JobStatus
from assay.core.jobs.queue import NullJobQueue
from assay.identity.models import User
from tests.factories import actor, bearer, make_org, make_user


def _job_of(session: Session, clock: FrozenClock, user: User) -> Job:
    job = service.enqueue_job(
        session, actor=actor(user), clock=clock, queue=NullJobQueue(), kind="core.sleep"
    )
    session.commit()
    return job


def _two_users(session: Session, clock: FrozenClock) -> tuple[User, User]:
    mine = make_user(session, clock, make_org(session, clock, OrgKind.AGENCY), Role.MEMBER)
    theirs = make_user(session, clock, make_org(session, clock, OrgKind.DEVELOPER), Role.ADMIN)
    return mine, theirs


def test_list_shows_the_jobs_of_your_organization(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    mine, _ = _two_users(session, clock)
    job = _job_of(session, clock, mine)
    response = client.get("/api/jobs", headers=bearer(session, clock, mine))
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 1 and body["items"][0]["id"] == str(job.id)
    assert body["items"][0]["status"] == "queued" and body["items"][0]["kind"] == "core.sleep"
    running = client.get("/api/jobs?status=running", headers=bearer(session, clock, mine))
    assert running.json()["total"] == 0


def test_list_hides_the_jobs_of_other_organizations(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    mine, theirs = _two_users(session, clock)
    _job_of(session, clock, mine)
    response = client.get("/api/jobs", headers=bearer(session, clock, theirs))
    assert response.status_code == 200 and response.json()["total"] == 0


def test_get_returns_status_and_progress(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    mine, _ = _two_users(session, clock)
    job = _job_of(session, clock, mine)
    assert lease.claim(session, clock=clock, job_id=job.id, owner="w", lease_seconds=60)
    lease.renew(
        session, job_id=job.id, owner="w", now=clock.now(), lease_seconds=60, progress=(2, 5)
    )
    session.commit()
    response = client.get(f"/api/jobs/{job.id}", headers=bearer(session, clock, mine))
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["progress_done"], body["progress_total"]) == ("running", 2, 5)
    assert body["attempts"] == 1 and body["started_at"] is not None
    assert "params" not in body and "lease_owner" not in body


def test_get_of_another_organizations_job_is_404(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    mine, theirs = _two_users(session, clock)
    job = _job_of(session, clock, mine)
    response = client.get(f"/api/jobs/{job.id}", headers=bearer(session, clock, theirs))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_cancel_cancels_a_queued_job(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    mine, _ = _two_users(session, clock)
    job = _job_of(session, clock, mine)
    response = client.post(f"/api/jobs/{job.id}/cancel", headers=bearer(session, clock, mine))
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    again = client.post(f"/api/jobs/{job.id}/cancel", headers=bearer(session, clock, mine))
    assert again.status_code == 200


def test_cancel_of_another_organizations_job_is_404(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    mine, theirs = _two_users(session, clock)
    job = _job_of(session, clock, mine)
    response = client.post(f"/api/jobs/{job.id}/cancel", headers=bearer(session, clock, theirs))
    assert response.status_code == 404
    shown = client.get(f"/api/jobs/{job.id}", headers=bearer(session, clock, mine))
    assert shown.json()["status"] == "queued"


def test_cancel_needs_the_cancel_scope_and_a_member(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    mine, _ = _two_users(session, clock)
    viewer = make_user(session, clock, mine.org, Role.VIEWER)
    job = _job_of(session, clock, mine)
    read_only = bearer(session, clock, mine, scopes=["core:job:read"])
    assert client.get(f"/api/jobs/{job.id}", headers=read_only).status_code == 200
    assert client.post(f"/api/jobs/{job.id}/cancel", headers=read_only).status_code == 403
    as_viewer = bearer(session, clock, viewer)
    assert client.post(f"/api/jobs/{job.id}/cancel", headers=as_viewer).status_code == 403


def test_a_finished_job_cannot_be_cancelled(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    mine, _ = _two_users(session, clock)
    job = _job_of(session, clock, mine)
    assert lease.claim(session, clock=clock, job_id=job.id, owner="w", lease_seconds=60)
    lease.finish(session, clock=clock, job_id=job.id, owner="w", status=JobStatus.FAILED)
    session.commit()
    response = client.post(f"/api/jobs/{job.id}/cancel", headers=bearer(session, clock, mine))
    assert response.status_code == 409
    assert "already failed" in response.json()["detail"]
