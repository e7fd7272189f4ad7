"""One attempt at an eval run: Inspect, through the gateway, under the job's supervision.

Each task of the run is one ``eval_async`` call (or ``eval_retry_async`` of its earlier
log), with the run's id and the task's position in the log's metadata, so that a later
attempt knows which logs are finished, which to retry and which tasks have not started.
Logs are written to the run's folder under the data dir with a small sample buffer
(``LOG_BUFFER``); when the run ends, every log goes to the blob store and its scores into
the database.

Inspect reaches the model as ``openai-api/gateway/<model>`` at the gateway's base URL, with
a gateway token issued for the run's agency and window, passed in the environment (never
in ``model_args``, which Inspect writes into the log). The gateway checks the window on
every call; the supervisor also checks the clock and the window every poll and cancels the
eval the moment the window closes, so a run never outlives access.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import sys
import threading
import uuid
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from inspect_ai import eval_async, eval_retry_async
from inspect_ai.log import EvalLog, list_eval_logs, read_eval_log
from sqlalchemy import delete, select, update

from assay.core.audit import record_event
from assay.core.jobs.context import JobCancelled, JobContext, LeaseLost
from assay.evals import logs, progress, runs
from assay.evals.events import EvalEvent
from assay.evals.models import ACTIVE_STATES, EvalMetric, EvalRun, EvalTaskResult, RunState
from assay.evals.schemas import UPLOAD_PREFIX, RunOptions
from assay.frontier import windows
from assay.frontier.gateway import access
from assay.frontier.models import FrontierModel, ReviewWindow, WindowState
from assay.identity.models import User
from assay.identity.service import actor_for

log = logging.getLogger(__name__)

SERVICE = "gateway"
"""Inspect's service name for the gateway: the model is ``openai-api/gateway/<name>``."""
API_KEY_VAR = "GATEWAY_API_KEY"
RUN_KEY = progress.RUN_KEY
INDEX_KEY = "assay_task_index"

LOG_BUFFER = 10
"""Samples Inspect buffers before it rewrites the ``.eval`` log. Each rewrite copies the
whole file, so a buffer of one costs milliseconds a sample as the log grows
(docs/benchmarks.md). A killed worker loses none of the buffered samples on the same host:
``eval_retry`` recovers them from Inspect's sample buffer database; a resume on another host
redoes at most this many."""

# Inspect allows one eval_async at a time per process; runs in other worker threads wait.
_EVAL_LOCK = threading.Lock()


class Stop(StrEnum):
    CANCELLED = "cancelled"
    WINDOW_CLOSED = "window_closed"
    LOST = "lost"


@dataclass(frozen=True)
class Plan:
    run_id: uuid.UUID
    window_id: uuid.UUID
    model_name: str
    token: str
    tasks: list[str]
    options: RunOptions
    task_file: Path | None


