"""Health, readiness, metrics, OpenAPI, and problem documents for every API error."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from assay.api.app import create_app
from assay.core.clock import FrozenClock
from assay.core.config import Settings
from assay.core.db import Database
from assay.runtime import Runtime
from tests.factories import bearer, make_instance_admin


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_checks_the_database(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"


def test_readyz_fails_when_the_schema_is_not_current(settings: Settings, tmp_path: object) -> None:
    empty = Database(create_engine("sqlite://"))
    app = create_app(settings, runtime=Runtime.build(settings, db=empty))
    with TestClient(app) as c:
        response = c.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert "assay init" in response.json()["detail"]
    empty.dispose()


def test_metrics_count_requests_by_route(client: TestClient) -> None:
    client.get("/healthz")
    client.get("/api/orgs/00000000-0000-0000-0000-000000000000")
    text = client.get("/metrics").text
    assert 'assay_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert 'route="/api/orgs/{org_id}",status="401"' in text


def test_openapi_lists_the_identity_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/orgs", "/api/users", "/api/tokens", "/api/me"} <= set(paths)


def test_unknown_api_route_is_a_problem_document(client: TestClient) -> None:
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 404 and body["instance"] == "/api/nothing-here"


def test_malformed_json_body_is_a_422_problem(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    root = make_instance_admin(session, clock)
    headers = {**bearer(session, clock, root), "content-type": "application/json"}
    response = client.post("/api/orgs", content=b"{not json", headers=headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"]
