"""The gateway against a real upstream on loopback (the stand-in), through the real app."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from assay.api.app import create_app
from assay.core.audit import AuditEvent
from assay.core.config import Settings
from assay.frontier.events import FrontierEvent
from assay.frontier.gateway import access
from assay.frontier.gateway import api as gateway_api
from assay.frontier.models import GatewayCall, ReviewWindow
from assay.frontier.standin import StandinConfig, StandinServer
from assay.runtime import Runtime
from tests.frontier_factories import API_KEY, Scenario

CHAT = "/gateway/v1/chat/completions"


@pytest.fixture(autouse=True)
def _metering_on_demand(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app shares the test's one database connection: its metering writer writes only
    when a test asks (``calls``) or the app stops, never from its thread at any moment."""
    monkeypatch.setattr(gateway_api, "FLUSH_SECONDS", None)


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


def gateway_of(client: TestClient) -> gateway_api.Gateway:
    gateway: gateway_api.Gateway = client.app.state.gateway  # type: ignore[attr-defined]
    return gateway


def calls(s: Scenario, window: ReviewWindow, client: TestClient) -> list[GatewayCall]:
    """The window's metered calls, once the gateway has written what it queued."""
    gateway_of(client).meter.flush()
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
    [call] = calls(s, window, client)
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
    [call] = calls(s, window, client)
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
    [call] = calls(s, window, client)
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
    recorded = calls(s, window, client)
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
    [call] = calls(s, window, client)
    assert call.status == 502


def test_under_the_lifespan_gateway_calls_skip_the_app_middleware(
    scenario: Scenario, client: TestClient, upstream: StandinServer, standin: StandinConfig
) -> None:
    s = scenario
    assert isinstance(client.app.middleware_stack, gateway_api.FastPath)  # type: ignore[attr-defined]
    window, headers = open_with_token(s, upstream)
    response = client.post(CHAT, json=ask(window.model.name), headers=headers)
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "set-cookie" not in response.headers  # the UI's session middleware was not run
    # A wrong method still reaches the app, which answers with a problem document.
    wrong = client.get(CHAT, headers=headers)
    assert wrong.status_code == 405
    assert wrong.headers["content-type"] == "application/problem+json"
    assert "/gateway/v1/chat/completions" in client.get("/openapi.json").json()["paths"]


def test_the_lifespan_end_writes_every_queued_row(
    scenario: Scenario,
    settings: Settings,
    runtime: Runtime,
    upstream: StandinServer,
    standin: StandinConfig,
) -> None:
    s = scenario
    window, headers = open_with_token(s, upstream)
    with TestClient(create_app(settings, runtime=runtime)) as client:
        for stream in (False, True, False):
            with client.stream("POST", CHAT, json=ask(window.model.name, stream), headers=headers):
                pass
        assert client.post(CHAT, json=ask("nope"), headers=headers).status_code == 403
        assert gateway_of(client).meter.pending() == 4
    s.session.expire_all()
    recorded = s.session.scalars(select(GatewayCall).where(GatewayCall.window_id == window.id))
    assert sorted(c.status for c in recorded) == [200, 200, 200, 403]
    s.session.refresh(window)
    assert window.metered_calls == 3


def test_without_the_lifespan_each_call_is_written_before_it_returns(
    scenario: Scenario,
    settings: Settings,
    runtime: Runtime,
    upstream: StandinServer,
    standin: StandinConfig,
) -> None:
    s = scenario
    window, headers = open_with_token(s, upstream)
    client = TestClient(create_app(settings, runtime=runtime))  # not entered: no lifespan
    assert client.post(CHAT, json=ask(window.model.name), headers=headers).status_code == 200
    assert client.post(CHAT, json=ask("nope"), headers=headers).status_code == 403
    s.session.expire_all()
    recorded = s.session.scalars(select(GatewayCall).where(GatewayCall.window_id == window.id))
    assert sorted(c.status for c in recorded) == [200, 403]
    models = client.get("/gateway/v1/models", headers=headers)
    assert models.json()["data"][0]["id"] == window.model.name


def test_an_exhausted_budget_is_counted_on_the_window(
    scenario: Scenario, client: TestClient, upstream: StandinServer, standin: StandinConfig
) -> None:
    s = scenario
    window, headers = open_with_token(s, upstream, budget_calls=3)
    statuses = [
        client.post(CHAT, json=ask(window.model.name), headers=headers).status_code
        for _ in range(5)
    ]
    assert statuses == [200, 200, 200, 429, 429]
    assert len(calls(s, window, client)) == 5
    s.session.refresh(window)
    assert window.metered_calls == 3 and window.metered_tokens > 0


def test_the_key_is_in_no_log_line_row_or_answer(
    scenario: Scenario,
    client: TestClient,
    upstream: StandinServer,
    standin: StandinConfig,
    caplog: pytest.LogCaptureFixture,
) -> None:
    s = scenario
    caplog.set_level(logging.DEBUG)
    window, headers = open_with_token(s, upstream)
    name = window.model.name
    answers = [
        client.post(CHAT, json=ask(name), headers=headers),
        client.post(CHAT, json=ask(name, stream=True), headers=headers),
        client.get("/gateway/v1/models", headers=headers),
        client.post(CHAT, json=ask("someone-else"), headers=headers),
    ]
    standin.fail_status, standin.echo_key_in_errors = 500, True
    answers += [
        client.post(CHAT, json=ask(name), headers=headers),
        client.post(CHAT, json=ask(name, stream=True), headers=headers),
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 403, 502, 502]
    recorded = calls(s, window, client)
    assert len(recorded) == 5
    for answer in answers:
        assert API_KEY not in answer.text and API_KEY not in str(answer.headers)
    assert API_KEY not in caplog.text
    for row in recorded:
        assert API_KEY not in repr(vars(row))
    events = s.session.scalars(select(AuditEvent)).all()
    assert not any(API_KEY in json.dumps(e.details) for e in events)
