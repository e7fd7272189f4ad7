"""Every frontier endpoint: one allowed caller and one refused caller, over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assay.frontier import determinations
from assay.frontier.gateway import access
from assay.frontier.policy import preset
from tests.factories import bearer, make_instance_admin
from tests.frontier_factories import API_KEY, Scenario


@dataclass
class World:
    s: Scenario
    headers: dict[str, dict[str, str]]
    ids: dict[str, str]


@pytest.fixture
def world(scenario: Scenario) -> World:
    s = scenario
    model = s.register()
    lone = s.register()
    window = s.open_window(days=10)
    pending = s.propose(lone)
    made = determinations.determine(
        s.session, actor=s.dev, clock=s.clock, model_id=window.model_id, policy_name="eo-14110"
    )
    from assay.frontier import findings
    from assay.frontier.schemas import FindingCreate

    finding = findings.record_finding(
        s.session, actor=s.a, clock=s.clock,
        data=FindingCreate.model_validate(
            {"window_id": window.id, "domain": "cyber", "severity": "high", "title": "t",
             "description": "d"}
        ),
    )  # fmt: skip
    admin = make_instance_admin(s.session, s.clock)
    users = {
        "dev": s.dev_user, "a": s.agency_a_user, "b": s.agency_b_user,
        "outsider": s.outsider_agency_user, "other_dev": s.other_dev_user, "admin": admin,
    }  # fmt: skip
    headers = {k: bearer(s.session, s.clock, u) for k, u in users.items()}
    ids = {
        "model": str(model.id), "window": str(window.id), "window_model": str(window.model_id),
        "agreement": str(window.agreement_id), "pending": str(pending.id),
        "determination": str(made.id), "finding": str(finding.id), "lone": str(lone.id),
        "agency_a": str(s.agency_a.id),
    }  # fmt: skip
    s.session.commit()
    return World(s=s, headers=headers, ids=ids)


Request = Callable[[TestClient, World, str], Any]


def call(method: str, path: str, body: Callable[[World], dict[str, Any]] | None = None) -> Request:
    def run(client: TestClient, w: World, who: str) -> Any:
        return client.request(
            method,
            path.format(**w.ids),
            headers=w.headers[who],
            json=body(w) if body else None,
        )

    return run


POLICY_V9 = preset("eo-14110").source_text.replace("version: 1", "version: 9", 1)

# (name, request, allowed caller and status, refused caller and status)
CASES: list[tuple[str, Request, tuple[str, int], tuple[str, int]]] = [
    ("register model", call("POST", "/api/models", lambda w: {
        "name": "m", "version": "2", "planned_release_at": "2026-06-01T00:00:00Z"}),
        ("dev", 201), ("a", 403)),
    ("list models", call("GET", "/api/models"), ("dev", 200), ("outsider", 200)),
    ("get model", call("GET", "/api/models/{model}"), ("dev", 200), ("other_dev", 404)),
    ("party agency gets model", call("GET", "/api/models/{window_model}"), ("a", 200),
        ("outsider", 404)),
    ("update model", call("PATCH", "/api/models/{model}", lambda w: {"training_flop": 1e25}),
        ("dev", 200), ("other_dev", 404)),
    ("agency cannot update", call("PATCH", "/api/models/{window_model}", lambda w: {
        "training_flop": 1e25}), ("dev", 200), ("a", 403)),
    ("list policies", call("GET", "/api/policies"), ("outsider", 200), ("outsider", 200)),
    ("get policy", call("GET", "/api/policies/eo-14110"), ("dev", 200), ("dev", 200)),
    ("add policy", call("POST", "/api/policies", lambda w: {"source_text": POLICY_V9}),
        ("admin", 201), ("dev", 403)),
    ("determine", call("POST", "/api/determinations", lambda w: {
        "model_id": w.ids["model"], "policy": "eo-14110"}), ("dev", 201), ("other_dev", 404)),
    ("list determinations", call("GET", "/api/determinations"), ("a", 200), ("outsider", 200)),
    ("get determination", call("GET", "/api/determinations/{determination}"), ("a", 200),
        ("outsider", 404)),
    ("review determination", call("POST", "/api/determinations/{determination}/reviews",
        lambda w: {"stance": "concur", "rationale": "checked"}), ("a", 201), ("dev", 403)),
    ("propose", call("POST", "/api/agreements", lambda w: {
        "model_id": w.ids["model"], "agencies": [w.ids["agency_a"]], "domains": ["cyber"],
        "review_days": 30}), ("dev", 201), ("other_dev", 404)),
    ("list agreements", call("GET", "/api/agreements"), ("a", 200), ("outsider", 200)),
    ("get agreement", call("GET", "/api/agreements/{agreement}"), ("b", 200), ("outsider", 404)),
    ("decide", call("POST", "/api/agreements/{pending}/decision", lambda w: {"accept": True}),
        ("a", 200), ("outsider", 404)),
    ("developer cannot decide for an agency", call("POST", "/api/agreements/{pending}/decision",
        lambda w: {"accept": True}), ("b", 200), ("dev", 403)),
    ("terminate", call("POST", "/api/agreements/{pending}/terminate"), ("dev", 200),
        ("other_dev", 404)),
    ("open window", call("POST", "/api/windows", lambda w: {"agreement_id": w.ids["pending"]}),
        ("dev", 409), ("a", 403)),
    ("list windows", call("GET", "/api/windows"), ("a", 200), ("outsider", 200)),
    ("get window", call("GET", "/api/windows/{window}"), ("a", 200), ("outsider", 404)),
    ("close window", call("POST", "/api/windows/{window}/close"), ("a", 200),
        ("other_dev", 404)),
    ("gateway token", call("POST", "/api/windows/{window}/gateway-tokens"), ("a", 201),
        ("dev", 403)),
    ("record finding", call("POST", "/api/findings", lambda w: {
        "window_id": w.ids["window"], "domain": "cyber", "severity": "low", "title": "t",
        "description": "d"}), ("b", 201), ("outsider", 404)),
    ("list findings", call("GET", "/api/findings"), ("dev", 200), ("outsider", 200)),
    ("respond", call("POST", "/api/findings/{finding}/responses", lambda w: {"body": "ok"}),
        ("dev", 201), ("a", 403)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("request_", "allowed", "refused"),
    [pytest.param(r, a, d, id=name) for name, r, a, d in CASES],
)
def test_allow_and_deny(
    client: TestClient,
    world: World,
    request_: Request,
    allowed: tuple[str, int],
    refused: tuple[str, int],
) -> None:
    who, status = refused
    response = request_(client, world, who)
    assert response.status_code == status, response.text
    if status >= 400:
        assert response.headers["content-type"] == "application/problem+json"
    who, status = allowed
    response = request_(client, world, who)
    assert response.status_code == status, response.text


def test_lists_show_outsiders_nothing(client: TestClient, world: World) -> None:
    for path in ("/api/models", "/api/determinations", "/api/agreements", "/api/windows",
                 "/api/findings"):  # fmt: skip
        body = client.get(path, headers=world.headers["outsider"]).json()
        assert body["total"] == 0, path
        assert client.get(path, headers=world.headers["a"]).json()["total"] >= 1, path


def test_no_door_returns_the_key(client: TestClient, world: World) -> None:
    for path in ("/api/models", "/api/models/{model}", "/api/windows/{window}"):
        text = client.get(path.format(**world.ids), headers=world.headers["dev"]).text
        assert API_KEY not in text


def test_a_gateway_token_comes_with_the_base_url_and_model(
    client: TestClient, world: World
) -> None:
    response = client.post(
        "/api/windows/{window}/gateway-tokens".format(**world.ids), headers=world.headers["a"]
    )
    body = response.json()
    assert body["token"].startswith(access.TOKEN_PREFIX)
    assert body["base_url"].endswith("/gateway/v1")


def test_a_naive_release_date_is_refused(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/models",
        headers=world.headers["dev"],
        json={"name": "n", "version": "1", "planned_release_at": "2026-06-01T00:00:00"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "planned_release_at"


def test_a_model_url_that_is_not_http_is_refused(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/models",
        headers=world.headers["dev"],
        json={"name": "n", "version": "1", "planned_release_at": "2026-06-01T00:00:00Z",
              "endpoint_url": "file:///etc/passwd"},
    )  # fmt: skip
    assert response.status_code == 422
    assert "http" in response.text


def test_more_than_30_days_is_refused_over_http(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/agreements",
        headers=world.headers["dev"],
        json={"model_id": world.ids["model"], "agencies": [world.ids["agency_a"]],
              "domains": ["cyber"], "review_days": 31},
    )  # fmt: skip
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "review_days"
