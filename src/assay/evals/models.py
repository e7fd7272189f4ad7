"""Tables of evaluation runs: what an agency ran in a window, how far it got, what it scored.

A run never gates anything: its state says how the run went, not whether the model may be
released. Progress lives on the run's job (``jobs.progress_done/total``), which is also the
run's cancellation channel; the run keeps what outlives the job: its state, its logs and
its scores.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from assay.core.db import Base, UUIDPrimaryKey, value_enum
from assay.frontier.models import ReviewWindow


class RunState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    STOPPED_AT_WINDOW_CLOSE = "stopped_at_window_close"
    """The window closed while the run was queued or going: access ended, so did the run."""


ACTIVE_STATES = frozenset({RunState.QUEUED, RunState.RUNNING})
RESUMABLE_STATES = frozenset({RunState.FAILED, RunState.CANCELLED})


class EvalRun(UUIDPrimaryKey, Base):
    """One evaluation run: one or more Inspect tasks against a window's model, via the gateway.

    A baseline run (``window_id`` None) holds scores of a reference model, imported from an
    Inspect log made elsewhere or marked from an earlier run; reports compare with it."""

    __tablename__ = "eval_runs"

    window_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("review_windows.id"), index=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    """The agency that runs it."""
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id"))
    """The job of the latest attempt (a resume starts another)."""
    tasks: Mapped[list[str]] = mapped_column(JSON)
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    task_file: Mapped[str | None] = mapped_column(String(80))
    """Blob digest of an uploaded task file, when the run uses one."""
    task_file_name: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[RunState] = mapped_column(value_enum(RunState, length=30), index=True)
    error: Mapped[str | None] = mapped_column(Text)
    samples_done: Mapped[int] = mapped_column(Integer, default=0)
    samples_total: Mapped[int | None] = mapped_column(Integer)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    is_baseline: Mapped[bool] = mapped_column(Boolean, default=False)
    reference_model: Mapped[str | None] = mapped_column(String(200))
    """The model a baseline run measured (for a window's run, its model's name)."""
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    window: Mapped[ReviewWindow | None] = relationship(lazy="joined")
    results: Mapped[list[EvalTaskResult]] = relationship(
        lazy="selectin", order_by="EvalTaskResult.position", cascade="all, delete-orphan"
    )

    @property
    def owner_org_id(self) -> uuid.UUID:
        return self.org_id

    @property
    def party_org_ids(self) -> frozenset[uuid.UUID]:
        """Who else sees it: the developer whose model it tested, and the other agencies
        only when the agreement shares findings between agencies. A baseline imported from
        logs has no window and no parties; agencies see it through ``BASELINE_READ``."""
        if self.window is None:
            return frozenset()
        orgs = {self.window.org_id}
        if self.window.agreement.share_findings_between_agencies:
            orgs |= self.window.party_org_ids
        return frozenset(orgs)


class EvalTaskResult(UUIDPrimaryKey, Base):
    """One task of a run: its Inspect log (kept in the blob store) and what it scored."""

    __tablename__ = "eval_task_results"

    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("eval_runs.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    task: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    """Inspect's log status: success, error, cancelled or started."""
    log_digest: Mapped[str] = mapped_column(String(80))
    """sha256 of the ``.eval`` log, its key in the blob store."""
    log_name: Mapped[str] = mapped_column(String(300))
    samples_total: Mapped[int] = mapped_column(Integer)
    samples_completed: Mapped[int] = mapped_column(Integer)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    metrics: Mapped[list[EvalMetric]] = relationship(
        lazy="selectin", order_by="EvalMetric.position", cascade="all, delete-orphan"
    )


class EvalMetric(UUIDPrimaryKey, Base):
    """A metric of a scorer of a task, with Inspect's stderr beside it when it computed one."""

    __tablename__ = "eval_metrics"

    result_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("eval_task_results.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    scorer: Mapped[str] = mapped_column(String(200))
    metric: Mapped[str] = mapped_column(String(200))
    value: Mapped[float] = mapped_column(Float)
    stderr: Mapped[float | None] = mapped_column(Float)
