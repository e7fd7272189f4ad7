"""Audit event tags of the evaluations domain."""

from enum import StrEnum


class EvalEvent(StrEnum):
    RUN_QUEUED = "evals:run:queued"
    RUN_STARTED = "evals:run:started"
    RUN_FINISHED = "evals:run:finished"
    RUN_CANCEL_REQUESTED = "evals:run:cancel_requested"
    RUN_RESUMED = "evals:run:resumed"
    RUN_STOPPED_AT_WINDOW_CLOSE = "evals:run:stopped_at_window_close"
    BASELINE_MARKED = "evals:baseline:marked"
    BASELINE_IMPORTED = "evals:baseline:imported"
