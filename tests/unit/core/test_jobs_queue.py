"""The queue built from settings, the push after commit, the CLI, and the built-in handlers."""

from __future__ import annotations

import dataclasses
import json
import pickle

import pytest
from huey import MemoryHuey, RedisHuey, SqliteHuey
from sqlalchemy import update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from assay.cli.context import CliState
from assay.cli.main import app
from assay.core.audit import AuditEvent, record_event
from assay.core.authz import OrgKind, Role
from assay.core.clock import FrozenClock
from assay.core.config import Settings
from assay.core.db import Database
from assay.core.jobs import service
from assay.core.jobs.events import JobEvent
from assay.core.jobs.models import Job, JobStatus
from assay.core.jobs.queue import HueyJobQueue, NullJobQueue, build_huey
from assay.core.jobs.runner import RunOutcome, run_job
from assay.runtime import Runtime
from tests.factories import actor, make_org, make_user


def _fresh(session: Session, job: Job) -> Job:
    found = session.get(Job, job.id, populate_existing=True)
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("backend", "kind"), [("memory", MemoryHuey), ("sqlite", SqliteHuey), ("redis", RedisHuey)]
)
def test_the_backend_follows_the_setting(
    settings: Settings, backend: str, kind: type[object]
) -> None:
    huey = build_huey(settings.model_copy(update={"job_backend": backend}))
    try:
        assert isinstance(huey, kind)  # building connects to nothing
        assert huey.immediate == (backend == "memory")
    finally:
        huey.storage.close()
    if backend == "sqlite":
        assert (settings.data_dir / "queue.db").is_file()


def test_with_the_memory_backend_a_job_runs_once_its_transaction_commits(
    runtime: Runtime, session: Session, clock: FrozenClock
) -> None:
    queue = HueyJobQueue(runtime)
    with runtime.db.transaction() as tx:
        job = service.enqueue_job(
            tx,
            actor=None,
            clock=clock,
            queue=queue,
            kind="core.sleep",
            params={"steps": 2, "step_seconds": 0},
        )
        assert _fresh(tx, job).status == JobStatus.QUEUED  # not before the commit
    done = _fresh(session, job)
    assert done.status == JobStatus.SUCCEEDED and done.progress_done == 2


def test_what_one_process_pushes_another_runs(
    settings: Settings, runtime: Runtime, session: Session, clock: FrozenClock
) -> None:
    sqlite = Runtime.build(
        settings.model_copy(update={"job_backend": "sqlite"}),
        clock=clock,
        db=runtime.db,
        blobs=runtime.blobs,
    )
    producer, consumer = HueyJobQueue(sqlite), HueyJobQueue(sqlite)
    try:
        job = service.enqueue_job(
            session,
            actor=None,
            clock=clock,
            queue=producer,
            kind="core.sleep",
            params={"steps": 1, "step_seconds": 0},
        )
        session.commit()
        # JSON on the queue, naming the job and nothing else.
        (raw,) = producer.huey.storage.enqueued_items()
        assert json.loads(raw)["args"] == [str(job.id)]
        task = consumer.huey.dequeue()
        assert task is not None and consumer.huey.dequeue() is None
        consumer.huey.execute(task)
        assert _fresh(session, job).status == JobStatus.SUCCEEDED
    finally:
        producer.close()
        consumer.close()


def test_a_pickled_message_on_the_queue_is_refused(settings: Settings) -> None:
    huey = build_huey(settings.model_copy(update={"job_backend": "sqlite"}))
    try:
        huey.storage.enqueue(pickle.dumps(("forged", "payload")))
        with pytest.raises(ValueError):
            huey.dequeue()
    finally:
        huey.storage.close()


def test_audit_verify_reports_an_intact_chain(
    runtime: Runtime, session: Session, clock: FrozenClock
) -> None:
    job = service.enqueue_job(
        session, actor=None, clock=clock, queue=NullJobQueue(), kind="core.audit_verify"
    )
    session.commit()
    assert run_job(runtime, job.id) == RunOutcome.SUCCEEDED
    done = _fresh(session, job)
    assert done.result is not None and done.result["ok"] is True
    # Its own "started" event is in the chain it checks.
    assert done.result["checked"] >= 2 and done.result["first_bad_seq"] is None
    assert done.progress_done == done.progress_total == done.result["checked"]


def test_audit_verify_names_the_first_bad_event(
    runtime: Runtime, session: Session, clock: FrozenClock
) -> None:
    event = record_event(
        session,
        clock=clock,
        actor=None,
        action=JobEvent.ENQUEUED,
        object_type="job",
        object_id="x",
    )
    session.execute(update(AuditEvent).where(AuditEvent.seq == event.seq).values(details={"a": 1}))
    job = service.enqueue_job(
        session, actor=None, clock=clock, queue=NullJobQueue(), kind="core.audit_verify"
    )
    session.commit()
    assert run_job(runtime, job.id) == RunOutcome.SUCCEEDED  # the check ran; its verdict is no
    result = _fresh(session, job).result
    assert result is not None and result["ok"] is False
    assert result["first_bad_seq"] == event.seq and "edited" in result["reason"]


class _KeptDatabase(Database):
    """The test's database as the CLI sees it: a command's end disposes of its runtime's
    engine, which here is shared by the whole test session and must outlive it."""

    def __init__(self, inner: Database) -> None:
        super().__init__(inner.engine)
        self._inner = inner

    def session(self) -> Session:
        return self._inner.session()

    def dispose(self) -> None:
        return None


def _cli(runtime: Runtime, settings: Settings, *args: str) -> dict[str, object]:
    kept = dataclasses.replace(runtime, db=_KeptDatabase(runtime.db))
    state = CliState(_settings=settings, _runtime=kept)
    result = CliRunner().invoke(app, list(args), obj=state)
    assert result.exit_code == 0, result.output
    loaded: dict[str, object] = json.loads(result.output)
    return loaded


def test_the_cli_runs_lists_shows_and_cancels_jobs(
    runtime: Runtime, settings: Settings, session: Session, clock: FrozenClock
) -> None:
    org = make_org(session, clock, OrgKind.CLEARINGHOUSE)
    admin = make_user(session, clock, org, Role.ADMIN, instance_admin=True)
    session.commit()
    ran = _cli(
        runtime, settings, "jobs", "run-diagnostic", "--steps", "2", "--step-seconds", "0", "--json"
    )
    assert ran["status"] == "succeeded" and ran["progress_done"] == 2  # memory backend: inline
    listed = _cli(runtime, settings, "jobs", "list", "--json")
    assert listed["total"] == 1
    shown = _cli(runtime, settings, "jobs", "show", str(ran["id"]), "--json")
    assert shown["result"] == {"steps": 2, "resumed_at": 0, "attempt": 1}
    queued = service.enqueue_job(
        session, actor=actor(admin), clock=clock, queue=NullJobQueue(), kind="core.sleep"
    )
    session.commit()
    cancelled = _cli(runtime, settings, "jobs", "cancel", str(queued.id), "--json")
    assert cancelled["status"] == "cancelled"
