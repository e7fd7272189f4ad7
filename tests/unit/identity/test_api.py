"""Identity endpoints: each has an allow test and a deny test for another organization."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from assay.core.authz import OrgKind, Role
from assay.core.clock import FrozenClock
from tests.factories import bearer, make_org, make_user


def test_me_answers_who_the_token_is(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    org = make_org(session, clock, OrgKind.AGENCY)
    user = make_user(session, clock, org, Role.MEMBER)
    response = client.get("/api/me", headers=bearer(session, clock, user))
    assert response.status_code == 200
    assert response.json()["user"]["email"] == user.email
    assert response.json()["organization"]["kind"] == "agency"


def test_missing_token_is_a_401_problem(client: TestClient) -> None:
    response = client.get("/api/me")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 401
