"""The running instance's parts, built once from settings and handed to every door.

The API, the CLI, the web UI and the worker each build one ``Runtime``; nothing is built
at import time. Tests build one with a frozen clock and their own database.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from assay.core.blobs import BlobStore, FolderBlobStore
from assay.core.clock import Clock, SystemClock
from assay.core.config import Settings
from assay.core.crypto import SecretBox
from assay.core.db import Database
from assay.core.jobs.queue import HueyJobQueue, JobQueue


@dataclass
class Runtime:
    settings: Settings
    db: Database
    clock: Clock
    blobs: BlobStore
    secret_key: str
    box: SecretBox = field(init=False)
    job_queue: JobQueue | None = field(default=None, repr=False)
    """Where doors push the jobs they enqueue; built on first use (tests may set their own)."""

    def __post_init__(self) -> None:
        previous = [k.get_secret_value() for k in self.settings.previous_secret_keys]
        self.box = SecretBox(self.secret_key, previous)

    @property
    def queue(self) -> JobQueue:
        """One queue per runtime, shared by every request that enqueues a job."""
        if self.job_queue is None:
            self.job_queue = HueyJobQueue(self)
        return self.job_queue

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        clock: Clock | None = None,
        db: Database | None = None,
        blobs: BlobStore | None = None,
    ) -> Runtime:
        """Refuses to build without a secret key (``assay init`` makes one)."""
        secret_key = settings.require_secret_key()
        if db is None:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            db = Database.from_url(settings.resolved_database_url)
        return cls(
            settings=settings,
            db=db,
            clock=clock or SystemClock(),
            blobs=blobs or FolderBlobStore(settings.resolved_blob_dir),
            secret_key=secret_key,
        )
