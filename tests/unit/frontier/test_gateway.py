"""The gateway against a real upstream on loopback (the stand-in), through the real app."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from assay.core.audit import AuditEvent
from assay.frontier.events import FrontierEvent
from assay.frontier.gateway import access
from assay.frontier.models import GatewayCall, ReviewWindow
from assay.frontier.standin import StandinConfig, StandinServer
from tests.frontier_factories import API_KEY, Scenario

CHAT = "/gateway/v1/chat/completions"


@pytest.fixture(scope="module")
def upstream() -> Iterator[StandinServer]:
    with StandinServer(StandinConfig(api_key=API_KEY)) as server:
        yield server


@pytest.fixture
def standin(upstream: StandinServer) -> Iterator[StandinConfig]:
    config = upstream.config
    yield config
    config.fail_status = None
    config.echo_key_in_errors = False
    config.break_stream_after = None


def open_with_token(
    s: Scenario, upstream: StandinServer, **terms: object
) -> tuple[ReviewWindow, dict[str, str]]:
    model = s.register(endpoint_url=upstream.base_url)
    window = s.open_window(model, days=10, **terms)
    issued = access.issue_token(s.session, actor=s.a, clock=s.clock, window_id=window.id)
    s.session.commit()
    return window, {"Authorization": f"Bearer {issued.token}"}


def ask(model: str, stream: bool = False) -> dict[str, object]:
    return {"model": model, "messages": [{"role": "user", "content": "hello there"}],
            "stream": stream}  # fmt: skip


def calls(s: Scenario, window: ReviewWindow) -> list[GatewayCall]:
    s.session.expire_all()
    return list(s.session.scalars(select(GatewayCall).where(GatewayCall.window_id == window.id)))


def test_a_call_is_forwarded_metered_and_answered(
    scenario: Scenario, client: TestClient, upstream: StandinServer, standin: StandinConfig
) -> None:
    s = scenario
    window, headers = open_with_token(s, upstream)
    response = client.post(CHAT, json=ask(window.model.name), headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["choices"][0]["message"]["content"]
    assert body["model"] == window.model.name
    usage = body["usage"]
    [call] = calls(s, window)
    assert call.status == 200 and call.org_id == s.agency_a.id
    assert (call.prompt_tokens, call.completion_tokens) == (
        usage["prompt_tokens"], usage["completion_tokens"],
    )  # fmt: skip
    assert call.latency_ms > 0
    models = client.get("/gateway/v1/models", headers=headers).json()
    assert [m["id"] for m in models["data"]] == [window.model.name]


def test_streaming_relays_events_and_meters_usage(
    scenario: Scenario, client: TestClient, upstream: StandinServer, standin: StandinConfig
) -> None:
    s = scenario
    window, headers = open_with_token(s, upstream)
    body = ask(window.model.name, stream=True)
    with client.stream("POST", CHAT, json=body, headers=headers) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        frames = [line for line in r.iter_lines() if line.startswith("data: ")]
    assert frames[-1] == "data: [DONE]"
    chunks = [json.loads(f[6:]) for f in frames[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text
    [call] = calls(s, window)
    assert call.streamed and call.status == 200 and call.completion_tokens > 0


def test_refused_outside_the_window_with_a_problem_and_a_record(
    scenario: Scenario, client: TestClient, upstream: StandinServer, standin: StandinConfig
) -> None:
    s = scenario
    window, headers = open_with_token(s, upstream)
    s.clock.advance(timedelta(days=10))
    response = client.post(CHAT, json=ask(window.model.name), headers=headers)
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert "expired" in response.json()["detail"]
    [call] = calls(s, window)
    assert call.status == 403 and call.refusal
    refusals = s.session.scalars(
        select(AuditEvent).where(AuditEvent.action == FrontierEvent.GATEWAY_REFUSED.value)
    ).all()
    assert len(refusals) == 1


def test_a_token_of_another_window_cannot_reach_this_model(
    scenario: Scenario, client: TestClient, upstream: StandinServer, standin: StandinConfig
) -> None:
    s = scenario
    _first, headers = open_with_token(s, upstream)
    second, _ = open_with_token(s, upstream)
    response = client.post(CHAT, json=ask(second.model.name), headers=headers)
    assert response.status_code == 403
    assert "cannot reach" in response.json()["detail"]


def test_an_agency_that_is_no_longer_a_party_is_refused(
    scenario: Scenario, client: TestClient, upstream: StandinServer, standin: StandinConfig
) -> None:
    from assay.frontier.models import Decision

    s = scenario
    window, headers = open_with_token(s, upstream)
    party = window.agreement.party(s.agency_a.id)
    assert party is not None
    party.decision = Decision.DECLINED  # as if its acceptance were withdrawn
    s.session.commit()
    response = client.post(CHAT, json=ask(window.model.name), headers=headers)
    assert response.status_code == 403
    assert "not a party" in response.json()["detail"]


def test_an_unknown_token_is_401(client: TestClient) -> None:
    response = client.post(CHAT, json=ask("x"), headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.json()["status"] == 401


def test_an_exhausted_budget_answers_429(
    scenario: Scenario, client: TestClient, upstream: StandinServer, standin: StandinConfig
) -> None:
    s = scenario
    window, headers = open_with_token(s, upstream, budget_calls=2)
    for _ in range(2):
        assert client.post(CHAT, json=ask(window.model.name), headers=headers).status_code == 200
    response = client.post(CHAT, json=ask(window.model.name), headers=headers)
    assert response.status_code == 429
    assert response.json()["type"].endswith("budget-exhausted")


def test_upstream_failure_is_502_naming_the_status_never_the_key(
    scenario: Scenario,
    client: TestClient,
    upstream: StandinServer,
    standin: StandinConfig,
    caplog: pytest.LogCaptureFixture,
) -> None:
    s = scenario
    window, headers = open_with_token(s, upstream)
    standin.fail_status = 503
    standin.echo_key_in_errors = True
    caplog.set_level(logging.DEBUG)
    plain = client.post(CHAT, json=ask(window.model.name), headers=headers)
    streamed = client.post(CHAT, json=ask(window.model.name, stream=True), headers=headers)
    for response in (plain, streamed):
        assert response.status_code == 502
        assert "503" in response.json()["detail"]
        assert API_KEY not in response.text
    assert API_KEY not in caplog.text
    recorded = calls(s, window)
    assert [c.upstream_status for c in recorded] == [503, 503]
    events = s.session.scalars(select(AuditEvent)).all()
    assert not any(API_KEY in json.dumps(e.details) for e in events)


def test_a_stream_cut_by_the_upstream_ends_without_done_and_is_recorded(
    scenario: Scenario, client: TestClient, upstream: StandinServer, standin: StandinConfig
) -> None:
    s = scenario
    window, headers = open_with_token(s, upstream)
    standin.break_stream_after = 1
    body = ask(window.model.name, stream=True)
    with client.stream("POST", CHAT, json=body, headers=headers) as r:
        lines = list(r.iter_lines())
    assert "data: [DONE]" not in lines
    [call] = calls(s, window)
    assert call.status == 502
