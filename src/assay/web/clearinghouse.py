"""Pages of the clearinghouse: upload a report, the triage queue, one vulnerability with
its cluster and the reason for each merge.

Every read and write goes through the clearinghouse services, which authorize.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from assay.api.deps import RuntimeDep
from assay.clearinghouse import intake, views, vulns
from assay.clearinghouse.api import limits_of
from assay.clearinghouse.models import DiscoveryMethod, Tlp, VulnStatus
from assay.core.authz import Permission
from assay.core.errors import InvalidInput
from assay.web.session import require_user, verify_csrf
from assay.web.templating import permits, render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
FormText = Annotated[str, Form()]
QUEUE_SIZE = 100


def _intake_context() -> dict[str, object]:
    return {
        "tlp_options": [(t.value, t.value) for t in Tlp],
        "method_options": [(m.value, m.value) for m in DiscoveryMethod],
        "format_options": [(f, f) for f in ("auto", "sarif", "osv", "csaf", "cve5")],
    }


@router.get("/clearinghouse/intake")
def intake_page(request: Request, runtime: RuntimeDep) -> Response:
    with runtime.db.transaction() as session:
        user = require_user(request, session)
        page = vulns.list_submissions(session, actor=user.actor, limit=20, offset=0)
        context = {
            **_intake_context(),
            "submissions": page.items,
            "can_submit": permits(user.actor, Permission.SUBMISSION_CREATE),
            "values": {"tlp": Tlp.AMBER.value, "discovery_method": "human", "format": "auto"},
        }
        return render(request, "clearinghouse/intake.html", context, user=user)


@router.post("/clearinghouse/intake")
async def intake_upload(
    request: Request,
    runtime: RuntimeDep,
    *,
    file: Annotated[UploadFile, File()],
    fmt: Annotated[str, Form(alias="format")] = "auto",
    tlp: FormText = "AMBER",
    discovery_method: FormText = "human",
    discovery_tool: FormText = "",
) -> Response:
    values = {
        "format": fmt,
        "tlp": tlp,
        "discovery_method": discovery_method,
        "discovery_tool": discovery_tool,
    }
    with runtime.db.transaction() as session:
        user = require_user(request, session)
    limits = limits_of(runtime)
    result = None
    error = None
    with tempfile.TemporaryDirectory(prefix="assay-upload-") as folder:
        path = Path(folder) / "upload"
        with path.open("wb") as out:
            await run_in_threadpool(shutil.copyfileobj, file.file, out)
        try:
            meta = views.build_meta(values)
            result = await run_in_threadpool(
                intake.submit_file,
                runtime.db,
                actor=user.actor,
                clock=runtime.clock,
                blobs=runtime.blobs,
                path=path,
                source_name=file.filename or "upload",
                meta=meta,
                limits=limits,
            )
        except InvalidInput as exc:
            error = exc
    with runtime.db.transaction() as session:
        page = vulns.list_submissions(session, actor=user.actor, limit=20, offset=0)
        context = {
            **_intake_context(),
            "submissions": page.items,
            "can_submit": True,
            "values": values,
            "result": result,
            "form_error": error.detail if error else None,
            "error_fields": [(e.field, e.message) for e in error.errors] if error else [],
        }
        return render(
            request,
            "clearinghouse/intake.html",
            context,
            user=user,
            status=422 if error else 200,
        )


@router.get("/clearinghouse/queue")
def queue_page(request: Request, runtime: RuntimeDep, status: str = "") -> Response:
    with runtime.db.transaction() as session:
        user = require_user(request, session)
        only = VulnStatus(status) if status in {s.value for s in VulnStatus} else None
        page = vulns.list_queue(session, actor=user.actor, limit=QUEUE_SIZE, offset=0, status=only)
        context = {
            "items": views.summaries(session, page.items),
            "total": page.total,
            "status": status,
            "statuses": [s.value for s in VulnStatus],
        }
        return render(request, "clearinghouse/queue.html", context, user=user)


@router.get("/clearinghouse/vulnerabilities/{ref}")
def vulnerability_page(ref: str, request: Request, runtime: RuntimeDep) -> Response:
    with runtime.db.transaction() as session:
        user = require_user(request, session)
        vuln = vulns.get_vuln(session, actor=user.actor, ref=ref)
        context = {"vuln": views.detail(session, actor=user.actor, vuln=vuln)}
        return render(request, "clearinghouse/vulnerability.html", context, user=user)
