"""Helpers for the web UI tests: a logged-in browser is a TestClient with a session cookie."""

from __future__ import annotations

import re

import httpx2 as httpx
from fastapi.testclient import TestClient
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from assay.core.audit import AuditEvent
from assay.identity.models import User
from tests.factories import PASSWORD

_CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page, as a browser would post it."""
    found = _CSRF_INPUT.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def log_in(
    client: TestClient, user: User, password: str = PASSWORD, next_path: str = "/"
) -> httpx.Response:
    """Open the login page, then post its form; the redirect is not followed."""
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login",
        data={"email": user.email, "password": password, "csrf_token": token, "next": next_path},
        follow_redirects=False,
    )


def count(session: Session, model: type, *where: ColumnElement[bool]) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def events(session: Session, action: str) -> int:
    return count(session, AuditEvent, AuditEvent.action == action)
