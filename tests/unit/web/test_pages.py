"""The web UI: login, logout, CSRF, rate limit, redirects, and allow/deny for every page."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.core.authz import OrgKind, Role
from assay.core.clock import FrozenClock
from assay.core.config import Settings
from assay.identity.models import Organization, User
from tests.factories import PASSWORD, make_instance_admin, make_org, make_user


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def login(client: TestClient, user: User, password: str = PASSWORD) -> object:
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login",
        data={"email": user.email, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_pages_redirect_to_login_with_next(client: TestClient) -> None:
    response = client.get("/admin/users?offset=0", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/admin/users%3Foffset%3D0"


def test_login_shows_dashboard_and_logout_ends_the_session(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    user = make_user(session, clock, make_org(session, clock, OrgKind.AGENCY, "Treasury"))
    response = login(client, user)
    assert response.status_code == 303 and response.headers["location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert user.name in page.text and "Treasury" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    out = client.post("/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert out.headers["location"] == "/login"
    assert client.get("/", follow_redirects=False).status_code == 303


def test_wrong_password_shows_the_login_page_again(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    user = make_user(session, clock, make_org(session, clock, OrgKind.AGENCY))
    response = login(client, user, "not the right password")
    assert response.status_code == 401
    assert "wrong e-mail or password" in response.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_login_is_rate_limited_and_unlocks_after_the_window(
    client: TestClient, session: Session, clock: FrozenClock, settings: Settings
) -> None:
    user = make_user(session, clock, make_org(session, clock, OrgKind.AGENCY))
    for _ in range(settings.login_max_failures):
        assert login(client, user, "bad guess bad guess").status_code == 401
    locked = login(client, user)
    assert locked.status_code == 429
    assert "too many failed logins" in locked.text.lower()
    clock.advance(timedelta(seconds=settings.login_window_seconds + 1))
    assert login(client, user).status_code == 303


def test_a_post_without_csrf_is_refused_and_writes_nothing(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    root = make_instance_admin(session, clock)
    login(client, root)
    before = count(session, Organization)
    for data in (
        {"name": "No Token Co", "kind": "vendor"},
        {"name": "Bad Token Co", "kind": "vendor", "csrf_token": "forged"},
    ):
        response = client.post("/admin/orgs", data=data)
        assert response.status_code == 403
        assert "text/html" in response.headers["content-type"]
    assert count(session, Organization) == before
    unauth_login = client.post("/login", data={"email": root.email, "password": PASSWORD})
    assert unauth_login.status_code == 403


def test_instance_admin_creates_an_org_and_others_cannot(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    root = make_instance_admin(session, clock)
    login(client, root)
    token = csrf_of(client.get("/admin/orgs").text)
    made = client.post(
        "/admin/orgs",
        data={"name": "Riverside Water", "kind": "operator", "csrf_token": token},
        follow_redirects=True,
    )
    assert made.status_code == 200 and "Riverside Water" in made.text

    org_admin = make_user(session, clock, make_org(session, clock, OrgKind.AGENCY), Role.ADMIN)
    other = TestClient(client.app)
    login(other, org_admin)
    page = other.get("/admin/orgs")
    assert "Riverside Water" not in page.text and "Register an organization" not in page.text
    before = count(session, Organization)
    denied = other.post(
        "/admin/orgs", data={"name": "Sneaky", "kind": "vendor", "csrf_token": csrf_of(page.text)}
    )
    assert denied.status_code == 403
    assert count(session, Organization) == before


def test_users_page_shows_only_own_org(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    mine = make_org(session, clock, OrgKind.OPERATOR)
    me = make_user(session, clock, mine)
    colleague = make_user(session, clock, mine)
    stranger = make_user(session, clock, make_org(session, clock, OrgKind.DEVELOPER))
    login(client, me)
    page = client.get("/admin/users").text
    assert colleague.email in page and stranger.email not in page
    assert "Add a user" not in page


def test_org_admin_adds_users_only_to_their_org(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    mine = make_org(session, clock, OrgKind.VENDOR)
    theirs = make_org(session, clock, OrgKind.VENDOR)
    admin = make_user(session, clock, mine, Role.ADMIN)
    login(client, admin)
    token = csrf_of(client.get("/admin/users").text)
    form = {
        "email": "new@vendor.example",
        "name": "New",
        "role": "member",
        "password": PASSWORD,
        "csrf_token": token,
    }
    denied = client.post("/admin/users", data={**form, "org_id": str(theirs.id)})
    assert denied.status_code == 404
    assert session.scalar(select(User).where(User.email == "new@vendor.example")) is None
    short = client.post("/admin/users", data={**form, "org_id": str(mine.id), "password": "short"})
    assert short.status_code == 422 and "password" in short.text
    made = client.post("/admin/users", data={**form, "org_id": str(mine.id)})
    assert made.status_code == 200 and "new@vendor.example" in made.text


def test_open_redirects_are_refused(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    user = make_user(session, clock, make_org(session, clock, OrgKind.AGENCY))
    token = csrf_of(client.get("/login").text)
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = client.post(
            "/login",
            data={"email": user.email, "password": PASSWORD, "csrf_token": token, "next": target},
            follow_redirects=False,
        )
        assert response.headers["location"] == "/"
        client.cookies.clear()
        token = csrf_of(client.get("/login").text)


def test_errors_on_ui_routes_are_html_pages(client: TestClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert "404" in response.text


def test_htmx_is_served_from_the_package(client: TestClient) -> None:
    response = client.get("/static/htmx.min.js")
    assert response.status_code == 200 and "htmx" in response.text[:2000]