class Executor:
    def __init__(self, ctx: JobContext, run_id: uuid.UUID) -> None:
        self.ctx = ctx
        self.run_id = run_id
        self.settings = ctx.runtime.settings
        self.folder = self.settings.data_dir / "evals" / str(run_id)
        self.log_dir = self.folder / "logs"

    # -- the attempt ---------------------------------------------------------------------

    def execute(self) -> dict[str, Any]:
        plan = self._begin()
        if plan is None:
            return {"run": str(self.run_id), "started": False}
        stop: Stop | None = None
        error: str | None = None
        try:
            with _EVAL_LOCK, _inspect_environment(plan.token):
                previous = self._resume_point(plan)
                stop, error = asyncio.run(self._run_tasks(plan, previous))
        except Exception as exc:
            log.exception("eval run %s failed", self.run_id)
            error = f"{type(exc).__name__}: {exc}"
        finally:
            progress.forget(str(self.run_id))
        if stop == Stop.LOST:
            raise LeaseLost(f"eval run {self.run_id} was taken over")
        state = self._finish(plan, stop, error)
        if state == RunState.CANCELLED:
            raise JobCancelled(f"eval run {self.run_id} was cancelled")
        return {"run": str(self.run_id), "state": state.value}

    def _begin(self) -> Plan | None:
        """Mark the run running and issue its gateway token; None when it must not run."""
        clock = self.ctx.clock
        with self.ctx.transaction(write=True) as session:
            run = session.get(EvalRun, self.run_id)
            if run is None or run.state not in ACTIVE_STATES or run.window is None:
                return None
            window = run.window
            if windows.state_of(window, clock.now()) != WindowState.OPEN:
                runs.mark_stopped_before_start(session, run, clock=clock)
                return None
            user = session.get(User, run.created_by)
            if user is None:
                raise RuntimeError(f"eval run {run.id}: its user is gone")
            issued = access.issue_token(
                session, actor=actor_for(user), clock=clock, window_id=window.id
            )
            run.state = RunState.RUNNING
            run.started_at = run.started_at or clock.now()
            record_event(
                session,
                clock=clock,
                actor=None,
                action=EvalEvent.RUN_STARTED,
                object_type="eval_run",
                object_id=run.id,
                details={"job": str(self.ctx.job_id), "attempt": self.ctx.attempt},
            )
            task_file = None
            if run.task_file is not None and run.task_file_name is not None:
                task_file = self.folder / "task" / run.task_file_name
                task_file.parent.mkdir(parents=True, exist_ok=True)
                task_file.write_bytes(self.ctx.runtime.blobs.get(run.task_file))
            self.log_dir.mkdir(parents=True, exist_ok=True)
            return Plan(
                run_id=run.id,
                window_id=window.id,
                model_name=window.model.name,
                token=issued.token,
                tasks=list(run.tasks),
                options=RunOptions.model_validate(run.options),
                task_file=task_file,
            )

    def _resume_point(self, plan: Plan) -> dict[int, EvalLog]:
        """The logs an earlier attempt left, and the progress they hold (read outside the
        event loop: Inspect's synchronous readers start loops of their own)."""
        previous = self._logs_by_index()
        done = total = 0
        for index, earlier in previous.items():
            if index >= len(plan.tasks):
                continue
            done += _completed_samples(earlier)
            if earlier.status == "success":
                total += logs.samples_of(earlier)[0]
        progress.track(str(plan.run_id), done=done, total=total)
        return previous

    async def _run_tasks(
        self, plan: Plan, previous: dict[int, EvalLog]
    ) -> tuple[Stop | None, str | None]:
        for index, task in enumerate(plan.tasks):
            existing = previous.get(index)
            if existing is not None and existing.status == "success":
                continue
            if existing is not None:
                coro = self._retry(existing, plan)
            else:
                coro = self._start(index, task, plan)
            stop, error, finished = await self._supervise(coro)
            if stop is not None or error is not None:
                return stop, error
            for result in finished:
                if result.status == "error" and result.error is not None:
                    return None, f"{task}: {result.error.message}"
        return None, None

    async def _start(self, index: int, task: str, plan: Plan) -> list[EvalLog]:
        options = plan.options
        return await eval_async(
            _task_ref(task, plan.task_file),
            model=f"openai-api/{SERVICE}/{plan.model_name}",
            model_base_url=self.settings.resolved_eval_gateway_url,
            task_args=dict(options.task_args),
            epochs=options.epochs,
            limit=options.limit,
            max_connections=options.max_connections,
            time_limit=options.time_limit,
            token_limit=options.token_limit,
            sandbox=options.sandbox,
            log_dir=str(self.log_dir),
            log_format="eval",
            log_buffer=LOG_BUFFER,
            metadata={RUN_KEY: str(plan.run_id), INDEX_KEY: index},
            fail_on_error=False,
        )

    async def _retry(self, existing: EvalLog, plan: Plan) -> list[EvalLog]:
        return await eval_retry_async(
            existing.location,
            log_dir=str(self.log_dir),
            log_format="eval",
            log_buffer=LOG_BUFFER,
            max_connections=plan.options.max_connections,
            fail_on_error=False,
        )

    async def _supervise(self, coro: Any) -> tuple[Stop | None, str | None, list[EvalLog]]:
        """Run ``coro`` (one Inspect eval), saving progress and watching for a cancel, a lost
        lease and the window's close every poll; cancel the eval on any of them."""
        task: asyncio.Task[list[EvalLog]] = asyncio.ensure_future(coro)
        stop: Stop | None = None
        while not task.done():
            await asyncio.wait({task}, timeout=self.settings.eval_poll_seconds)
            if task.done():
                break
            stop = await asyncio.to_thread(self._checkpoint)
            if stop is not None:
                task.cancel()
                break
        try:
            finished = await task
        except asyncio.CancelledError:
            if stop is None:
                raise
            return stop, None, []
        except Exception as exc:
            return stop, f"{type(exc).__name__}: {exc}", []
        return stop, None, finished

    def _checkpoint(self) -> Stop | None:
        tally = progress.snapshot(str(self.run_id))
        try:
            self.ctx.progress(tally.done, tally.total or None)
        except JobCancelled:
            return Stop.CANCELLED
        except LeaseLost:
            return Stop.LOST
        clock = self.ctx.clock
        with self.ctx.transaction(write=True) as session:
            session.execute(
                update(EvalRun)
                .where(EvalRun.id == self.run_id)
                .values(samples_done=tally.done, samples_total=tally.total or None)
            )
            # Only the times the window's state depends on, not the window's object graph.
            row = session.execute(
                select(
                    ReviewWindow.opens_at,
                    ReviewWindow.agreed_close_at,
                    ReviewWindow.closed_early_at,
                    ReviewWindow.final_close_at,
                    FrontierModel.planned_release_at,
                )
                .join(FrontierModel, FrontierModel.id == ReviewWindow.model_id)
                .join(EvalRun, EvalRun.window_id == ReviewWindow.id)
                .where(EvalRun.id == self.run_id)
            ).one_or_none()
        if row is None:
            return Stop.WINDOW_CLOSED
        ends = [row.agreed_close_at, row.planned_release_at]
        if row.closed_early_at is not None:
            ends.append(row.closed_early_at)
        end = row.final_close_at or min(ends)
        now = clock.now()
        if not row.opens_at <= now < end:
            return Stop.WINDOW_CLOSED
        return None

    # -- the end -------------------------------------------------------------------------

    def _finish(self, plan: Plan, stop: Stop | None, error: str | None) -> RunState:
        """Store every log and its scores, and record how the run ended."""
        clock = self.ctx.clock
        logs_by_index = self._logs_by_index()
        results = []
        for index, task in enumerate(plan.tasks):
            found = logs_by_index.get(index)
            if found is None:
                continue
            results.append(
                logs.store_log(
                    blobs=self.ctx.runtime.blobs,
                    path=_local_path(found.location),
                    run_id=plan.run_id,
                    position=index,
                    task=task,
                )
            )
        if stop == Stop.CANCELLED:
            state = RunState.CANCELLED
        elif stop == Stop.WINDOW_CLOSED:
            state = RunState.STOPPED_AT_WINDOW_CLOSE
        elif error is not None or len(results) < len(plan.tasks):
            state = RunState.FAILED
            error = error or "a task ended without a log"
        elif any(r.status != "success" for r in results):
            state = RunState.FAILED
            error = "; ".join(f"{r.task}: {r.error or r.status}" for r in results if r.error)
        else:
            state = RunState.SUCCEEDED
        with self.ctx.transaction(write=True) as session:
            run = session.get(EvalRun, plan.run_id)
            assert run is not None
            old = [r.id for r in run.results]
            run.results = []
            session.flush()
            if old:
                session.execute(delete(EvalMetric).where(EvalMetric.result_id.in_(old)))
                session.execute(delete(EvalTaskResult).where(EvalTaskResult.id.in_(old)))
            run.results = results
            run.state = state
            run.error = error
            run.samples_done = sum(r.samples_completed for r in results)
            known_total = sum(r.samples_total for r in results)
            run.samples_total = max(known_total, run.samples_total or 0) or None
            run.input_tokens = sum(r.input_tokens for r in results)
            run.output_tokens = sum(r.output_tokens for r in results)
            run.finished_at = clock.now()
            action = (
                EvalEvent.RUN_STOPPED_AT_WINDOW_CLOSE
                if state == RunState.STOPPED_AT_WINDOW_CLOSE
                else EvalEvent.RUN_FINISHED
            )
            record_event(
                session,
                clock=clock,
                actor=None,
                action=action,
                object_type="eval_run",
                object_id=run.id,
                details={"state": state.value, "logs": [r.log_digest for r in results]},
            )
        if state == RunState.SUCCEEDED:
            shutil.rmtree(self.folder / "task", ignore_errors=True)
        return state

    def _logs_by_index(self) -> dict[int, EvalLog]:
        """The newest log of each task position of this run, headers only."""
        found: dict[int, EvalLog] = {}
        if not self.log_dir.exists():
            return found
        for info in list_eval_logs(str(self.log_dir), recursive=False):
            header = read_eval_log(info, header_only=True)
            metadata = header.eval.metadata or {}
            index = metadata.get(INDEX_KEY)
            if metadata.get(RUN_KEY) != str(self.run_id) or not isinstance(index, int):
                continue
            current = found.get(index)
            if current is None or header.eval.created > current.eval.created:
                found[index] = header
        return found


