"""The dashboard and the admin pages: an allow and a deny test for each page and form."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from assay.core.authz import OrgKind, Role
from assay.core.clock import FrozenClock
from assay.identity.events import IdentityEvent
from assay.identity.models import Organization, User
from tests.factories import PASSWORD, make_instance_admin, make_org, make_user
from tests.unit.web.helpers import count, csrf_of, events, log_in


def _nav(html: str) -> list[str]:
    found = re.search(r'<nav aria-label="Main">(.*?)</nav>', html, re.S)
    assert found
    return re.findall(r">([^<>]+)</a>", found.group(1))


def _logged_in(client: TestClient, session: Session, user: User) -> str:
    """Log ``user`` in; return the CSRF token of their session."""
    session.commit()
    assert log_in(client, user).status_code == 303
    return csrf_of(client.get("/").text)


# -- dashboard and navigation --------------------------------------------------------------


def test_navigation_follows_role(client: TestClient, session: Session, clock: FrozenClock) -> None:
    agency = make_org(session, clock, OrgKind.AGENCY)
    developer = make_org(session, clock, OrgKind.DEVELOPER)
    clearinghouse = make_org(session, clock, OrgKind.CLEARINGHOUSE)
    vendor = make_org(session, clock, OrgKind.VENDOR)
    home, models, windows, intake, queue = (
        "Dashboard", "Models", "Review windows", "Report intake", "Triage queue",
    )  # fmt: skip
    cases = [
        (make_instance_admin(session, clock),
         [home, models, windows, intake, queue, "Organizations", "Users"]),
        (make_user(session, clock, agency, Role.ADMIN), [home, windows, intake, "Users"]),
        (make_user(session, clock, agency, Role.MEMBER), [home, windows, intake]),
        (make_user(session, clock, developer, Role.MEMBER), [home, models, windows, intake]),
        (make_user(session, clock, clearinghouse, Role.MEMBER), [home, windows, intake, queue]),
        (make_user(session, clock, vendor, Role.MEMBER), [home, windows]),
    ]  # fmt: skip
    for user, expected in cases:
        _logged_in(client, session, user)
        page = client.get("/")
        assert _nav(page.text) == expected, user.email
        assert user.org.name in page.text and user.role.value in page.text
        assert 'action="/logout"' in page.text
        client.cookies.clear()


def test_dashboard_counts_only_what_the_user_sees(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    mine = make_org(session, clock, OrgKind.OPERATOR)
    me = make_user(session, clock, mine)
    make_user(session, clock, mine)
    make_user(session, clock, make_org(session, clock, OrgKind.DEVELOPER))
    _logged_in(client, session, me)
    page = client.get("/").text
    assert re.search(r"<dt>Organizations</dt><dd>1</dd>", page)
    assert re.search(r"<dt>Users</dt><dd>2</dd>", page)


# -- organizations -------------------------------------------------------------------------


def test_instance_admin_registers_an_organization(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    token = _logged_in(client, session, make_instance_admin(session, clock))
    form = client.get("/admin/orgs").text
    assert "Register an organization" in form and '<label for="f-name">' in form
    made = client.post(
        "/admin/orgs", data={"name": "Riverside Water", "kind": "operator", "csrf_token": token}
    )
    assert made.status_code == 200
    assert "Organization Riverside Water created." in made.text
    assert "<td>Riverside Water</td><td>operator</td>" in made.text
    org = session.query(Organization).filter_by(name="Riverside Water").one()
    assert org.kind is OrgKind.OPERATOR
    assert events(session, IdentityEvent.ORG_CREATED) >= 1
    assert "created." not in client.get("/admin/orgs").text  # the message is shown once


def test_org_form_without_csrf_writes_nothing(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    _logged_in(client, session, make_instance_admin(session, clock))
    before = count(session, Organization)
    for extra in ({}, {"csrf_token": "forged"}):
        response = client.post(
            "/admin/orgs", data={"name": "No Token Co", "kind": "vendor", **extra}
        )
        assert response.status_code == 403
        assert "text/html" in response.headers["content-type"]
        assert "security token" in response.text
    assert count(session, Organization) == before


def test_only_an_instance_admin_may_register_an_organization(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    make_org(session, clock, OrgKind.VENDOR, "Someone Else Inc")
    org_admin = make_user(session, clock, make_org(session, clock, OrgKind.AGENCY), Role.ADMIN)
    token = _logged_in(client, session, org_admin)
    page = client.get("/admin/orgs").text
    assert org_admin.org.name in page
    assert "Someone Else Inc" not in page
    assert "Register an organization" not in page
    before = count(session, Organization)
    denied = client.post(
        "/admin/orgs", data={"name": "Sneaky", "kind": "vendor", "csrf_token": token}
    )
    assert denied.status_code == 403
    assert "text/html" in denied.headers["content-type"] and "Not allowed" in denied.text
    assert count(session, Organization) == before


def test_a_refused_org_form_keeps_its_values(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    make_org(session, clock, OrgKind.VENDOR, "Taken Name")
    token = _logged_in(client, session, make_instance_admin(session, clock))
    before = count(session, Organization)
    taken = client.post(
        "/admin/orgs", data={"name": "Taken Name", "kind": "vendor", "csrf_token": token}
    )
    assert taken.status_code == 409
    assert "already exists" in taken.text and 'value="Taken Name"' in taken.text
    bad = client.post(
        "/admin/orgs", data={"name": "Fine Name", "kind": "pirate", "csrf_token": token}
    )
    assert bad.status_code == 422
    assert 'id="e-kind"' in bad.text and 'value="Fine Name"' in bad.text
    assert count(session, Organization) == before


def test_names_are_escaped(client: TestClient, session: Session, clock: FrozenClock) -> None:
    token = _logged_in(client, session, make_instance_admin(session, clock))
    name = '<script>alert("x")</script>'
    page = client.post("/admin/orgs", data={"name": name, "kind": "vendor", "csrf_token": token})
    assert name not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text


def test_htmx_form_posts_use_the_header_token(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    token = _logged_in(client, session, make_instance_admin(session, clock))
    headers = {"HX-Request": "true", "X-CSRF-Token": token}
    made = client.post(
        "/admin/orgs", data={"name": "Via Htmx", "kind": "reporter"}, headers=headers
    )
    assert made.status_code == 200 and "Via Htmx" in made.text
    assert 'hx-post="/admin/orgs"' in client.get("/admin/orgs").text


# -- users ---------------------------------------------------------------------------------


def test_a_member_sees_only_their_own_organizations_users(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    mine = make_org(session, clock, OrgKind.OPERATOR)
    me = make_user(session, clock, mine)
    colleague = make_user(session, clock, mine)
    stranger = make_user(session, clock, make_org(session, clock, OrgKind.DEVELOPER))
    token = _logged_in(client, session, me)
    page = client.get("/admin/users").text
    assert colleague.email in page and me.email in page
    assert stranger.email not in page
    assert "Add a user" not in page
    form = {"org_id": str(mine.id), "email": "x@operator.example", "name": "X", "role": "member"}
    denied = client.post("/admin/users", data={**form, "password": PASSWORD, "csrf_token": token})
    assert denied.status_code == 403
    assert count(session, User, User.email == "x@operator.example") == 0


def test_an_org_admin_adds_users_to_their_own_org_only(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    mine = make_org(session, clock, OrgKind.VENDOR)
    theirs = make_org(session, clock, OrgKind.VENDOR)
    token = _logged_in(client, session, make_user(session, clock, mine, Role.ADMIN))
    page = client.get("/admin/users").text
    assert "Add a user" in page
    assert f'value="{mine.id}"' in page and f'value="{theirs.id}"' not in page
    form = {"email": "new@vendor.example", "name": "New Person", "role": "viewer"}
    form |= {"password": PASSWORD, "csrf_token": token}

    elsewhere = client.post("/admin/users", data={**form, "org_id": str(theirs.id)})
    assert elsewhere.status_code == 404
    assert count(session, User, User.email == "new@vendor.example") == 0

    made = client.post("/admin/users", data={**form, "org_id": str(mine.id)})
    assert made.status_code == 200 and "User new@vendor.example created" in made.text
    created = session.query(User).filter_by(email="new@vendor.example").one()
    assert created.org_id == mine.id and created.role is Role.VIEWER


def test_an_instance_admin_adds_users_anywhere(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    lab = make_org(session, clock, OrgKind.DEVELOPER)
    token = _logged_in(client, session, make_instance_admin(session, clock))
    assert f'value="{lab.id}"' in client.get("/admin/users").text
    form = {"org_id": str(lab.id), "email": "lab@developer.example", "name": "Lab Admin"}
    made = client.post(
        "/admin/users", data={**form, "role": "admin", "password": PASSWORD, "csrf_token": token}
    )
    assert made.status_code == 200
    assert session.query(User).filter_by(email="lab@developer.example").one().org_id == lab.id


def test_a_refused_user_form_explains_and_never_echoes_the_password(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    mine = make_org(session, clock, OrgKind.AGENCY)
    admin = make_user(session, clock, mine, Role.ADMIN)
    token = _logged_in(client, session, admin)
    form = {"org_id": str(mine.id), "name": "Someone", "role": "member", "csrf_token": token}
    short = client.post(
        "/admin/users", data={**form, "email": "s@agency.example", "password": "tiny-secret"}
    )
    assert short.status_code == 422
    assert 'id="e-password"' in short.text and "tiny-secret" not in short.text
    assert 'value="s@agency.example"' in short.text
    taken = client.post("/admin/users", data={**form, "email": admin.email, "password": PASSWORD})
    assert taken.status_code == 409 and "already exists" in taken.text
    assert count(session, User, User.email == "s@agency.example") == 0


def test_lists_page(client: TestClient, session: Session, clock: FrozenClock) -> None:
    _logged_in(client, session, make_instance_admin(session, clock))
    for _ in range(51):
        make_org(session, clock, OrgKind.REPORTER)
    session.commit()
    first = client.get("/admin/orgs").text
    assert 'rel="next"' in first and f"Rows 1 to 50 of {count(session, Organization)}" in first
    second = client.get("/admin/orgs?offset=50").text
    assert 'rel="prev"' in second and 'rel="next"' not in second
    bad = client.get("/admin/orgs?offset=-1")
    assert bad.status_code == 422 and "text/html" in bad.headers["content-type"]
