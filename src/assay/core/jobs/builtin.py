"""Built-in job handlers: the audit chain check, and a diagnostic that only takes time."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from assay.core.audit import AuditEvent, iter_events, read_head, verify_events
from assay.core.authz import Permission
from assay.core.jobs.context import JobContext
from assay.core.jobs.registry import job_handler

AUDIT_PROGRESS_EVERY = 500


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SleepParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: int = Field(default=5, ge=1, le=1000, description="How many steps to run.")
    step_seconds: float = Field(default=1.0, ge=0, le=60, description="How long each step sleeps.")


@job_handler("core.audit_verify", params=NoParams, requires=Permission.AUDIT_READ)
def audit_verify(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Verify the audit log's hash chain, reporting progress as it goes. Reads only, so a
    second run simply verifies again."""
    with ctx.transaction() as session:
        head = read_head(session)
        total = head.seq if head else 0
        ctx.progress(0, total)
        # Events appended after the head was read are left to the next run: without the
        # bound, a concurrent append would look like a tail that the head does not know.
        events = iter_events(session, upto=head.seq if head else None)
        result = verify_events(_reporting(ctx, events, total), head)
    ctx.progress(result.checked, total)
    return {
        "ok": result.ok,
        "checked": result.checked,
        "first_bad_seq": result.first_bad_seq,
        "first_bad_id": result.first_bad_id,
        "reason": result.reason,
    }


def _reporting(ctx: JobContext, events: Iterable[AuditEvent], total: int) -> Iterator[AuditEvent]:
    for n, event in enumerate(events, start=1):
        yield event
        if n % AUDIT_PROGRESS_EVERY == 0:
            ctx.progress(n, total)


@job_handler("core.sleep", params=SleepParams)
def sleep(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Run ``steps`` steps of ``step_seconds`` each, reporting progress after each; for
    checking that workers, progress, cancellation and recovery work. A later attempt
    resumes after the last step an earlier one reported."""
    p = SleepParams.model_validate(params)
    start = min(ctx.progress_done, p.steps)
    ctx.progress(start, p.steps)
    for step in range(start, p.steps):
        time.sleep(p.step_seconds)
        ctx.progress(step + 1, p.steps)
    return {"steps": p.steps, "resumed_at": start, "attempt": ctx.attempt}