def _local_path(location: str) -> Path:
    """Inspect names local logs by ``file:`` URI."""
    return Path(location.removeprefix("file://").removeprefix("file:"))


def _completed_samples(header: EvalLog) -> int:
    """Samples a log already holds: what a retry keeps."""
    if header.status == "success":
        return logs.samples_of(header)[1]
    full = read_eval_log(header.location)
    return sum(1 for s in (full.samples or []) if s.error is None)


def _task_ref(task: str, task_file: Path | None) -> str:
    if task.startswith(UPLOAD_PREFIX):
        if task_file is None:
            raise RuntimeError("the run names an upload: task but has no task file")
        function = task.removeprefix(UPLOAD_PREFIX)
        return f"{task_file}@{function}" if function else str(task_file)
    return task


@contextlib.contextmanager
def _inspect_environment(token: str) -> Any:
    """Inspect's console output must not reach stdout (``--json`` answers go there), its
    display must stay quiet, and the token goes in through the environment only."""
    saved = os.environ.get(API_KEY_VAR)
    os.environ[API_KEY_VAR] = token
    os.environ.setdefault("INSPECT_DISPLAY", "none")
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        if saved is None:
            os.environ.pop(API_KEY_VAR, None)
        else:
            os.environ[API_KEY_VAR] = saved
