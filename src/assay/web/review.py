"""Pages of the frontier review: a developer's models, determinations, agreements and
windows; an agency's windows with a countdown, and findings.

Every read goes through the frontier services, which authorize; these routes only render.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from assay.api.deps import RuntimeDep
from assay.core.pagination import MAX_LIMIT
from assay.frontier import agreements, catalog, determinations, findings, windows
from assay.web.session import require_user, verify_csrf
from assay.web.templating import render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


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
        }
        return render(request, "review/model.html", context, user=user)


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


@router.get("/review/windows/{window_id}")
def window_page(window_id: uuid.UUID, request: Request, runtime: RuntimeDep) -> Response:
    with runtime.db.transaction() as session:
        user = require_user(request, session)
        now = runtime.clock.now()
        window = windows.get_window(session, actor=user.actor, window_id=window_id)
        context = {
            "window": windows.to_public(window, now),
            "agreement": window.agreement,
            "findings": findings.list_findings(
                session, actor=user.actor, limit=MAX_LIMIT, offset=0, window_id=window.id
            ).items,
            "countdown": countdown,
        }
        return render(request, "review/window.html", context, user=user)
