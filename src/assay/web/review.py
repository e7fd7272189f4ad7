"""Pages of the frontier review: a developer's models, determinations, agreements and
windows; an agency's windows with a countdown, findings, and the window's eval runs (the
run pages themselves are in ``assay.web.evals``).

Every read goes through the frontier services, which authorize; these routes only render.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from assay.api.deps import RuntimeDep
from assay.core.authz import Permission
from assay.core.pagination import MAX_LIMIT
from assay.frontier import agreements, catalog, determinations, findings, policies, windows
from assay.frontier.models import Severity
from assay.frontier.schemas import FindingCreate, ResponseCreate
from assay.runtime import Runtime
from assay.web import eval_views
from assay.web.forms import FormFailure, form_write
from assay.web.session import WebUser, flash, require_user, verify_csrf
from assay.web.templating import permits, render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
FormText = Annotated[str, Form()]


def countdown(seconds: int) -> str:
    """How long a window has left, as a person reads it: 12d 03:04:05."""
    left = timedelta(seconds=max(0, seconds))
    hours, rest = divmod(left.seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{left.days}d {hours:02d}:{minutes:02d}:{secs:02d}"


@router.get("/review/models")
def models_page(request: Request, runtime: RuntimeDep) -> Response:
    with runtime.db.transaction() as session:
        user = require_user(request, session)
        page = catalog.list_models(session, actor=user.actor, limit=MAX_LIMIT, offset=0)
        return render(request, "review/models.html", {"models": page.items}, user=user)


@router.get("/review/models/{model_id}")
def model_page(model_id: uuid.UUID, request: Request, runtime: RuntimeDep) -> Response:
    with runtime.db.transaction() as session:
        user = require_user(request, session)
        actor = user.actor
        now = runtime.clock.now()
        model = catalog.get_model(session, actor=actor, model_id=model_id)
        context = {
            "model": model,
            "facts": catalog.facts_of(model),
            "determinations": determinations.list_determinations(
                session, actor=actor, limit=MAX_LIMIT, offset=0, model_id=model.id
            ).items,
            "agreements": agreements.list_agreements(
                session, actor=actor, limit=MAX_LIMIT, offset=0, model_id=model.id
            ).items,
            "windows": [
                windows.to_public(w, now)
                for w in windows.list_windows(
                    session, actor=actor, limit=MAX_LIMIT, offset=0, model_id=model.id
                ).items
            ],
            "countdown": countdown,
            "can_determine": permits(actor, Permission.DETERMINATION_CREATE, model),
            "policy_options": [
                (p.policy.name, f"{p.policy.title} (v{p.policy.version})")
                for p in policies.list_policies(session, actor=actor)
            ],
        }
        return render(request, "review/model.html", context, user=user)


@router.post("/review/models/{model_id}/determinations")
def determine(
    model_id: uuid.UUID, request: Request, runtime: RuntimeDep, policy: FormText = ""
) -> Response:
    with runtime.db.transaction(write=True) as session:
        user = require_user(request, session)
        made = determinations.determine(
            session, actor=user.actor, clock=runtime.clock, model_id=model_id, policy_name=policy
        )
        message = f"{made.outcome.value} under {made.policy_name} v{made.policy_version}."
    flash(request, f"Determination recorded: {message}")
    return RedirectResponse(f"/review/models/{model_id}", status_code=303)


@router.get("/review/windows")
def windows_page(request: Request, runtime: RuntimeDep) -> Response:
    with runtime.db.transaction() as session:
        user = require_user(request, session)
        now = runtime.clock.now()
        page = windows.list_windows(session, actor=user.actor, limit=MAX_LIMIT, offset=0)
        context = {
            "windows": [windows.to_public(w, now) for w in page.items],
            "countdown": countdown,
        }
        return render(request, "review/windows.html", context, user=user)


def render_window(
    request: Request,
    session: Session,
    user: WebUser,
    runtime: Runtime,
    window_id: uuid.UUID,
    *,
    status: int = 200,
    form: Mapping[str, Any] | None = None,
) -> Response:
    """The window page; ``form`` refills the start-a-run form after a refusal."""
    now = runtime.clock.now()
    window = windows.get_window(session, actor=user.actor, window_id=window_id)
    context = {
        "window": windows.to_public(window, now),
        "agreement": window.agreement,
        "findings": findings.list_findings(
            session, actor=user.actor, limit=MAX_LIMIT, offset=0, window_id=window.id
        ).items,
        "countdown": countdown,
        "can_record": permits(user.actor, Permission.FINDING_CREATE, window),
        "domain_options": [(d, d) for d in window.agreement.domains],
        "severity_options": [(s.value, s.value) for s in Severity],
        "user_org": user.actor.org_id,
        "developer_org": window.org_id,
        **eval_views.runs_section(
            session, actor=user.actor, window=window, now=now, settings=runtime.settings
        ),
        "values": dict(eval_views.DEFAULT_VALUES),
        **(form or {}),
    }
    return render(request, "review/window.html", context, user=user, status=status)


@router.get("/review/windows/{window_id}")
def window_page(window_id: uuid.UUID, request: Request, runtime: RuntimeDep) -> Response:
    with runtime.db.transaction() as session:
        user = require_user(request, session)
        return render_window(request, session, user, runtime, window_id)


@router.post("/review/windows/{window_id}/findings")
def record_finding(
    window_id: uuid.UUID,
    request: Request,
    runtime: RuntimeDep,
    *,
    domain: FormText = "",
    severity: FormText = "",
    title: FormText = "",
    description: FormText = "",
    evidence: FormText = "",
    hold_back: FormText = "",
) -> Response:
    values = {
        "window_id": str(window_id),
        "domain": domain,
        "severity": severity,
        "title": title,
        "description": description,
        "evidence": [line.strip() for line in evidence.splitlines() if line.strip()],
        "shared_with_developer": not hold_back,
    }
    with runtime.db.transaction(write=True) as session:
        user = require_user(request, session)
        try:
            with form_write(session):
                findings.record_finding(
                    session,
                    actor=user.actor,
                    clock=runtime.clock,
                    data=FindingCreate.model_validate(values),
                )
        except FormFailure as failure:
            flash(request, f"The finding was not recorded: {failure.message}")
            return RedirectResponse(f"/review/windows/{window_id}", status_code=303)
    flash(request, "Finding recorded.")
    return RedirectResponse(f"/review/windows/{window_id}", status_code=303)


@router.post("/review/findings/{finding_id}/responses")
def respond(
    finding_id: uuid.UUID, request: Request, runtime: RuntimeDep, body: FormText = ""
) -> Response:
    with runtime.db.transaction(write=True) as session:
        user = require_user(request, session)
        finding = findings.get_finding(session, actor=user.actor, finding_id=finding_id)
        window_id = finding.window_id
        try:
            with form_write(session):
                text = ResponseCreate.model_validate({"body": body}).body
                findings.respond(
                    session, actor=user.actor, clock=runtime.clock, finding_id=finding_id,
                    body=text,
                )  # fmt: skip
        except FormFailure as failure:
            flash(request, f"The response was not recorded: {failure.message}")
            return RedirectResponse(f"/review/windows/{window_id}", status_code=303)
    flash(request, "Response recorded.")
    return RedirectResponse(f"/review/windows/{window_id}", status_code=303)
