"""``assay worker`` and ``assay jobs list|show|cancel|run-diagnostic``: thin translations to
``core.jobs``."""

from __future__ import annotations

import signal
import threading
import uuid
from types import FrameType
from typing import Annotated

import typer

from assay.cli.context import print_json, print_page, state
from assay.core.jobs import service
from assay.core.jobs.models import JobStatus
from assay.core.jobs.queue import HueyJobQueue
from assay.core.jobs.schemas import JobPublic
from assay.core.jobs.worker import Worker
from assay.core.logging import configure_logging
from assay.domains import load_job_handlers

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
LimitOpt = Annotated[int, typer.Option(help="Page size.", min=1, max=500)]
OffsetOpt = Annotated[int, typer.Option(help="Items to skip.", min=0)]
JobIdArg = Annotated[uuid.UUID, typer.Argument(help="The job's id.")]

jobs_app = typer.Typer(help="Jobs: list, inspect and cancel them.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
    app.add_typer(jobs_app, name="jobs")


def worker(
    ctx: typer.Context,
    threads: Annotated[
        int | None, typer.Option(help="Consumer threads (ASSAY_WORKER_THREADS).", min=1)
    ] = None,
    grace: Annotated[
        float, typer.Option(help="Seconds to let running jobs finish on stop.", min=0)
    ] = 10.0,
) -> None:
    """Run jobs until SIGINT or SIGTERM; also re-enqueues jobs whose worker was lost."""
    st = state(ctx)
    configure_logging(st.settings.log_level)
    load_job_handlers()
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with Worker(st.runtime(), threads=threads, grace_seconds=grace):
        # A timed wait, so the signal handler gets to run promptly on every platform.
        while not stop.wait(0.5):
            pass


def _show(job: JobPublic, as_json: bool) -> None:
    if as_json:
        print_json(job)
        return
    total = "?" if job.progress_total is None else job.progress_total
    typer.echo(f"job {job.id} ({job.kind}): {job.status.value}, {job.progress_done}/{total}")
    typer.echo(f"  attempts {job.attempts}; created {job.created_at:%Y-%m-%d %H:%M:%S} UTC")
    if job.cancel_requested and job.status == JobStatus.RUNNING:
        typer.echo("  cancel requested: it stops at its next checkpoint")
    if job.error:
        typer.echo(f"  error: {job.error}")
    if job.result is not None:
        typer.echo(f"  result: {job.result}")


@jobs_app.command("list")
def jobs_list(
    ctx: typer.Context,
    status: Annotated[JobStatus | None, typer.Option(help="Only jobs in this state.")] = None,
    kind: Annotated[str | None, typer.Option(help="Only jobs of this kind.")] = None,
    as_json: JsonOpt = False,
    limit: LimitOpt = 50,
    offset: OffsetOpt = 0,
) -> None:
    """List the jobs you may see, newest first."""
    with state(ctx).unit_of_work() as (session, actor):
        page = service.list_jobs(
            session, actor=actor, status=status, kind=kind, limit=limit, offset=offset
        )
        items = [JobPublic.model_validate(j) for j in page.items]
    columns = ["id", "kind", "status", "progress_done", "progress_total", "attempts"]
    print_page(items, page.total, columns, as_json)


@jobs_app.command("show")
def jobs_show(ctx: typer.Context, job_id: JobIdArg, as_json: JsonOpt = False) -> None:
    """Show one job: status, progress, result or error."""
    with state(ctx).unit_of_work() as (session, actor):
        out = JobPublic.model_validate(service.get_job(session, actor=actor, job_id=job_id))
    _show(out, as_json)


@jobs_app.command("cancel")
def jobs_cancel(ctx: typer.Context, job_id: JobIdArg, as_json: JsonOpt = False) -> None:
    """Cancel a job: a queued one at once, a running one at its next checkpoint."""
    st = state(ctx)
    with st.unit_of_work(write=True) as (session, actor):
        job = service.cancel_job(session, actor=actor, clock=st.runtime().clock, job_id=job_id)
        out = JobPublic.model_validate(job)
    _show(out, as_json)


@jobs_app.command("run-diagnostic")
def jobs_run_diagnostic(
    ctx: typer.Context,
    steps: Annotated[int, typer.Option(help="Steps to run.", min=1, max=1000)] = 5,
    step_seconds: Annotated[
        float, typer.Option(help="Seconds each step takes.", min=0, max=60)
    ] = 1.0,
    as_json: JsonOpt = False,
) -> None:
    """Enqueue a core.sleep job, which only takes time: to check that workers run jobs."""
    st = state(ctx)
    load_job_handlers()
    runtime = st.runtime()
    queue = HueyJobQueue(runtime)
    try:
        with st.unit_of_work(write=True) as (session, actor):
            job = service.enqueue_job(
                session,
                actor=actor,
                clock=runtime.clock,
                queue=queue,
                kind="core.sleep",
                params={"steps": steps, "step_seconds": step_seconds},
            )
        # Read after the commit: with the memory backend the job has run by now.
        with st.unit_of_work() as (session, actor):
            out = JobPublic.model_validate(service.get_job(session, actor=actor, job_id=job.id))
    finally:
        queue.close()
    _show(out, as_json)
