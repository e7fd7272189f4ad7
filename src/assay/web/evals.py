"""Pages of eval runs: start one from the window page, follow its progress, cancel or resume
it, read each task's scores and samples, download its Inspect log, and read one sample's
transcript.

Every read and write goes through ``assay.evals.runs``, which authorizes: an agency sees its
own runs, the developer the runs on its model, other agencies only when the agreement
shares findings. These routes only translate.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response

from assay.api.deps import RuntimeDep
from assay.core.authz import Actor, Permission
from assay.core.errors import NotFound
from assay.evals import runs
from assay.evals.models import ACTIVE_STATES, RESUMABLE_STATES, EvalRun
from assay.evals.schemas import RunCreate, RunPublic, TaskResultOut
from assay.web import eval_views, review, transcripts
from assay.web.eval_views import StartForm
from assay.web.forms import FormFailure, form_write
from assay.web.session import flash, require_user, verify_csrf
from assay.web.templating import permits, render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
FormText = Annotated[str, Form()]
_SAFE_FILE_NAME = re.compile(r"^[\w.\-]{1,200}$")


@dataclass(frozen=True)
class TaskView:
    """A task of a run on the run page: its stored result and the samples of its log."""

    position: int
    result: TaskResultOut
    samples: transcripts.SampleList


@dataclass(frozen=True)
class RunHeader:
    """What the run and transcript pages say about a run besides its public fields."""

    run: RunPublic
    model: str
    positions: list[int]
    can_cancel: bool
    can_resume: bool


def _header(run: EvalRun, actor: Actor) -> RunHeader:
    model = run.reference_model or ""
    if run.window is not None:
        model = f"{run.window.model.name} {run.window.model.version}"
    may_act = permits(actor, Permission.EVAL_CANCEL, run) and run.window_id is not None
    return RunHeader(
        run=runs.to_public(run),
        model=model,
        positions=[r.position for r in run.results],
        can_cancel=may_act and run.state in ACTIVE_STATES,
        can_resume=may_act and run.state in RESUMABLE_STATES,
    )


def _log_of(run: EvalRun, position: int) -> tuple[str, str]:
    """(sha256, file name) of the log of the task at ``position``."""
    result = next((r for r in run.results if r.position == position), None)
    if result is None:
        raise NotFound("no such task in this run")
    return result.log_digest, result.log_name


# -- start ---------------------------------------------------------------------------------


def _read_upload(upload: UploadFile | None) -> tuple[str, bytes] | None:
    """The uploaded task file, or None when the field was left empty. One byte more than
    the service allows is read, so that it can refuse an oversize file with its reason."""
    if upload is None or not upload.filename:
        return None
    return upload.filename, upload.file.read(runs.MAX_TASK_FILE_BYTES + 1)


@router.post("/review/windows/{window_id}/runs")
def start_run(
    window_id: uuid.UUID,
    request: Request,
    runtime: RuntimeDep,
    *,
    suites: Annotated[list[str] | None, Form()] = None,
    other_tasks: FormText = "",
    task_function: FormText = "",
    limit: FormText = "",
    epochs: FormText = "",
    max_connections: FormText = "",
    time_limit: FormText = "",
    token_limit: FormText = "",
    sandbox: FormText = "",
    task_file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    upload = _read_upload(task_file)
    form = StartForm(
        suites=suites or [],
        other_tasks=other_tasks,
        task_function=task_function,
        options={
            "limit": limit,
            "epochs": epochs,
            "max_connections": max_connections,
            "time_limit": time_limit,
            "token_limit": token_limit,
            "sandbox": sandbox,
        },
        has_file=upload is not None,
    )
    with runtime.db.transaction(write=True) as session:
        user = require_user(request, session)
        try:
            with form_write(session):
                run = runs.start_run(
                    session,
                    actor=user.actor,
                    clock=runtime.clock,
                    queue=runtime.queue,
                    blobs=runtime.blobs,
                    data=RunCreate.model_validate(form.payload(window_id)),
                    task_file=upload,
                    allow_task_files=runtime.settings.eval_allow_task_files,
                )
        except FormFailure as failure:
            refused = eval_views.field_errors(failure)
            return review.render_window(
                request, session, user, runtime, window_id,
                status=refused.status, form=refused.context(form.values()),
            )  # fmt: skip
        run_id = run.id
    flash(request, "Run queued. This page follows its progress.")
    return RedirectResponse(f"/review/runs/{run_id}", status_code=303)


# -- one run -------------------------------------------------------------------------------


@router.get("/review/runs/{run_id}")
def run_page(run_id: uuid.UUID, request: Request, runtime: RuntimeDep) -> Response:
    with runtime.db.transaction() as session:
        user = require_user(request, session)
        header = _header(runs.get_run(session, actor=user.actor, run_id=run_id), user.actor)
    # The logs are read after the transaction: a large log must not hold a connection.
    tasks = [
        TaskView(position, result, transcripts.sample_list(runtime.blobs, result.log_sha256))
        for position, result in zip(header.positions, header.run.results, strict=True)
    ]
    context = {
        "h": header,
        "run": header.run,
        "tasks": tasks,
        "final": eval_views.is_final(header.run.state),
        "progress_text": eval_views.progress_text(header.run),
        "percent": eval_views.percent(header.run),
        "max_rows": transcripts.MAX_SAMPLE_ROWS,
    }
    return render(request, "evals/run.html", context, user=user)


@router.get("/review/runs/{run_id}/progress")
def run_progress(run_id: uuid.UUID, request: Request, runtime: RuntimeDep) -> Response:
    """The run's state and samples done, for run-progress.js to poll."""
    with runtime.db.transaction() as session:
        user = require_user(request, session)
        run = runs.to_public(runs.get_run(session, actor=user.actor, run_id=run_id))
    return JSONResponse(eval_views.progress_payload(run), headers={"Cache-Control": "no-store"})


