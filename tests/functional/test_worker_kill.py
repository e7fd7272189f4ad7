"""Workers in real processes and threads: a job survives a SIGKILLed worker, and the
embedded worker that ``assay serve`` runs takes, reports and cancels jobs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from assay.core import migrate
from assay.core.authz import OrgKind
from assay.core.clock import SystemClock
from assay.core.config import Settings
from assay.core.db import Database
from assay.core.jobs import service
from assay.core.jobs.models import FINISHED, Job, JobStatus
from assay.core.jobs.worker import EmbeddedWorker
from assay.domains import load_job_handlers
from assay.identity import service as identity
from assay.identity.service import actor_for
from assay.runtime import Runtime

pytestmark = pytest.mark.slow

SECRET = "functional-secret-key-long-enough-0123456789"
LEASE_SECONDS = 2.0


def _prepare(url: str, data_dir: Path) -> Database:
    db = Database.from_url(url)
    migrate.upgrade(db.engine)
    with db.transaction() as session:
        identity.initialize_instance(
            session,
            clock=SystemClock(),
            org_name="Kill Test Clearinghouse",
            org_kind=OrgKind.CLEARINGHOUSE,
            admin_email="admin@kill.example",
            admin_password="correct horse battery staple",
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    return db


def _env(url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSAY_")}
    env.update(
        ASSAY_DATA_DIR=str(data_dir),
        ASSAY_DATABASE_URL=url,
        ASSAY_SECRET_KEY=SECRET,
        ASSAY_JOB_BACKEND="sqlite",
        ASSAY_JOB_LEASE_SECONDS=str(LEASE_SECONDS),
        ASSAY_JOB_REAPER_INTERVAL_SECONDS="0.5",
        ASSAY_WORKER_THREADS="2",
    )
    return env


def _assay(*args: str) -> list[str]:
    return [sys.executable, "-m", "assay.cli.main", *args]


@contextmanager
def _worker(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(_assay("worker"), env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def _job(db: Database, job_id: uuid.UUID) -> Job:
    with db.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def _wait_for(what: str, check: Callable[[], bool], seconds: float, logs: list[Path]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    tails = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in logs if p.exists())
    pytest.fail(f"timed out waiting until {what}\n{tails}")


def test_a_job_survives_a_killed_worker(fresh_database_url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    db = _prepare(fresh_database_url, data_dir)
    env = _env(fresh_database_url, data_dir)
    logs = [tmp_path / "worker1.log", tmp_path / "worker2.log"]
    try:
        with _worker(env, logs[0]) as first:
            enqueued = subprocess.run(
                _assay("jobs", "run-diagnostic", "--steps", "8", "--step-seconds", "0.5", "--json"),
                env=env,
                capture_output=True,
                check=True,
                timeout=30,
            )
            job_id = uuid.UUID(json.loads(enqueued.stdout)["id"])

            def running_with_progress() -> bool:
                job = _job(db, job_id)
                return job.status == JobStatus.RUNNING and job.progress_done > 0

            _wait_for("the job runs and reports progress", running_with_progress, 20, logs)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        lost = _job(db, job_id)
        assert lost.status == JobStatus.RUNNING and lost.attempts == 1  # huey lost the task

        with _worker(env, logs[1]) as second:
            _wait_for("the job ends", lambda: _job(db, job_id).status in FINISHED, 25, logs)
            done = _job(db, job_id)
            assert done.status == JobStatus.SUCCEEDED, done.error
            assert done.attempts == 2 and done.progress_done == 8
            assert done.result is not None and done.result["resumed_at"] > 0
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=15) == 0  # a signalled worker stops cleanly
    finally:
        db.dispose()


def test_the_embedded_worker_runs_and_cancels_jobs(fresh_database_url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    db = _prepare(fresh_database_url, data_dir)
    settings = Settings(
        data_dir=data_dir,
        database_url=fresh_database_url,
        secret_key=SECRET,  # type: ignore[arg-type]
        job_backend="sqlite",
        job_lease_seconds=LEASE_SECONDS,
        job_reaper_interval_seconds=0.5,
    )
    load_job_handlers()
    runtime = Runtime.build(settings, db=db)
    worker = EmbeddedWorker(runtime)
    try:
        with db.transaction(write=True) as session:
            admin = actor_for(identity.instance_admin(session))
            verify = service.enqueue_job(
                session,
                actor=admin,
                clock=runtime.clock,
                queue=worker.queue,
                kind="core.audit_verify",
            )
            slow = service.enqueue_job(
                session,
                actor=admin,
                clock=runtime.clock,
                queue=worker.queue,
                kind="core.sleep",
                params={"steps": 100, "step_seconds": 0.1},
            )
        worker.start()
        _wait_for("audit_verify ends", lambda: _job(db, verify.id).status in FINISHED, 15, [])
        checked = _job(db, verify.id)
        assert checked.status == JobStatus.SUCCEEDED and checked.result is not None
        assert checked.result["ok"] is True

        _wait_for("the slow job runs", lambda: _job(db, slow.id).progress_done > 0, 15, [])
        with db.transaction(write=True) as session:
            service.cancel_job(session, actor=admin, clock=runtime.clock, job_id=slow.id)
        _wait_for("the cancel lands", lambda: _job(db, slow.id).status in FINISHED, 15, [])
        cancelled = _job(db, slow.id)
        assert cancelled.status == JobStatus.CANCELLED and cancelled.progress_done < 100
    finally:
        started = time.monotonic()
        worker.stop()
        assert time.monotonic() - started < 5
        db.dispose()
