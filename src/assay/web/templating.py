"""Rendering pages: the Jinja2 environment and the context every page shares."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import jinja2
from fastapi import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

import assay
from assay.core.authz import Actor, Permission, authorize
from assay.core.errors import Forbidden, NotFound
from assay.web.session import WebUser, existing_csrf_token, pop_flash

TEMPLATE_DIR = Path(__file__).parent / "templates"


class NavItem(NamedTuple):
    label: str
    href: str
    current: bool


# A section appears in the navigation when the user may do its main action.
_SECTIONS: tuple[tuple[str, str, Permission | None], ...] = (
    ("Dashboard", "/", None),
    ("Models", "/review/models", Permission.MODEL_CREATE),
    ("Review windows", "/review/windows", Permission.WINDOW_READ),
    ("Report intake", "/clearinghouse/intake", Permission.SUBMISSION_CREATE),
    ("Triage queue", "/clearinghouse/queue", Permission.VULN_TRIAGE),
    ("Organizations", "/admin/orgs", Permission.ORG_CREATE),
    ("Users", "/admin/users", Permission.USER_CREATE),
)


@functools.cache
def templates() -> Jinja2Templates:
    """Built on first use, not at import; StrictUndefined turns a template typo into an error."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return Jinja2Templates(env=env)


def permits(actor: Actor, permission: Permission, obj: object = None) -> bool:
    """Ask the authorization module, which alone decides, whether to offer an action."""
    try:
        authorize(actor, permission, obj)
    except (Forbidden, NotFound):
        return False
    return True


def navigation(user: WebUser | None, path: str) -> list[NavItem]:
    if user is None:
        return []
    return [
        NavItem(label, href, path == href)
        for label, href, permission in _SECTIONS
        if permission is None or permits(user.actor, permission)
    ]


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    user: WebUser | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """Render a page with the shared context: user, navigation, CSRF token, flash message."""
    full: dict[str, Any] = {
        "user": user,
        "nav": navigation(user, request.url.path),
        "csrf_token": existing_csrf_token(request),
        "flash": pop_flash(request) if user is not None else None,
        "version": assay.__version__,
        "values": {},
        "errors": {},
        "form_error": None,
    }
    full.update(context or {})
    return templates().TemplateResponse(
        request, name, full, status_code=status, headers=dict(headers or {})
    )