@router.post("/review/runs/{run_id}/cancel")
def cancel_run(run_id: uuid.UUID, request: Request, runtime: RuntimeDep) -> Response:
    with runtime.db.transaction(write=True) as session:
        user = require_user(request, session)
        try:
            with form_write(session):
                runs.cancel_run(session, actor=user.actor, clock=runtime.clock, run_id=run_id)
        except FormFailure as failure:
            flash(request, f"The run was not cancelled: {failure.message}")
            return RedirectResponse(f"/review/runs/{run_id}", status_code=303)
    flash(request, "Cancel requested: a running task stops at its next check.")
    return RedirectResponse(f"/review/runs/{run_id}", status_code=303)


@router.post("/review/runs/{run_id}/resume")
def resume_run(run_id: uuid.UUID, request: Request, runtime: RuntimeDep) -> Response:
    with runtime.db.transaction(write=True) as session:
        user = require_user(request, session)
        try:
            with form_write(session):
                runs.resume_run(
                    session, actor=user.actor, clock=runtime.clock, queue=runtime.queue,
                    run_id=run_id,
                )  # fmt: skip
        except FormFailure as failure:
            flash(request, f"The run was not resumed: {failure.message}")
            return RedirectResponse(f"/review/runs/{run_id}", status_code=303)
    flash(request, "Run queued again; the samples it completed are kept.")
    return RedirectResponse(f"/review/runs/{run_id}", status_code=303)


@router.get("/review/runs/{run_id}/logs/{position}")
def download_log(
    run_id: uuid.UUID, position: int, request: Request, runtime: RuntimeDep
) -> Response:
    """A task's Inspect log (``.eval``), for ``inspect view`` or any Inspect reader."""
    with runtime.db.transaction() as session:
        user = require_user(request, session)
        digest, name = _log_of(runs.get_run(session, actor=user.actor, run_id=run_id), position)
    if not _SAFE_FILE_NAME.match(name):
        name = f"run-{run_id}-task-{position}.eval"
    return Response(
        runtime.blobs.get(digest),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/review/runs/{run_id}/tasks/{position}/samples/{epoch}/{sample_id:path}")
def sample_page(
    request: Request,
    runtime: RuntimeDep,
    *,
    run_id: uuid.UUID,
    position: int,
    epoch: int,
    sample_id: str,
) -> Response:
    """One sample's transcript, rendered from the stored log."""
    with runtime.db.transaction() as session:
        user = require_user(request, session)
        run = runs.get_run(session, actor=user.actor, run_id=run_id)
        header = _header(run, user.actor)
        digest, _name = _log_of(run, position)
    task = header.run.results[header.positions.index(position)]
    sample = transcripts.read_sample(runtime.blobs, digest, sample_id=sample_id, epoch=epoch)
    context = {"h": header, "run": header.run, "task": task, "position": position, "s": sample}
    return render(request, "evals/sample.html", context, user=user)
