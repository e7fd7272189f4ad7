"""HTTP routes of the evaluations domain: thin translations to its services."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, status
from fastapi.responses import Response

from assay.api.deps import CurrentActor, PageDep, PageOut, RuntimeDep, SessionDep
from assay.core.errors import NotFound
from assay.evals import runs
from assay.evals.models import RunState
from assay.evals.schemas import BaselineMark, RunCreate, RunPublic
from assay.reports import FILE_SUFFIXES, MEDIA_TYPES, render
from assay.reports.collect import build_report

router = APIRouter(prefix="/api/evals", tags=["evals"])


@router.post("/runs", status_code=status.HTTP_201_CREATED)
def start_run(
    body: RunCreate, actor: CurrentActor, session: SessionDep, runtime: RuntimeDep
) -> RunPublic:
    """Queue a run of registered tasks in an open window; 409 outside it."""
    run = runs.start_run(
        session,
        actor=actor,
        clock=runtime.clock,
        queue=runtime.queue,
        blobs=runtime.blobs,
        data=body,
    )
    return runs.to_public(run)


@router.get("/runs")
def list_runs(
    actor: CurrentActor,
    session: SessionDep,
    page: PageDep,
    window_id: uuid.UUID | None = None,
    state: RunState | None = None,
) -> PageOut[RunPublic]:
    result = runs.list_runs(
        session,
        actor=actor,
        limit=page.limit,
        offset=page.offset,
        window_id=window_id,
        state=state,
    )
    return PageOut[RunPublic](
        items=[runs.to_public(r) for r in result.items],
        total=result.total,
        limit=result.limit,
        offset=result.offset,
    )


@router.get("/runs/{run_id}")
def get_run(run_id: uuid.UUID, actor: CurrentActor, session: SessionDep) -> RunPublic:
    return runs.to_public(runs.get_run(session, actor=actor, run_id=run_id))


@router.post("/runs/{run_id}/cancel")
def cancel_run(
    run_id: uuid.UUID, actor: CurrentActor, session: SessionDep, runtime: RuntimeDep
) -> RunPublic:
    run = runs.cancel_run(session, actor=actor, clock=runtime.clock, run_id=run_id)
    return runs.to_public(run)


@router.post("/runs/{run_id}/resume")
def resume_run(
    run_id: uuid.UUID, actor: CurrentActor, session: SessionDep, runtime: RuntimeDep
) -> RunPublic:
    run = runs.resume_run(
        session, actor=actor, clock=runtime.clock, queue=runtime.queue, run_id=run_id
    )
    return runs.to_public(run)


@router.post("/runs/{run_id}/baseline")
def mark_baseline(
    run_id: uuid.UUID,
    body: BaselineMark,
    actor: CurrentActor,
    session: SessionDep,
    runtime: RuntimeDep,
) -> RunPublic:
    run = runs.mark_baseline(
        session,
        actor=actor,
        clock=runtime.clock,
        run_id=run_id,
        reference_model=body.reference_model,
    )
    return runs.to_public(run)


@router.get("/baselines")
def list_baselines(actor: CurrentActor, session: SessionDep) -> list[RunPublic]:
    return [runs.to_public(r) for r in runs.list_baselines(session, actor=actor)]


@router.get("/windows/{window_id}/report")
def window_report(
    window_id: uuid.UUID,
    actor: CurrentActor,
    session: SessionDep,
    runtime: RuntimeDep,
    format: Literal["html", "pdf", "json"] = "json",
) -> Response:
    """The window's review report, from what the caller may see."""
    report = build_report(session, actor=actor, clock=runtime.clock, window_id=window_id)
    return Response(
        render(report, format),
        media_type=MEDIA_TYPES[format],
        headers={
            "Content-Disposition": f'inline; filename="review-{window_id}{FILE_SUFFIXES[format]}"'
        },
    )


@router.get("/runs/{run_id}/logs/{position}")
def download_log(
    run_id: uuid.UUID,
    position: int,
    actor: CurrentActor,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    """A task's Inspect log (``.eval``), for ``inspect view`` or any Inspect reader."""
    run = runs.get_run(session, actor=actor, run_id=run_id)
    result = next((r for r in run.results if r.position == position), None)
    if result is None:
        raise NotFound("no such log")
    return Response(
        runtime.blobs.get(result.log_digest),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{result.log_name}"'},
    )
