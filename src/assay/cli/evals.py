"""``assay evals``: start, follow, cancel and resume eval runs; mark and import baselines.

A run goes to the job queue and a worker runs it through the gateway at
``ASSAY_EVAL_GATEWAY_URL`` (``PUBLIC_URL/gateway/v1``), so a server must be serving the
gateway there. ``--wait`` runs the job in this process (unless a worker took it first) and
prints the finished run.
"""

from __future__ import annotations

import time
import uuid
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from assay.cli.context import print_json, print_page, state
from assay.cli.frontier import JsonOpt, LimitOpt, OffsetOpt, parse_uuid
from assay.core.errors import FieldError, InvalidInput
from assay.core.jobs.models import FINISHED, Job
from assay.evals import runs
from assay.evals.models import RunState
from assay.evals.schemas import RunCreate, RunOptions, RunPublic

evals_app = typer.Typer(help="Evaluation runs on inspect_ai.", no_args_is_help=True)
baseline_app = typer.Typer(help="Baselines: reference models' scores.", no_args_is_help=True)
evals_app.add_typer(baseline_app, name="baseline")

WAIT_POLL_SECONDS = 0.5


def register(app: typer.Typer) -> None:
    app.add_typer(evals_app, name="evals")
    app.add_typer(reports_app, name="reports")


