"""The queue that carries job ids to workers: huey, built from settings.

The queue carries a job's id and nothing else; the job record is the truth about a job,
and a delivery whose claim fails is dropped. The huey instance is built per runtime, never
at import, with its one task registered at build time under the same name in every
process, so that what a producer pushes a consumer can run.

A job is pushed only after the transaction that created it commits (``push_after_commit``):
pushed earlier, a worker could look for the row before it exists, and a rolled-back job
would still be pushed. If the push itself is lost, a worker's reaper pushes the job again
once it has been queued for longer than a lease.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any, Protocol

from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey
from huey.registry import Message
from huey.serializer import Serializer
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from assay.core.config import Settings
from assay.core.jobs.context import JobRuntime
from assay.core.jobs.runner import run_job

log = logging.getLogger(__name__)

HUEY_NAME = "assay"
TASK_NAME = "run_job"
QUEUE_FILE = "queue.db"
_OUTBOX = "assay.jobs.outbox"


class JobQueue(Protocol):
    """Where job ids go for workers to take."""

    @property
    def max_attempts(self) -> int:
        """Attempts a new job gets (``job_max_attempts``)."""
        ...

    def push(self, job_id: uuid.UUID) -> None: ...


class NullJobQueue:
    """Pushes nowhere, and remembers what it was given (for tests); a reaper finds the jobs."""

    def __init__(self, max_attempts: int = 5) -> None:
        self._max_attempts = max_attempts
        self.pushed: list[uuid.UUID] = []

    @property
    def max_attempts(self) -> int:
        return self._max_attempts

    def push(self, job_id: uuid.UUID) -> None:
        self.pushed.append(job_id)


class JsonMessageSerializer(Serializer):  # type: ignore[misc]  # huey has no type hints
    """Queue messages as JSON instead of huey's default pickle, so that whoever can write to
    the queue (a shared Redis) can name a job id, and nothing more: unpickling a forged
    message would run its code in every worker."""

    _PLAIN = ("id", "name", "retries", "retry_delay", "priority", "timeout", "retry_backoff")
    _FIELDS = frozenset({*_PLAIN, "args", "kwargs"})

    def _serialize(self, data: Any) -> bytes:
        # Schedules, pipelines and expiry carry datetimes and nested tasks; jobs use none.
        if not isinstance(data, Message) or any(
            getattr(data, f) is not None for f in Message._fields if f not in self._FIELDS
        ):
            raise TypeError("the job queue carries plain task messages only")
        body = {f: getattr(data, f) for f in self._PLAIN}
        body.update(args=list(data.args), kwargs=dict(data.kwargs))
        return json.dumps(body).encode("utf-8")

    def _deserialize(self, data: bytes) -> Any:
        body = json.loads(data)
        if not isinstance(body, dict) or not set(body) <= self._FIELDS:
            raise ValueError("not a job queue message")
        return Message(**{**body, "args": tuple(body.get("args", ()))})


def build_huey(settings: Settings) -> Huey:
    """The huey instance for ``job_backend``. Results live on the job record, not in huey."""
    common: dict[str, Any] = {"results": False, "serializer": JsonMessageSerializer()}
    if settings.job_backend == "memory":
        # Immediate: a push runs the job right there, in the pushing thread; for tests.
        return MemoryHuey(HUEY_NAME, immediate=True, **common)
    if settings.job_backend == "redis":
        return RedisHuey(HUEY_NAME, url=settings.redis_url, **common)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(HUEY_NAME, filename=str(settings.data_dir / QUEUE_FILE), timeout=10, **common)


class HueyJobQueue:
    """The real queue: pushes to huey, and runs what huey delivers with ``run_job``."""

    def __init__(self, runtime: JobRuntime) -> None:
        self.runtime = runtime
        self.huey = build_huey(runtime.settings)
        self._task = self.huey.task(name=TASK_NAME)(self._deliver)

    @property
    def max_attempts(self) -> int:
        return self.runtime.settings.job_max_attempts

    @property
    def immediate(self) -> bool:
        """True for the memory backend: jobs run as they are pushed, no consumer needed."""
        return bool(self.huey.immediate)

    def push(self, job_id: uuid.UUID) -> None:
        self._task(str(job_id))

    def _deliver(self, job_id: str) -> None:
        run_job(self.runtime, uuid.UUID(job_id))

    def close(self) -> None:
        self.huey.storage.close()


def push_after_commit(session: Session, queue: JobQueue, job_id: uuid.UUID) -> None:
    """Push ``job_id`` once ``session``'s transaction commits; forget it if it rolls back."""
    outbox: list[tuple[JobQueue, uuid.UUID]] | None = session.info.get(_OUTBOX)
    if outbox is None:
        outbox = session.info[_OUTBOX] = []
        event.listen(session, "after_commit", _flush_outbox)
        event.listen(session, "after_soft_rollback", _drop_outbox)
    outbox.append((queue, job_id))


def _flush_outbox(session: Session) -> None:
    outbox: list[tuple[JobQueue, uuid.UUID]] = session.info.get(_OUTBOX, [])
    pending, outbox[:] = list(outbox), []
    for queue, job_id in pending:
        try:
            queue.push(job_id)
        except Exception:
            # The job is committed; the reaper pushes it again after a lease.
            log.exception("could not push job %s; a reaper will push it again", job_id)


def _drop_outbox(session: Session, previous_transaction: SessionTransaction) -> None:
    # Only the outermost rollback undoes the jobs; a savepoint's may leave them in place
    # (a job pushed but never committed is dropped by the claim, which finds no row).
    if previous_transaction.parent is None:
        outbox: list[Any] = session.info.get(_OUTBOX, [])
        outbox.clear()
