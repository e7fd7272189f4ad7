"""The web session: who is logged in, the CSRF token, and one-shot messages.

The session is a cookie signed by Starlette's SessionMiddleware. It holds only the user's
id, a CSRF token and a flash message; the user is loaded again on every request, so a
disabled or deleted user's session stops working at once.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from fastapi import Request
from sqlalchemy.orm import Session

from assay.core.authz import Actor, OrgKind, Role
from assay.core.errors import Forbidden
from assay.identity import service as identity

USER_KEY = "uid"
CSRF_KEY = "csrf"
FLASH_KEY = "flash"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class WebUser(NamedTuple):
    """The logged-in user as pages show them, with the actor that services authorize."""

    actor: Actor
    name: str
    email: str
    org_name: str
    org_kind: OrgKind
    role: Role
    is_instance_admin: bool


class LoginRequired(Exception):
    """A page needs a logged-in user; the UI answers with a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def _session(request: Request) -> dict[str, Any]:
    # An error page may be rendered outside the session middleware (a 500): no session then.
    found: dict[str, Any] | None = request.scope.get("session")
    return found if found is not None else {}


# -- CSRF ----------------------------------------------------------------------------------


def csrf_token(request: Request) -> str:
    """This session's CSRF token, made on first use (the login page makes it before login)."""
    token = request.session.get(CSRF_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_KEY] = token
    return token


def existing_csrf_token(request: Request) -> str | None:
    token = _session(request).get(CSRF_KEY)
    return token if isinstance(token, str) and token else None


async def verify_csrf(request: Request) -> None:
    """Refuse any unsafe request whose form field or header does not carry the session's token.

    A router-wide dependency, so that no form of the UI can be added without it."""
    if request.method in SAFE_METHODS:
        return
    expected = existing_csrf_token(request)
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        value = (await request.form()).get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if (
        expected is None
        or not given
        or not secrets.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))
    ):
        raise Forbidden(
            "the form's security token is missing or out of date: reload the page and try again"
        )


# -- login state ---------------------------------------------------------------------------


def start_session(request: Request, user_id: uuid.UUID) -> None:
    """Rotate the session at login: nothing from before (a planted token) survives it."""
    request.session.clear()
    request.session[USER_KEY] = str(user_id)
    request.session[CSRF_KEY] = secrets.token_urlsafe(32)


def end_session(request: Request) -> None:
    request.session.clear()


def current_user(request: Request, session: Session) -> WebUser | None:
    """The logged-in user, or None when nobody is, or the user was disabled or deleted."""
    raw = _session(request).get(USER_KEY)
    if not isinstance(raw, str):
        return None
    try:
        user_id = uuid.UUID(raw)
    except ValueError:
        return None
    actor = identity.load_actor(session, user_id)
    if actor is None:
        return None
    user = identity.get_user(session, actor=actor, user_id=actor.user_id)
    return WebUser(
        actor=actor,
        name=user.name,
        email=user.email,
        org_name=user.org.name,
        org_kind=user.org.kind,
        role=user.role,
        is_instance_admin=user.is_instance_admin,
    )


def require_user(request: Request, session: Session) -> WebUser:
    """The logged-in user; otherwise LoginRequired, which sends the browser to log in."""
    user = current_user(request, session)
    if user is None:
        if USER_KEY in _session(request):
            end_session(request)  # the user was disabled or deleted: forget them
        raise LoginRequired(request_path(request))
    return user


# -- redirects and messages ----------------------------------------------------------------


def request_path(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def safe_next(value: str | None) -> str:
    """``value`` if it is a path on this site, else ``/``: a login link cannot send users away.

    Browsers drop tabs and newlines and read ``\\`` as ``/``, so ``/\\evil`` and ``/\\t/evil``
    would leave the site; anything but a plain absolute path is refused."""
    if not value or not value.startswith("/") or value.startswith("//"):
        return "/"
    if "\\" in value or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


def flash(request: Request, message: str) -> None:
    """A message for the next page shown, e.g. after a redirect."""
    request.session[FLASH_KEY] = message


def pop_flash(request: Request) -> str | None:
    message = _session(request).pop(FLASH_KEY, None)
    return message if isinstance(message, str) else None
