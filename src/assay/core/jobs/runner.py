"""Runs one job: claim it, run its handler under a heartbeat, record how it ended.

The runner is not called from a door, so it owns its transactions, each short: the claim,
each checkpoint, and the finish. A handler's exception fails the job at once: an error in
the handler is taken to be deterministic, so running it again would fail again. Retries
are for lost workers only (see ``reaper``); a handler that expects transient failures
retries them itself.
"""

from __future__ import annotations

import logging
import threading
import uuid
from enum import StrEnum
from typing import Any

from assay.core.jobs import lease
from assay.core.jobs.context import JobCancelled, JobContext, JobRuntime, LeaseLost
from assay.core.jobs.models import JobStatus
from assay.core.jobs.registry import get_handler

log = logging.getLogger(__name__)


class RunOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    """Not claimed: another worker holds it, or it is finished, cancelled or gone."""
    LOST = "lost"
    """Claimed, but the lease passed to another worker before the end."""


class Heartbeat:
    """Renews a running job's lease every third of the lease, in a thread of its own."""

    def __init__(self, ctx: JobContext, interval: float) -> None:
        self._ctx = ctx
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"heartbeat-{ctx.job_id}", daemon=True
        )

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                if not self._ctx.heartbeat():
                    return
            except Exception:
                # A missed beat is not fatal: the lease outlasts two more tries.
                log.exception("heartbeat of job %s failed", self._ctx.job_id)


def run_job(runtime: JobRuntime, job_id: uuid.UUID) -> RunOutcome:
    """Claim ``job_id`` and run it to an end; what a queue delivery calls."""
    settings = runtime.settings
    with runtime.db.transaction(write=True) as session:
        claim = lease.claim(
            session,
            clock=runtime.clock,
            job_id=job_id,
            owner=lease.new_owner(),
            lease_seconds=settings.job_lease_seconds,
        )
    if claim is None:
        log.info("job %s not claimed: it is held elsewhere, finished or gone", job_id)
        return RunOutcome.SKIPPED
    log.info(
        "job %s (%s) started, attempt %d",
        job_id,
        claim.kind,
        claim.attempt,
        extra={"job_id": str(job_id), "kind": claim.kind, "attempt": claim.attempt},
    )
    ctx = JobContext(
        runtime=runtime,
        job_id=job_id,
        owner=claim.owner,
        attempt=claim.attempt,
        progress_done=claim.progress_done,
        progress_total=claim.progress_total,
    )
    with Heartbeat(ctx, settings.job_lease_seconds / 3):
        outcome = _run_claimed(runtime, claim, ctx)
    log.info(
        "job %s (%s) %s",
        job_id,
        claim.kind,
        outcome.value,
        extra={"job_id": str(job_id), "kind": claim.kind, "outcome": outcome.value},
    )
    return outcome


def _run_claimed(runtime: JobRuntime, claim: lease.Claim, ctx: JobContext) -> RunOutcome:
    spec = get_handler(claim.kind)
    if spec is None:
        error = (
            f"no handler for job kind {claim.kind!r} in this worker; "
            "is its module listed in assay.domains.JOB_MODULES?"
        )
        return _finish(runtime, claim, JobStatus.FAILED, error=error)
    try:
        value = spec.fn(ctx, claim.params)
        result = lease.jsonable_result(value)
    except JobCancelled:
        return _finish(runtime, claim, JobStatus.CANCELLED)
    except LeaseLost:
        log.warning("job %s: lease lost to another worker; stopping", claim.job_id)
        return RunOutcome.LOST
    except Exception as exc:
        log.exception("job %s (%s) failed", claim.job_id, claim.kind)
        return _finish(runtime, claim, JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
    return _finish(runtime, claim, JobStatus.SUCCEEDED, result=result)


def _finish(
    runtime: JobRuntime,
    claim: lease.Claim,
    status: JobStatus,
    *,
    result: dict[str, Any] | None = None,
    error: str | None = None,
) -> RunOutcome:
    with runtime.db.transaction(write=True) as session:
        done = lease.finish(
            session,
            clock=runtime.clock,
            job_id=claim.job_id,
            owner=claim.owner,
            status=status,
            result=result,
            error=error,
        )
    if not done:
        log.warning("job %s ended (%s) after its lease was lost", claim.job_id, status.value)
        return RunOutcome.LOST
    return RunOutcome(status.value)
