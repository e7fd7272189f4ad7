"""The frontier domain's periodic task: record the close of review windows."""

from __future__ import annotations

from assay.core.jobs.context import JobRuntime
from assay.core.jobs.periodic import periodic_task
from assay.frontier import windows


@periodic_task("frontier.record_window_closes", interval=lambda s: s.window_sweep_interval_seconds)
def record_window_closes(runtime: JobRuntime) -> int:
    with runtime.db.transaction(write=True) as session:
        return windows.record_closes(session, clock=runtime.clock)
