"""Logging in and out: CSRF on both forms, the rate limit, redirects, and session rotation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from assay.core.authz import OrgKind, Role
from assay.core.clock import FrozenClock
from assay.core.config import Settings
from assay.identity.events import IdentityEvent
from assay.identity.models import LoginAttempt, User
from tests.factories import PASSWORD, make_org, make_user
from tests.unit.web.helpers import count, csrf_of, events, log_in


def _member(session: Session, clock: FrozenClock, org_name: str | None = None) -> User:
    user = make_user(session, clock, make_org(session, clock, OrgKind.AGENCY, org_name))
    session.commit()
    return user


def test_login_shows_the_dashboard_and_records_the_login(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    user = _member(session, clock, "Department of the Treasury")
    response = log_in(client, user)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert user.name in page.text and "Department of the Treasury" in page.text
    assert events(session, IdentityEvent.USER_LOGGED_IN) == 1


def test_login_rotates_the_csrf_token(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    user = _member(session, clock)
    before = csrf_of(client.get("/login").text)
    log_in(client, user)
    after = csrf_of(client.get("/").text)
    assert after != before
    stale = client.post("/logout", data={"csrf_token": before}, follow_redirects=False)
    assert stale.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 200


def test_wrong_password_shows_the_form_again_and_counts(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    user = _member(session, clock)
    response = log_in(client, user, "not the right password")
    assert response.status_code == 200
    assert "wrong e-mail or password" in response.text
    assert f'value="{user.email}"' in response.text  # the e-mail is kept, the password is not
    assert "not the right password" not in response.text
    assert count(session, LoginAttempt) == 1
    assert events(session, IdentityEvent.USER_LOGGED_IN) == 0
    assert client.get("/", follow_redirects=False).status_code == 303


def test_login_is_rate_limited_and_unlocks_after_the_window(
    client: TestClient, session: Session, clock: FrozenClock, settings: Settings
) -> None:
    user = _member(session, clock)
    for _ in range(settings.login_max_failures):
        assert "wrong e-mail or password" in log_in(client, user, "a wrong guess").text
    locked = log_in(client, user)  # even the right password waits
    assert locked.status_code == 429
    assert locked.headers["retry-after"] == str(settings.login_window_seconds)
    assert "too many failed logins" in locked.text
    assert 'name="csrf_token"' in locked.text  # still the login form, not a dead end
    clock.advance(timedelta(seconds=settings.login_window_seconds + 1))
    assert log_in(client, user).status_code == 303


def test_logout_ends_the_session(client: TestClient, session: Session, clock: FrozenClock) -> None:
    user = _member(session, clock)
    log_in(client, user)
    token = csrf_of(client.get("/").text)
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert events(session, IdentityEvent.USER_LOGGED_OUT) == 1
    assert client.get("/", follow_redirects=False).status_code == 303


def test_login_and_logout_without_csrf_are_refused(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    user = _member(session, clock)
    client.get("/login")
    for token in ({}, {"csrf_token": "forged"}):
        response = client.post("/login", data={"email": user.email, "password": PASSWORD, **token})
        assert response.status_code == 403
        assert "text/html" in response.headers["content-type"]
    assert events(session, IdentityEvent.USER_LOGGED_IN) == 0
    assert count(session, LoginAttempt) == 0

    log_in(client, user)
    assert client.post("/logout", follow_redirects=False).status_code == 403
    assert events(session, IdentityEvent.USER_LOGGED_OUT) == 0
    assert client.get("/", follow_redirects=False).status_code == 200


def test_the_csrf_header_is_accepted_for_htmx(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    user = _member(session, clock)
    log_in(client, user)
    token = csrf_of(client.get("/").text)
    response = client.post("/logout", headers={"X-CSRF-Token": token}, follow_redirects=False)
    assert response.status_code == 303


def test_pages_redirect_to_login_with_next(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    response = client.get("/admin/users?offset=0", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fadmin%2Fusers%3Foffset%3D0"
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"

    user = _member(session, clock)
    login_page = client.get(response.headers["location"]).text
    assert 'name="next" value="/admin/users?offset=0"' in login_page
    back = log_in(client, user, next_path="/admin/users?offset=0")
    assert back.headers["location"] == "/admin/users?offset=0"


def test_htmx_requests_without_a_session_are_redirected_by_header(client: TestClient) -> None:
    response = client.get("/admin/orgs", headers={"HX-Request": "true"}, follow_redirects=False)
    assert response.headers["hx-redirect"] == "/login?next=%2Fadmin%2Forgs"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "",
    ],
)
def test_open_redirects_are_refused(
    client: TestClient, session: Session, clock: FrozenClock, target: str
) -> None:
    user = _member(session, clock)
    response = log_in(client, user, next_path=target)
    assert response.headers["location"] == "/"
    again = client.get("/login", params={"next": target}, follow_redirects=False)
    assert again.headers["location"] == "/"  # already logged in: sent on, but only home


def test_the_login_page_does_not_echo_an_unsafe_next(client: TestClient) -> None:
    page = client.get("/login", params={"next": "https://evil.example/"}).text
    assert "evil.example" not in page
    assert 'name="next" value="/"' in page


def test_a_disabled_users_session_stops_working(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    user = _member(session, clock)
    log_in(client, user)
    user.is_active = False
    session.commit()
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"


def test_an_org_admin_logs_in_like_anyone(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    admin = make_user(session, clock, make_org(session, clock, OrgKind.VENDOR), Role.ADMIN)
    session.commit()
    assert log_in(client, admin).status_code == 303
