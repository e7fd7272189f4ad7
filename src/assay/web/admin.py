"""The dashboard and the administration pages: organizations and users.

Every read and write goes through ``assay.identity.service``, which authorizes; these
routes only translate between forms and service calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from assay.api.deps import RuntimeDep
from assay.core.authz import OrgKind, Permission, Role
from assay.core.pagination import MAX_LIMIT
from assay.identity import service as identity
from assay.identity.schemas import OrgCreate, UserCreate
from assay.web.forms import FormFailure, form_write
from assay.web.session import WebUser, flash, require_user, verify_csrf
from assay.web.templating import permits, render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

PAGE_SIZE = 50
FormText = Annotated[str, Form()]
Offset = Annotated[int, Query(ge=0, description="How many rows to skip.")]


@router.get("/")
def dashboard(request: Request, runtime: RuntimeDep) -> Response:
    with runtime.db.transaction() as session:
        user = require_user(request, session)
        context = {
            "org_count": identity.list_organizations(session, actor=user.actor, limit=1).total,
            "user_count": identity.list_users(session, actor=user.actor, limit=1).total,
        }
        return render(request, "dashboard.html", context, user=user)


# -- organizations -------------------------------------------------------------------------


def _orgs_page(
    request: Request,
    session: Session,
    user: WebUser,
    *,
    offset: int = 0,
    status: int = 200,
    form: Mapping[str, Any] | None = None,
) -> Response:
    context = {
        "page": identity.list_organizations(
            session, actor=user.actor, limit=PAGE_SIZE, offset=offset
        ),
        "kind_options": [(k.value, k.value) for k in OrgKind],
        "can_create": permits(user.actor, Permission.ORG_CREATE),
        **(form or {}),
    }
    return render(request, "orgs.html", context, user=user, status=status)


@router.get("/admin/orgs")
def orgs(request: Request, runtime: RuntimeDep, offset: Offset = 0) -> Response:
    with runtime.db.transaction() as session:
        user = require_user(request, session)
        return _orgs_page(request, session, user, offset=offset)


@router.post("/admin/orgs")
def create_org(
    request: Request, runtime: RuntimeDep, name: FormText = "", kind: FormText = ""
) -> Response:
    values = {"name": name, "kind": kind}
    with runtime.db.transaction(write=True) as session:
        user = require_user(request, session)
        try:
            with form_write(session):
                body = OrgCreate.model_validate(values)
                org = identity.create_organization(
                    session, actor=user.actor, clock=runtime.clock, name=body.name, kind=body.kind
                )
        except FormFailure as failure:
            form = failure.context(values)
            return _orgs_page(request, session, user, status=failure.status, form=form)
    flash(request, f"Organization {org.name} created.")
    return RedirectResponse("/admin/orgs", status_code=303)


# -- users ---------------------------------------------------------------------------------


def _users_page(
    request: Request,
    session: Session,
    user: WebUser,
    *,
    offset: int = 0,
    status: int = 200,
    form: Mapping[str, Any] | None = None,
) -> Response:
    can_create = permits(user.actor, Permission.USER_CREATE)
    # The organizations offered are those the service shows this user: an org admin, their own.
    orgs = (
        identity.list_organizations(session, actor=user.actor, limit=MAX_LIMIT).items
        if can_create
        else []
    )
    context = {
        "page": identity.list_users(session, actor=user.actor, limit=PAGE_SIZE, offset=offset),
        "org_options": [(str(o.id), f"{o.name} ({o.kind.value})") for o in orgs],
        "role_options": [(r.value, r.value) for r in Role],
        "can_create": can_create,
        "values": {"org_id": str(user.actor.org_id), "role": Role.MEMBER.value},
        **(form or {}),
    }
    return render(request, "users.html", context, user=user, status=status)


@router.get("/admin/users")
def users(request: Request, runtime: RuntimeDep, offset: Offset = 0) -> Response:
    with runtime.db.transaction() as session:
        user = require_user(request, session)
        return _users_page(request, session, user, offset=offset)


@router.post("/admin/users")
def create_user(
    request: Request,
    runtime: RuntimeDep,
    *,
    org_id: FormText = "",
    email: FormText = "",
    name: FormText = "",
    role: FormText = "",
    password: FormText = "",
) -> Response:
    values = {"org_id": org_id, "email": email, "name": name, "role": role, "password": password}
    with runtime.db.transaction(write=True) as session:
        user = require_user(request, session)
        try:
            with form_write(session):
                body = UserCreate.model_validate(values)
                created = identity.create_user(
                    session,
                    actor=user.actor,
                    clock=runtime.clock,
                    org_id=body.org_id,
                    email=body.email,
                    name=body.name,
                    role=body.role,
                    password=body.password,
                )
        except FormFailure as failure:
            form = failure.context(values)
            return _users_page(request, session, user, status=failure.status, form=form)
    flash(request, f"User {created.email} created in {created.org.name}.")
    return RedirectResponse("/admin/users", status_code=303)
