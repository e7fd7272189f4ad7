"""Pydantic output of the job subsystem."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from assay.core.jobs.models import JobStatus


class JobPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="The job's id.")
    kind: str = Field(description="What the job does, e.g. `core.audit_verify`.")
    status: JobStatus = Field(description="queued, running, succeeded, failed or cancelled.")
    progress_done: int = Field(description="Steps done so far, as the handler reports them.")
    progress_total: int | None = Field(description="Steps in all, when the handler knows.")
    attempts: int = Field(description="How many times a worker has started the job.")
    cancel_requested: bool = Field(
        description="A cancel was asked for a running job; it stops at its next checkpoint."
    )
    created_at: datetime = Field(description="When the job was enqueued (UTC).")
    started_at: datetime | None = Field(description="When a worker first started it (UTC).")
    finished_at: datetime | None = Field(description="When it ended (UTC).")
    result: dict[str, Any] | None = Field(description="What the handler returned, if it did.")
    error: str | None = Field(description="Why the job failed, if it did.")
