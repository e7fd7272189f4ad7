"""What a door may ask of the evaluations domain, validated before any service runs."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from assay.evals.models import RunState

TASK_REF = re.compile(r"^[A-Za-z_][\w.\-]*/[A-Za-z_][\w.\-]*$")
"""A registered Inspect task: ``package/name`` (``assay/vuln_detect``, ``inspect_evals/...``)."""

UPLOAD_PREFIX = "upload:"
"""A task in the run's uploaded task file: ``upload:`` alone (every @task in it) or
``upload:NAME`` (the one task function of that name)."""

_UPLOAD_TASK = re.compile(r"^upload:([A-Za-z_]\w*)?$")

TaskArg = str | int | float | bool


class RunOptions(BaseModel):
    """How Inspect runs the tasks. The limits apply per sample."""

    model_config = ConfigDict(extra="forbid")

    epochs: int = Field(default=1, ge=1, le=100)
    limit: int | None = Field(default=None, ge=1, le=1_000_000, description="Samples per task.")
    max_connections: int = Field(default=8, ge=1, le=256)
    time_limit: int | None = Field(default=None, ge=1, description="Seconds per sample.")
    token_limit: int | None = Field(default=None, ge=1, description="Tokens per sample.")
    sandbox: str | None = Field(
        default=None,
        max_length=200,
        description="Inspect sandbox (local, docker, k8s, ...); None keeps each task's own.",
    )
    task_args: dict[str, TaskArg] = Field(default_factory=dict)

    @field_validator("sandbox")
    @classmethod
    def _sandbox_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[a-z][a-z0-9_\-]*(:[\w.\-/]+)?", value):
            raise ValueError("a sandbox is a name such as local or docker, or name:config")
        return value


TaskName = Annotated[str, Field(min_length=1, max_length=200)]


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window_id: uuid.UUID
    tasks: list[TaskName] = Field(min_length=1, max_length=20)
    options: RunOptions = Field(default_factory=RunOptions)

    @field_validator("tasks")
    @classmethod
    def _task_refs(cls, tasks: list[str]) -> list[str]:
        for name in tasks:
            if not (TASK_REF.match(name) or _UPLOAD_TASK.match(name)):
                raise ValueError(
                    f"{name!r} is not a task: use package/name (assay/vuln_detect) or "
                    "upload: / upload:FUNCTION for the uploaded task file"
                )
        if len(set(tasks)) != len(tasks):
            raise ValueError("a task is named twice")
        return tasks


class BaselineMark(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference_model: str = Field(min_length=1, max_length=200)


class MetricOut(BaseModel):
    scorer: str
    metric: str
    value: float
    stderr: float | None


class TaskResultOut(BaseModel):
    task: str
    status: str
    samples_total: int
    samples_completed: int
    input_tokens: int
    output_tokens: int
    log_sha256: str
    log_name: str
    error: str | None
    metrics: list[MetricOut]


class RunPublic(BaseModel):
    id: uuid.UUID
    window_id: uuid.UUID | None
    agency_id: uuid.UUID
    tasks: list[str]
    options: dict[str, Any]
    state: RunState
    samples_done: int
    samples_total: int | None
    progress: float | None
    """Samples done over samples known so far, 0 to 1; None before the first task starts."""
    input_tokens: int
    output_tokens: int
    error: str | None
    is_baseline: bool
    reference_model: str | None
    job_id: uuid.UUID | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    results: list[TaskResultOut]
