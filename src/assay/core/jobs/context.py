"""What a job handler is handed: the runtime's parts, its job's id, and progress reporting.

``JobContext.progress`` is the handler's one checkpoint: it saves progress, renews the
lease, and raises ``JobCancelled`` once a cancel was requested, or ``LeaseLost`` when
another worker has taken the job over. A handler that runs long between checkpoints calls
``check_cancelled()``; the heartbeat thread keeps the lease alive meanwhile.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from sqlalchemy.orm import Session

from assay.core.blobs import BlobStore
from assay.core.clock import Clock
from assay.core.config import Settings
from assay.core.crypto import SecretBox
from assay.core.db import Database
from assay.core.jobs import lease


class JobRuntime(Protocol):
    """The parts of ``assay.runtime.Runtime`` that jobs use (core may not import the runtime)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def db(self) -> Database: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def blobs(self) -> BlobStore: ...

    @property
    def box(self) -> SecretBox: ...


class JobCancelled(Exception):
    """Raised at a checkpoint once someone asked to cancel the job; the runner records it."""


class LeaseLost(Exception):
    """Raised at a checkpoint when this worker no longer holds the job: it stops quietly."""


class JobContext:
    """Handed to a handler for one attempt at one job."""

    def __init__(
        self,
        *,
        runtime: JobRuntime,
        job_id: uuid.UUID,
        owner: str,
        attempt: int,
        progress_done: int,
        progress_total: int | None,
    ) -> None:
        self.runtime = runtime
        self.job_id = job_id
        """The job's id, for logs and for naming what the handler writes."""
        self.owner = owner
        """This attempt's lease owner."""
        self.attempt = attempt
        """1 on the first attempt; more when an earlier worker was lost."""
        self.progress_done = progress_done
        """The last saved progress, including that of earlier attempts: where to resume."""
        self.progress_total = progress_total
        self._lock = threading.Lock()
        self._cancel_requested = False
        self._lost = False

    @property
    def clock(self) -> Clock:
        return self.runtime.clock

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Session]:
        """A unit of work on the instance's database, committed when the block ends;
        ``write`` when it will write (see ``Database.transaction``)."""
        with self.runtime.db.transaction(write=write) as session:
            yield session

    def progress(self, done: int, total: int | None = None) -> None:
        """Save progress (``total`` None keeps the saved total) and renew the lease.

        Raises JobCancelled once a cancel was requested, LeaseLost if the job was taken over."""
        if done < 0 or (total is not None and total < 0):
            raise ValueError(f"progress must not be negative: {done}/{total}")
        self._renew(progress=(done, total))
        self.progress_done = done
        if total is not None:
            self.progress_total = total
        self._raise_if_stopped()

    def check_cancelled(self) -> None:
        """Renew the lease and raise JobCancelled or LeaseLost as ``progress`` does."""
        self._renew(progress=None)
        self._raise_if_stopped()

    def heartbeat(self) -> bool:
        """Renew the lease without raising; False once the lease is lost. For the heartbeat."""
        self._renew(progress=None)
        with self._lock:
            return not self._lost

    def _renew(self, progress: tuple[int, int | None] | None) -> None:
        settings = self.runtime.settings
        with self.runtime.db.transaction(write=True) as session:
            renewal = lease.renew(
                session,
                job_id=self.job_id,
                owner=self.owner,
                now=self.clock.now(),
                lease_seconds=settings.job_lease_seconds,
                progress=progress,
            )
        with self._lock:
            self._lost = self._lost or not renewal.held
            self._cancel_requested = self._cancel_requested or renewal.cancel_requested

    def _raise_if_stopped(self) -> None:
        with self._lock:
            lost, cancelled = self._lost, self._cancel_requested
        if lost:
            raise LeaseLost(f"job {self.job_id} is no longer held by {self.owner}")
        if cancelled:
            raise JobCancelled(f"job {self.job_id} was cancelled")
