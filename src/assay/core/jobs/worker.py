"""A worker: huey consumer threads that run jobs, and the reaper, in the current process.

``assay worker`` runs one until it is signalled; ``assay serve`` runs one beside the web
server (``EmbeddedWorker``). Job handlers must be registered first
(``assay.domains.load_job_handlers()``; core does not import the composition root).
"""

from __future__ import annotations

import logging
from types import TracebackType

from huey.consumer import Consumer

from assay.core.jobs.context import JobRuntime
from assay.core.jobs.periodic import PeriodicRunner
from assay.core.jobs.queue import HueyJobQueue
from assay.core.jobs.reaper import Reaper

log = logging.getLogger(__name__)

# An idle consumer thread polls the SQLite queue at most this far apart (Redis blocks).
MAX_POLL_SECONDS = 1.0


class _QuietConsumer(Consumer):  # type: ignore[misc]  # huey has no type hints
    """huey's consumer without its signal handlers: the process that embeds it owns them
    (uvicorn in ``assay serve``, ``assay worker``'s own), and they can only be set from
    the main thread."""

    def _set_signal_handlers(self) -> None:
        return None


class Worker:
    """Consumes jobs with ``threads`` threads (default ``worker_threads``) and reaps lost ones.

    With the memory backend jobs run as they are pushed, so only the reaper runs."""

    def __init__(
        self,
        runtime: JobRuntime,
        *,
        threads: int | None = None,
        queue: HueyJobQueue | None = None,
        grace_seconds: float = 10.0,
    ) -> None:
        self.runtime = runtime
        self.queue = queue or HueyJobQueue(runtime)
        """The queue this worker consumes; push to it to enqueue in this process."""
        self.threads = threads or runtime.settings.worker_threads
        self._grace = grace_seconds
        self._reaper = Reaper(runtime, self.queue)
        self._periodic = PeriodicRunner(runtime)
        self._consumer: _QuietConsumer | None = None
        self._started = False

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        if not self.queue.immediate:
            self._consumer = _QuietConsumer(
                self.queue.huey,
                workers=self.threads,
                periodic=False,
                worker_type="thread",
                max_delay=MAX_POLL_SECONDS,
                check_worker_health=False,
                shutdown_timeout=self._grace,
            )
            self._consumer.start()
        self._reaper.start()
        self._periodic.start()
        log.info(
            "job worker started: backend %s, %d threads",
            self.runtime.settings.job_backend,
            0 if self._consumer is None else self.threads,
        )

    def stop(self) -> None:
        """Stop taking jobs and wait up to ``grace_seconds`` for running ones to end.

        A job still running after that is left to its lease: once it expires, a reaper
        re-queues it, so stopping never loses a job."""
        if not self._started:
            return
        self._started = False
        self._reaper.stop()
        self._periodic.stop()
        if self._consumer is not None:
            self._consumer.stop(graceful=True)
            self._consumer = None
        self.queue.close()
        log.info("job worker stopped")

    def __enter__(self) -> Worker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


EmbeddedWorker = Worker
"""The name ``assay serve`` and ``assay demo`` use: a worker inside the server process."""
