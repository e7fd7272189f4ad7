"""The pages: login and logout, the dashboard, and the admin pages for organizations and users.

Routes only translate: every read and write is a call to a service, which authorizes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from assay.api.deps import RuntimeDep
from assay.core.authz import Actor, OrgKind, Role
from assay.core.errors import AssayError, InvalidInput, Unauthenticated
from assay.identity import service as identity
from assay.identity.schemas import OrgCreate, UserCreate
from assay.web.session import (
    CsrfChecked,
    OptionalActor,
    PageActor,
    csrf_token,
    safe_next,
    start_session,
)

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
router = APIRouter(include_in_schema=False)


def nav(actor: Actor) -> list[tuple[str, str]]:
    """The navigation an actor sees: only what exists for them."""
    items = [("Dashboard", "/"), ("Users", "/admin/users")]
    items.insert(1, ("Organizations" if actor.is_instance_admin else "Organization", "/admin/orgs"))
    return items


def render(
    request: Request, name: str, actor: Actor | None, status: int = 200, **context: Any
) -> HTMLResponse:
    base = {"actor": actor, "csrf": csrf_token(request), "nav": nav(actor) if actor else []}
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status)


@router.get("/login")
def login_page(request: Request, actor: OptionalActor, next: str = "/") -> Response:
    if actor is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", None, next=safe_next(next))


@router.post("/login", dependencies=[CsrfChecked])
def login(
    request: Request,
    runtime: RuntimeDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
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
    except Unauthenticated as exc:
        return render(
            request, "login.html", None, status=401, error=exc.detail, email=email, next=next
        )
    start_session(request, actor)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request, runtime: RuntimeDep, actor: OptionalActor) -> Response:
    if actor is not None:
        with runtime.db.transaction(write=True) as session:
            identity.record_logout(session, actor=actor, clock=runtime.clock)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/")
def dashboard(request: Request, runtime: RuntimeDep, actor: PageActor) -> Response:
    with runtime.db.transaction() as session:
        org = identity.get_organization(session, actor=actor, org_id=actor.org_id)
        users = identity.list_users(session, actor=actor, org_id=actor.org_id, limit=1)
        user = identity.get_user(session, actor=actor, user_id=actor.user_id)
    return render(request, "dashboard.html", actor, org=org, user=user, user_count=users.total)


@router.get("/admin/orgs")
def orgs_page(request: Request, runtime: RuntimeDep, actor: PageActor, offset: int = 0) -> Response:
    return _orgs(request, runtime, actor, offset=offset)


def _orgs(
    request: Request,
    runtime: RuntimeDep,
    actor: Actor,
    *,
    offset: int = 0,
    status: int = 200,
    error: str | None = None,
) -> Response:
    with runtime.db.transaction() as session:
        page = identity.list_organizations(session, actor=actor, limit=100, offset=max(offset, 0))
    return render(
        request, "orgs.html", actor, status=status, page=page, kinds=list(OrgKind), error=error
    )


@router.post("/admin/orgs", dependencies=[CsrfChecked])
def create_org(
    request: Request,
    runtime: RuntimeDep,
    actor: PageActor,
    name: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "",
) -> Response:
    try:
        body = OrgCreate.model_validate({"name": name, "kind": kind})
        with runtime.db.transaction(write=True) as session:
            identity.create_organization(
                session, actor=actor, clock=runtime.clock, name=body.name, kind=body.kind
            )
    except (ValidationError, InvalidInput) as exc:
        return _orgs(request, runtime, actor, status=422, error=_message(exc))
    return RedirectResponse("/admin/orgs", status_code=303)


@router.get("/admin/users")
def users_page(
    request: Request, runtime: RuntimeDep, actor: PageActor, offset: int = 0
) -> Response:
    return _users(request, runtime, actor, offset=offset)


def _users(
    request: Request,
    runtime: RuntimeDep,
    actor: Actor,
    *,
    offset: int = 0,
    status: int = 200,
    error: str | None = None,
) -> Response:
    with runtime.db.transaction() as session:
        page = identity.list_users(session, actor=actor, limit=100, offset=max(offset, 0))
        orgs = identity.list_organizations(session, actor=actor, limit=500).items
        org_names = {o.id: o.name for o in orgs}
    return render(
        request,
        "users.html",
        actor,
        status=status,
        page=page,
        orgs=orgs,
        org_names=org_names,
        roles=list(Role),
        can_create=actor.is_instance_admin or actor.at_least(Role.ADMIN),
        error=error,
    )


@router.post("/admin/users", dependencies=[CsrfChecked])
def create_user(
    request: Request,
    *,
    runtime: RuntimeDep,
    actor: PageActor,
    org_id: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "member",
    password: Annotated[str, Form()] = "",
) -> Response:
    try:
        body = UserCreate.model_validate(
            {
                "org_id": org_id or str(actor.org_id),
                "email": email,
                "name": name,
                "role": role,
                "password": password,
            }
        )
        with runtime.db.transaction(write=True) as session:
            identity.create_user(
                session,
                actor=actor,
                clock=runtime.clock,
                org_id=body.org_id,
                email=body.email,
                name=body.name,
                role=body.role,
                password=body.password,
            )
    except (ValidationError, InvalidInput) as exc:
        return _users(request, runtime, actor, status=422, error=_message(exc))
    return RedirectResponse("/admin/users", status_code=303)


def _message(exc: ValidationError | AssayError) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
    parts = [exc.detail, *(f"{e.field}: {e.message}" for e in exc.errors)]
    return "; ".join(parts)
