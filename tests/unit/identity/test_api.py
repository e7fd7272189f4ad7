"""Identity endpoints: each has an allow test and a deny test."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.core.audit import AuditEvent
from assay.core.authz import OrgKind, Role
from assay.core.clock import FrozenClock
from assay.identity.models import Organization, User
from tests.factories import PASSWORD, bearer, make_instance_admin, make_org, make_user


def _two_orgs(session: Session, clock: FrozenClock) -> tuple[User, User, User]:
    """An admin and a member of one agency, and an admin of a developer."""
    agency = make_org(session, clock, OrgKind.AGENCY)
    lab = make_org(session, clock, OrgKind.DEVELOPER)
    return (
        make_user(session, clock, agency, Role.ADMIN),
        make_user(session, clock, agency, Role.MEMBER),
        make_user(session, clock, lab, Role.ADMIN),
    )


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_me_answers_who_the_token_is(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    _, member, _ = _two_orgs(session, clock)
    response = client.get("/api/me", headers=bearer(session, clock, member))
    assert response.status_code == 200
    assert response.json()["user"]["email"] == member.email
    assert response.json()["organization"]["kind"] == "agency"
    assert "password_hash" not in response.text


def test_missing_or_bad_token_is_a_401_problem(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer assay_nope"}, {"Authorization": "Basic x"}):
        response = client.get("/api/me", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 401


def test_expired_and_revoked_tokens_stop_working(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    _, member, _ = _two_orgs(session, clock)
    headers = bearer(session, clock, member)
    token_id = client.get("/api/tokens", headers=headers).json()["items"][0]["id"]
    clock.advance(timedelta(days=91))
    assert client.get("/api/me", headers=headers).status_code == 401
    clock.advance(-timedelta(days=91))
    assert client.delete(f"/api/tokens/{token_id}", headers=headers).status_code == 200
    assert client.get("/api/me", headers=headers).status_code == 401


def test_org_list_shows_only_own_org(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    admin, _, other = _two_orgs(session, clock)
    body = client.get("/api/orgs", headers=bearer(session, clock, admin)).json()
    assert [o["id"] for o in body["items"]] == [str(admin.org_id)]
    assert body["total"] == 1
    assert str(other.org_id) not in str(body)


def test_org_list_paginates(client: TestClient, session: Session, clock: FrozenClock) -> None:
    root_org = make_org(session, clock, OrgKind.CLEARINGHOUSE)
    root = make_user(session, clock, root_org, Role.ADMIN, instance_admin=True)
    for _ in range(4):
        make_org(session, clock, OrgKind.VENDOR)
    headers = bearer(session, clock, root)
    page = client.get("/api/orgs?limit=2&offset=1", headers=headers).json()
    assert len(page["items"]) == 2 and page["limit"] == 2 and page["offset"] == 1
    assert page["total"] == _count(session, Organization)
    bad = client.get("/api/orgs?limit=0", headers=headers)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "limit"


def test_get_org_allow_and_deny(client: TestClient, session: Session, clock: FrozenClock) -> None:
    admin, _, other = _two_orgs(session, clock)
    headers = bearer(session, clock, admin)
    assert client.get(f"/api/orgs/{admin.org_id}", headers=headers).status_code == 200
    denied = client.get(f"/api/orgs/{other.org_id}", headers=headers)
    assert denied.status_code == 404
    assert denied.json()["type"].endswith("/not-found")


def test_create_org_allow_and_deny(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    admin, _, _ = _two_orgs(session, clock)
    before = _count(session, Organization)
    denied = client.post(
        "/api/orgs",
        json={"name": "Sneaky", "kind": "vendor"},
        headers=bearer(session, clock, admin),
    )
    assert denied.status_code == 403
    assert _count(session, Organization) == before
    root = make_instance_admin(session, clock)
    root_headers = bearer(session, clock, root)
    events = _count(session, AuditEvent)
    made = client.post(
        "/api/orgs", json={"name": "Water Co", "kind": "operator"}, headers=root_headers
    )
    assert made.status_code == 201
    assert made.json()["kind"] == "operator"
    assert _count(session, AuditEvent) == events + 1


def test_create_org_bad_input_names_the_field(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    root = make_instance_admin(session, clock)
    response = client.post(
        "/api/orgs", json={"name": "X Co", "kind": "pirate"}, headers=bearer(session, clock, root)
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["kind"]
    dup = client.post(
        "/api/orgs",
        json={"name": root.org.name, "kind": "vendor"},
        headers=bearer(session, clock, root),
    )
    assert dup.status_code == 409


def test_users_allow_and_deny(client: TestClient, session: Session, clock: FrozenClock) -> None:
    admin, member, other = _two_orgs(session, clock)
    headers = bearer(session, clock, member)
    listed = client.get("/api/users", headers=headers).json()
    assert {u["email"] for u in listed["items"]} == {admin.email, member.email}
    assert client.get(f"/api/users/{admin.id}", headers=headers).status_code == 200
    assert client.get(f"/api/users/{other.id}", headers=headers).status_code == 404


def test_create_user_allow_and_deny(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    admin, member, other = _two_orgs(session, clock)
    body = {"email": "new@agency.example", "name": "New", "role": "viewer", "password": PASSWORD}
    before = _count(session, User)
    as_member = client.post(
        "/api/users",
        json={**body, "org_id": str(admin.org_id)},
        headers=bearer(session, clock, member),
    )
    assert as_member.status_code == 403
    other_org = client.post(
        "/api/users",
        json={**body, "org_id": str(other.org_id)},
        headers=bearer(session, clock, admin),
    )
    assert other_org.status_code == 404
    assert _count(session, User) == before
    made = client.post(
        "/api/users",
        json={**body, "org_id": str(admin.org_id)},
        headers=bearer(session, clock, admin),
    )
    assert made.status_code == 201
    assert made.json()["role"] == "viewer" and "password" not in made.json()


def test_short_password_is_refused(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    admin, _, _ = _two_orgs(session, clock)
    body = {
        "email": "n@agency.example",
        "name": "N",
        "password": "short",
        "org_id": str(admin.org_id),
    }
    response = client.post("/api/users", json=body, headers=bearer(session, clock, admin))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "password"


def test_tokens_allow_and_deny(client: TestClient, session: Session, clock: FrozenClock) -> None:
    admin, member, other = _two_orgs(session, clock)
    member_headers = bearer(session, clock, member)
    made = client.post(
        "/api/tokens", json={"name": "ci", "scopes": ["identity:*"]}, headers=member_headers
    )
    assert made.status_code == 201
    token = made.json()["token"]
    assert token.startswith("assay_")
    listed = client.get("/api/tokens", headers=member_headers).json()
    assert all("token" not in t for t in listed["items"])
    assert token not in str(listed)
    other_headers = bearer(session, clock, other)
    assert (
        client.delete(f"/api/tokens/{made.json()['id']}", headers=other_headers).status_code == 404
    )
    own_admin = bearer(session, clock, admin)
    assert client.delete(f"/api/tokens/{made.json()['id']}", headers=own_admin).status_code == 200


def test_a_scoped_token_cannot_reach_beyond_its_scope(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    _, member, _ = _two_orgs(session, clock)
    headers = bearer(session, clock, member, scopes=["identity:org:read"])
    assert client.get("/api/orgs", headers=headers).status_code == 200
    assert client.get("/api/users", headers=headers).status_code == 403
    assert client.post("/api/tokens", json={"name": "x"}, headers=headers).status_code == 403
