"""Web sessions: the signed cookie's user, CSRF tokens, and the login redirect.

The session cookie (Starlette's SessionMiddleware, signed with itsdangerous) holds only the
user id and a CSRF token. The user is re-loaded on every request, so a disabled user's
session stops working at once.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request

from assay.api.deps import RuntimeDep
from assay.core.authz import Actor
from assay.core.errors import Forbidden
from assay.identity import service as identity

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class LoginRequired(Exception):
    """Raised by a page that needs a user; answered with a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def csrf_token(request: Request) -> str:
    """This session's CSRF token, made on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def require_csrf(request: Request) -> None:
    """Refuse a form post whose CSRF token is missing or does not match the session's."""
    expected = request.session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not isinstance(expected, str) or not sent or not secrets.compare_digest(expected, sent):
        raise Forbidden("the form's CSRF token is missing or wrong; reload the page and try again")


CsrfChecked = Depends(require_csrf)


def start_session(request: Request, actor: Actor) -> None:
    """A fresh session for a new login, so no token from before the login survives it."""
    request.session.clear()
    request.session["uid"] = str(actor.user_id)
    request.session["csrf"] = secrets.token_urlsafe(32)


def optional_actor(request: Request, runtime: RuntimeDep) -> Actor | None:
    raw = request.session.get("uid")
    if not isinstance(raw, str):
        return None
    try:
        user_id = uuid.UUID(raw)
    except ValueError:
        return None
    with runtime.db.transaction() as session:
        actor = identity.load_actor(session, user_id)
    if actor is None:
        request.session.clear()
    return actor


def page_actor(request: Request, actor: Annotated[Actor | None, Depends(optional_actor)]) -> Actor:
    if actor is None:
        raise LoginRequired(
            request.url.path + (f"?{request.url.query}" if request.url.query else "")
        )
    return actor


PageActor = Annotated[Actor, Depends(page_actor)]
OptionalActor = Annotated[Actor | None, Depends(optional_actor)]


def safe_next(value: str | None) -> str:
    """Only a local path is a valid place to go after login (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def login_url(next_path: str) -> str:
    return "/login?next=" + quote(next_path, safe="/")
