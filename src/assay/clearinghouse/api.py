"""HTTP routes of the clearinghouse: intake, the triage queue, vulnerabilities, merges."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from assay.api.deps import (
    CurrentActor,
    PageDep,
    PageOut,
    RuntimeDep,
    SessionDep,
    current_actor,
    page_out,
)
from assay.clearinghouse import intake, triage_service, views, vulns
from assay.clearinghouse.models import VulnStatus
from assay.clearinghouse.schemas import (
    IntakeOut,
    MergeIn,
    SplitIn,
    SubmissionPublic,
    TriageIn,
    VulnDetail,
    VulnSummary,
)
from assay.core.authz import Actor, Permission
from assay.core.errors import FieldError, InvalidInput
from assay.runtime import Runtime

router = APIRouter(prefix="/api", tags=["clearinghouse"])
COPY_CHUNK = 1024 * 1024


def limits_of(runtime: Runtime) -> intake.IntakeLimits:
    s = runtime.settings
    return intake.IntakeLimits(
        max_bytes=s.intake_max_bytes,
        near_threshold=s.near_duplicate_threshold,
        near_band=s.near_duplicate_band,
    )


def intake_actor(request: Request, runtime: RuntimeDep) -> Actor:
    """Authenticate in a short read of its own: intake opens its own write transactions, and
    the request's write transaction (SQLite's BEGIN IMMEDIATE) would lock them out."""
    with runtime.db.transaction() as session:
        return current_actor(request, runtime, session)


IntakeActor = Annotated[Actor, Depends(intake_actor)]


@router.post("/intake", status_code=status.HTTP_201_CREATED)
async def submit(request: Request, actor: IntakeActor, runtime: RuntimeDep) -> IntakeOut:
    """Take in a SARIF, OSV, CSAF or CVE 5 document: as a multipart upload (`file`, plus
    optional `format`, `tlp`, `discovery_method`, `discovery_tool` fields), or as the JSON
    body itself (the same fields as query parameters)."""
    limits = limits_of(runtime)
    with tempfile.TemporaryDirectory(prefix="assay-intake-") as folder:
        path = Path(folder) / "upload"
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("multipart/form-data"):
            async with request.form(max_part_size=limits.max_bytes) as form:
                upload = form.get("file")
                if not isinstance(upload, UploadFile):
                    raise InvalidInput(
                        "send the document as the multipart field `file`",
                        errors=[FieldError("file", "a file")],
                    )
                name = upload.filename or "upload"
                await _copy(upload, path, limits.max_bytes)
                fields = {k: v for k, v in form.items() if k != "file" and isinstance(v, str)}
        else:
            name = request.query_params.get("name", "request body")
            await _copy_body(request, path, limits.max_bytes)
            fields = {k: v for k, v in request.query_params.items() if k != "name"}
        meta = views.build_meta(fields)
        return await run_in_threadpool(
            intake.submit_file,
            runtime.db,
            actor=actor,
            clock=runtime.clock,
            blobs=runtime.blobs,
            path=path,
            source_name=name,
            meta=meta,
            limits=limits,
        )


def _too_big(limit: int) -> InvalidInput:
    return InvalidInput(
        f"the document is larger than the intake limit of {limit} bytes",
        errors=[FieldError("file", f"at most {limit} bytes")],
    )


async def _copy(upload: UploadFile, path: Path, limit: int) -> None:
    written = 0
    with path.open("wb") as out:
        while chunk := await upload.read(COPY_CHUNK):
            written += len(chunk)
            if written > limit:
                raise _too_big(limit)
            out.write(chunk)


async def _copy_body(request: Request, path: Path, limit: int) -> None:
    written = 0
    with path.open("wb") as out:
        async for chunk in request.stream():
            written += len(chunk)
            if written > limit:
                raise _too_big(limit)
            out.write(chunk)


@router.get("/submissions")
def list_submissions(
    actor: CurrentActor, session: SessionDep, page: PageDep
) -> PageOut[SubmissionPublic]:
    result = vulns.list_submissions(session, actor=actor, limit=page.limit, offset=page.offset)
    return page_out(result, SubmissionPublic)


@router.get("/vulnerabilities")
def list_vulnerabilities(
    actor: CurrentActor,
    session: SessionDep,
    page: PageDep,
    only: Annotated[VulnStatus | None, Query(alias="status")] = None,
) -> PageOut[VulnSummary]:
    """The triage queue, highest priority first."""
    result = vulns.list_queue(
        session, actor=actor, limit=page.limit, offset=page.offset, status=only
    )
    return PageOut[VulnSummary](
        items=views.summaries(session, result.items),
        total=result.total,
        limit=result.limit,
        offset=result.offset,
    )


@router.get("/vulnerabilities/{ref}")
def get_vulnerability(ref: str, actor: CurrentActor, session: SessionDep) -> VulnDetail:
    vuln = vulns.get_vuln(session, actor=actor, ref=ref)
    return views.detail(session, actor=actor, vuln=vuln)


@router.post("/vulnerabilities/merge")
def merge(
    body: MergeIn, actor: CurrentActor, session: SessionDep, runtime: RuntimeDep
) -> VulnDetail:
    vuln = vulns.merge(
        session,
        actor=actor,
        clock=runtime.clock,
        into=body.into,
        other=body.other,
        reason=body.reason,
    )
    return views.detail(session, actor=actor, vuln=vuln)


@router.post("/vulnerabilities/split")
def split(
    body: SplitIn, actor: CurrentActor, session: SessionDep, runtime: RuntimeDep
) -> VulnDetail:
    vuln = vulns.split(
        session, actor=actor, clock=runtime.clock, finding_id=body.finding, reason=body.reason
    )
    return views.detail(session, actor=actor, vuln=vuln)


@router.patch("/vulnerabilities/{ref}")
def triage_vulnerability(
    ref: str, body: TriageIn, actor: CurrentActor, session: SessionDep, runtime: RuntimeDep
) -> VulnDetail:
    """An analyst's triage: status, CVSS vector, SSVC inputs, reproducer confirmed."""
    vuln = vulns.get_vuln(session, actor=actor, ref=ref, permission=Permission.VULN_TRIAGE)
    triage_service.triage(session, actor=actor, clock=runtime.clock, vuln=vuln, data=body)
    return views.detail(session, actor=actor, vuln=vuln)
