"""Logging in and out of the UI."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from assay.api.deps import RuntimeDep
from assay.core.errors import RateLimited, Unauthenticated
from assay.identity import service as identity
from assay.web.session import (
    csrf_token,
    current_user,
    end_session,
    safe_next,
    start_session,
    verify_csrf,
)
from assay.web.templating import render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

FormText = Annotated[str, Form()]
NextQuery = Annotated[str, Query(alias="next")]
NextForm = Annotated[str, Form(alias="next")]


def _login_page(
    request: Request,
    *,
    next_path: str,
    email: str = "",
    error: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    csrf_token(request)  # the form must carry a token before anyone is logged in
    context = {"next": safe_next(next_path), "values": {"email": email}, "form_error": error}
    return render(request, "login.html", context, status=status, headers=headers)


@router.get("/login")
def login_form(request: Request, runtime: RuntimeDep, next_path: NextQuery = "/") -> Response:
    with runtime.db.transaction() as session:
        if current_user(request, session) is not None:
            return RedirectResponse(safe_next(next_path), status_code=303)
    return _login_page(request, next_path=next_path)


@router.post("/login")
def login(
    request: Request,
    runtime: RuntimeDep,
    email: FormText = "",
    password: FormText = "",
    next_path: NextForm = "/",
) -> Response:
    settings = runtime.settings
    try:
        with runtime.db.transaction(write=True) as session:
            actor = identity.authenticate_password(
                session,
                clock=runtime.clock,
                email=email,
                password=password,
                client=request.client.host if request.client else "unknown",
                max_failures=settings.login_max_failures,
                window_seconds=settings.login_window_seconds,
            )
    except RateLimited as exc:
        retry = {"Retry-After": str(exc.retry_after_seconds)}
        return _login_page(
            request, next_path=next_path, email=email, error=exc.detail, status=429, headers=retry
        )
    except Unauthenticated as exc:
        # A page, not a 401: the browser user reads why and tries again on the same form.
        return _login_page(request, next_path=next_path, email=email, error=exc.detail)
    start_session(request, actor.user_id)
    return RedirectResponse(safe_next(next_path), status_code=303)


@router.post("/logout")
def logout(request: Request, runtime: RuntimeDep) -> Response:
    with runtime.db.transaction(write=True) as session:
        user = current_user(request, session)
        if user is not None:
            identity.record_logout(session, actor=user.actor, clock=runtime.clock)
    end_session(request)
    return RedirectResponse("/login", status_code=303)
