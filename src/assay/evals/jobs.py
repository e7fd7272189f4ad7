"""The evaluations domain's job: run an eval run (see ``assay.evals.executor``)."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel

from assay.core.authz import Permission
from assay.core.jobs.context import JobContext, JobRuntime
from assay.core.jobs.periodic import periodic_task
from assay.core.jobs.registry import job_handler
from assay.evals import runs
from assay.evals.executor import Executor
from assay.evals.runs import JOB_KIND


class RunJobParams(BaseModel):
    run: uuid.UUID


@job_handler(JOB_KIND, params=RunJobParams, requires=Permission.EVAL_RUN)
def run_eval(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    return Executor(ctx, uuid.UUID(params["run"])).execute()


@periodic_task(
    "evals.stop_queued_at_window_close", interval=lambda s: s.window_sweep_interval_seconds
)
def stop_queued_at_window_close(runtime: JobRuntime) -> int:
    with runtime.db.transaction(write=True) as session:
        return runs.stop_queued_at_window_close(session, clock=runtime.clock)
