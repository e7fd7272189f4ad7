"""Audit event tags of the job subsystem."""

from enum import StrEnum


class JobEvent(StrEnum):
    ENQUEUED = "core:job:enqueued"
    STARTED = "core:job:started"
    SUCCEEDED = "core:job:succeeded"
    FAILED = "core:job:failed"
    CANCEL_REQUESTED = "core:job:cancel_requested"
    CANCELLED = "core:job:cancelled"
    REQUEUED = "core:job:requeued"