def _task_args(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise InvalidInput(
                "bad task argument", errors=[FieldError("-T", f"{pair!r} is not KEY=VALUE")]
            )
        value: Any = raw
        if raw.lower() in {"true", "false"}:
            value = raw.lower() == "true"
        else:
            for kind in (int, float):
                try:
                    value = kind(raw)
                    break
                except ValueError:
                    continue
        out[key] = value
    return out


def _show_run(out: RunPublic, as_json: bool) -> None:
    if as_json:
        print_json(out)
        return
    done = f"{out.samples_done}/{out.samples_total}" if out.samples_total else f"{out.samples_done}"
    typer.echo(f"run {out.id}: {out.state.value}, samples {done}")
    if out.error:
        typer.echo(f"error: {out.error}")
    for result in out.results:
        typer.echo(f"  {result.task} ({result.status}, log sha256 {result.log_sha256[:12]})")
        for m in result.metrics:
            stderr = f" ± {m.stderr:.3f}" if m.stderr is not None else ""
            typer.echo(f"    {m.scorer}/{m.metric}: {m.value:.3f}{stderr}")


@evals_app.command("run")
def evals_run(
    ctx: typer.Context,
    window: Annotated[str, typer.Option(help="The open review window's id.")],
    task: Annotated[
        list[str],
        typer.Option(
            help="A task: assay/vuln_detect, package/name, or upload:[FUNCTION] with "
            "--task-file. Repeat for more."
        ),
    ],
    max_connections: Annotated[int, typer.Option(min=1, max=256)] = 8,
    limit: Annotated[int | None, typer.Option(help="Samples per task.", min=1)] = None,
    epochs: Annotated[int, typer.Option(min=1, max=100)] = 1,
    time_limit: Annotated[int | None, typer.Option(help="Seconds per sample.", min=1)] = None,
    token_limit: Annotated[int | None, typer.Option(help="Tokens per sample.", min=1)] = None,
    sandbox: Annotated[
        str | None, typer.Option(help="Inspect sandbox (local, docker, k8s); default each task's.")
    ] = None,
    task_arg: Annotated[
        list[str] | None, typer.Option("-T", "--task-arg", help="Task argument KEY=VALUE.")
    ] = None,
    task_file: Annotated[
        Path | None,
        typer.Option(
            help="A Python file of Inspect tasks, uploaded with the run.",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ] = None,
    wait: Annotated[bool, typer.Option(help="Run it here and print the finished run.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Queue an eval run in an open window; prints {"run": ID}, or the finished run with --wait."""
    st = state(ctx)
    runtime = st.runtime()
    try:
        data = RunCreate(
            window_id=parse_uuid(window, "WINDOW"),
            tasks=task,
            options=RunOptions(
                epochs=epochs,
                limit=limit,
                max_connections=max_connections,
                time_limit=time_limit,
                token_limit=token_limit,
                sandbox=sandbox,
                task_args=_task_args(task_arg or []),
            ),
        )
    except ValidationError as exc:
        errors = [FieldError(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]
        raise InvalidInput("bad run", errors=errors) from exc
    upload = (task_file.name, task_file.read_bytes()) if task_file is not None else None
    with st.unit_of_work(write=True) as (session, actor):
        run = runs.start_run(
            session,
            actor=actor,
            clock=runtime.clock,
            queue=runtime.queue,
            blobs=runtime.blobs,
            data=data,
            task_file=upload,
            allow_task_files=runtime.settings.eval_allow_task_files,
        )
        run_id, job_id = run.id, run.job_id
    if not wait:
        if as_json:
            print_json({"run": str(run_id)})
        else:
            typer.echo(f"run {run_id} queued")
        return
    assert job_id is not None
    _run_here(ctx, job_id)
    with st.unit_of_work() as (session, actor):
        out = runs.to_public(runs.get_run(session, actor=actor, run_id=run_id))
    _show_run(out, as_json)
    if out.state != RunState.SUCCEEDED:
        raise typer.Exit(1)


def _run_here(ctx: typer.Context, job_id: uuid.UUID) -> None:
    """Run the job in this process; if a worker holds it, wait for that worker to finish."""
    from assay.core.jobs.runner import RunOutcome, run_job
    from assay.domains import load_job_handlers

    load_job_handlers()
    runtime = state(ctx).runtime()
    if run_job(runtime, job_id) != RunOutcome.SKIPPED:
        return
    while True:
        with runtime.db.transaction() as session:
            job = session.get(Job, job_id)
            if job is None or job.status in FINISHED:
                return
        time.sleep(WAIT_POLL_SECONDS)


@evals_app.command("show")
def evals_show(
    ctx: typer.Context, run: Annotated[str, typer.Argument()], as_json: JsonOpt = False
) -> None:
    """A run: its state, progress, and each task's metrics with stderr."""
    st = state(ctx)
    with st.unit_of_work() as (session, actor):
        out = runs.to_public(runs.get_run(session, actor=actor, run_id=parse_uuid(run, "RUN")))
    _show_run(out, as_json)


@evals_app.command("list")
def evals_list(
    ctx: typer.Context,
    window: Annotated[str | None, typer.Option(help="Only this window's runs.")] = None,
    as_json: JsonOpt = False,
    limit: LimitOpt = 50,
    offset: OffsetOpt = 0,
) -> None:
    """The runs you may see, newest first."""
    st = state(ctx)
    window_id = parse_uuid(window, "WINDOW") if window else None
    with st.unit_of_work() as (session, actor):
        page = runs.list_runs(session, actor=actor, limit=limit, offset=offset, window_id=window_id)
        items = [runs.to_public(r) for r in page.items]
    print_page(
        items, page.total, ["id", "state", "tasks", "samples_done", "samples_total"], as_json
    )


@evals_app.command("cancel")
def evals_cancel(
    ctx: typer.Context, run: Annotated[str, typer.Argument()], as_json: JsonOpt = False
) -> None:
    """Stop a run; its completed samples are kept for a resume."""
    st = state(ctx)
    runtime = st.runtime()
    with st.unit_of_work(write=True) as (session, actor):
        out = runs.to_public(
            runs.cancel_run(
                session, actor=actor, clock=runtime.clock, run_id=parse_uuid(run, "RUN")
            )
        )
    _show_run(out, as_json)


@evals_app.command("resume")
def evals_resume(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument()],
    wait: Annotated[bool, typer.Option(help="Run it here and print the finished run.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Queue a failed or cancelled run again, without redoing its completed samples."""
    st = state(ctx)
    runtime = st.runtime()
    run_id = parse_uuid(run, "RUN")
    with st.unit_of_work(write=True) as (session, actor):
        resumed = runs.resume_run(
            session, actor=actor, clock=runtime.clock, queue=runtime.queue, run_id=run_id
        )
        job_id = resumed.job_id
    if wait and job_id is not None:
        _run_here(ctx, job_id)
    with st.unit_of_work() as (session, actor):
        out = runs.to_public(runs.get_run(session, actor=actor, run_id=run_id))
    _show_run(out, as_json)


@baseline_app.command("mark")
def baseline_mark(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument()],
    reference_model: Annotated[str, typer.Option(help="The model the run measured.")],
    as_json: JsonOpt = False,
) -> None:
    """Mark a finished run as the baseline for a reference model."""
    st = state(ctx)
    runtime = st.runtime()
    with st.unit_of_work(write=True) as (session, actor):
        out = runs.to_public(
            runs.mark_baseline(
                session,
                actor=actor,
                clock=runtime.clock,
                run_id=parse_uuid(run, "RUN"),
                reference_model=reference_model,
            )
        )
    _show_run(out, as_json)


@baseline_app.command("import")
def baseline_import(
    ctx: typer.Context,
    logs: Annotated[list[Path], typer.Argument(help="Inspect logs (.eval) of the reference.")],
    reference_model: Annotated[str, typer.Option(help="The model the logs measured.")],
    as_json: JsonOpt = False,
) -> None:
    """A baseline from Inspect logs made elsewhere (inspect eval ... --model REFERENCE)."""
    st = state(ctx)
    runtime = st.runtime()
    for path in logs:
        if not path.is_file():
            raise InvalidInput("no such log", errors=[FieldError("LOGS", str(path))])
    from assay.evals import baselines

    with st.unit_of_work(write=True) as (session, actor):
        out = runs.to_public(
            baselines.import_baseline(
                session,
                actor=actor,
                clock=runtime.clock,
                blobs=runtime.blobs,
                reference_model=reference_model,
                log_paths=logs,
            )
        )
    _show_run(out, as_json)


@baseline_app.command("list")
def baseline_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """The baselines you may compare against."""
    st = state(ctx)
    with st.unit_of_work() as (session, actor):
        items = [runs.to_public(r) for r in runs.list_baselines(session, actor=actor)]
    print_page(items, len(items), ["id", "reference_model", "tasks"], as_json)


reports_app = typer.Typer(help="Review reports.", no_args_is_help=True)


class ReportFormat(StrEnum):
    HTML = "html"
    PDF = "pdf"
    JSON = "json"


@reports_app.command("build")
def reports_build(
    ctx: typer.Context,
    window: Annotated[str, typer.Argument(help="The review window's id.")],
    fmt: Annotated[ReportFormat, typer.Option("--format", help="html, pdf or json.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The file to write.")],
) -> None:
    """Build a window's review report from what you may see: runs, baselines, findings."""
    from assay.reports import render
    from assay.reports.collect import build_report

    st = state(ctx)
    runtime = st.runtime()
    with st.unit_of_work() as (session, actor):
        report = build_report(
            session, actor=actor, clock=runtime.clock, window_id=parse_uuid(window, "WINDOW")
        )
    data = render(report, fmt.value)
    output.write_bytes(data)
    typer.echo(f"wrote {output} ({len(data):,} bytes, {fmt.value})", err=True)
