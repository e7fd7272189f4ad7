"""The stand-in model server, over real loopback HTTP: OpenAI's shapes, its Bearer key, its
token approximation, its streaming frames, and the controls that make it misbehave."""

from __future__ import annotations

import dataclasses
import json
import socket
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest
from typer.testing import CliRunner

from assay.cli import standin as standin_cli
from assay.core.clock import FrozenClock
from assay.frontier import standin
from assay.frontier.standin import (
    STANDIN_MODEL,
    SYSTEM_FINGERPRINT,
    StandinConfig,
    StandinServer,
    approximate_tokens,
    echo_reply,
)

KEY = "sk-standin-test-key-0123456789"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AUTH = {"Authorization": f"Bearer {KEY}"}
HELLO = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "Hello, stand-in!"}]
# Built once: loading the trust store is most of what creating an HTTP client costs.
TLS = ssl.create_default_context()


def _config(**overrides: Any) -> StandinConfig:
    return StandinConfig(api_key=KEY, clock=FrozenClock(T0), **overrides)


@pytest.fixture(scope="module")
def running() -> Iterator[StandinServer]:
    with StandinServer(_config()) as server:
        yield server


@pytest.fixture
def server(running: StandinServer) -> Iterator[StandinServer]:
    """The module's server, its config restored after each test that changes it."""
    saved = {f.name: getattr(running.config, f.name) for f in dataclasses.fields(running.config)}
    yield running
    for name, value in saved.items():
        setattr(running.config, name, value)


def _client() -> httpx2.Client:
    # trust_env off: a proxy from the environment must never see loopback test traffic.
    return httpx2.Client(trust_env=False, timeout=5.0, verify=TLS)


@pytest.fixture
def http() -> Iterator[httpx2.Client]:
    with _client() as c:
        yield c


def _post(http: httpx2.Client, base_url: str, body: dict[str, Any]) -> httpx2.Response:
    return http.post(f"{base_url}/chat/completions", json=body, headers=AUTH)


def _frames(raw: str) -> list[str]:
    assert raw.endswith("\n\n")
    frames = raw.split("\n\n")[:-1]
    assert all(f.startswith("data: ") for f in frames)
    return [f.removeprefix("data: ") for f in frames]


def test_the_root_page_says_it_is_not_a_model(server: StandinServer, http: httpx2.Client) -> None:
    response = http.get(server.base_url.removesuffix("/v1") + "/")
    assert response.status_code == 200
    assert "NOT A MODEL" in response.text
    assert standin.__doc__ is not None and "NOT A MODEL" in standin.__doc__


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-key"}, {"Authorization": f"Basic {KEY}"}],
    ids=["no key", "wrong key", "not bearer"],
)
def test_a_missing_or_wrong_key_is_refused_openai_style(
    server: StandinServer, http: httpx2.Client, headers: dict[str, str]
) -> None:
    for response in (
        http.get(f"{server.base_url}/models", headers=headers),
        http.post(
            f"{server.base_url}/chat/completions",
            json={"model": STANDIN_MODEL, "messages": HELLO},
            headers=headers,
        ),
    ):
        assert response.status_code == 401
        error = response.json()["error"]
        assert error["type"] == "invalid_request_error"
        assert error["code"] == "invalid_api_key"
        assert error["message"]
        assert "wrong-key" not in error["message"]  # echoing is opt-in


def test_models_lists_the_one_model(server: StandinServer, http: httpx2.Client) -> None:
    response = http.get(f"{server.base_url}/models", headers=AUTH)
    assert response.status_code == 200
    assert response.json() == {
        "object": "list",
        "data": [
            {
                "id": STANDIN_MODEL,
                "object": "model",
                "created": int(T0.timestamp()),
                "owned_by": "assay-stand-in",
            }
        ],
    }


def test_a_completion_is_deterministic_labelled_and_counted(
    server: StandinServer, http: httpx2.Client
) -> None:
    first = _post(http, server.base_url, {"model": STANDIN_MODEL, "messages": HELLO}).json()
    second = _post(http, server.base_url, {"model": STANDIN_MODEL, "messages": HELLO}).json()
    reply = echo_reply(HELLO)
    assert reply.startswith("[stand-in] I received 16 characters")
    assert first["object"] == "chat.completion"
    assert first["model"] == STANDIN_MODEL
    assert first["system_fingerprint"] == SYSTEM_FINGERPRINT == "assay-stand-in (not a model)"
    assert first["created"] == int(T0.timestamp())
    assert first["id"].startswith("chatcmpl-") and first["id"] != second["id"]
    (choice,) = first["choices"]
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"] == reply == second["choices"][0]["message"]["content"]
    assert choice["finish_reason"] == "stop"
    prompt = approximate_tokens("be brief") + approximate_tokens("Hello, stand-in!")
    assert first["usage"] == {
        "prompt_tokens": prompt,
        "completion_tokens": approximate_tokens(reply),
        "total_tokens": prompt + approximate_tokens(reply),
    }


def test_token_approximation_is_ceil_of_a_quarter_of_the_characters() -> None:
    assert [approximate_tokens("x" * n) for n in (0, 1, 4, 5, 8, 9)] == [0, 1, 1, 2, 2, 3]


def test_max_tokens_cuts_the_reply(server: StandinServer, http: httpx2.Client) -> None:
    body = {"model": STANDIN_MODEL, "messages": HELLO, "max_tokens": 3}
    data = _post(http, server.base_url, body).json()
    assert data["choices"][0]["finish_reason"] == "length"
    assert data["choices"][0]["message"]["content"] == echo_reply(HELLO)[:12]
    assert data["usage"]["completion_tokens"] == 3


def test_content_parts_count_as_text(server: StandinServer, http: httpx2.Client) -> None:
    parts = [{"type": "text", "text": "abcd"}, {"type": "image_url", "image_url": {"url": "x"}}]
    body = {"model": STANDIN_MODEL, "messages": [{"role": "user", "content": parts}]}
    data = _post(http, server.base_url, body).json()
    assert "I received 4 characters" in data["choices"][0]["message"]["content"]
    assert data["usage"]["prompt_tokens"] == 1


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"model": STANDIN_MODEL}, 400, "messages"),
        ({"model": STANDIN_MODEL, "messages": []}, 400, "messages"),
        ({"model": STANDIN_MODEL, "messages": "hi"}, 400, "messages"),
        ({"model": STANDIN_MODEL, "messages": ["hi"]}, 400, "messages[0]"),
        ({"messages": HELLO}, 400, "model"),
        ({"model": STANDIN_MODEL, "messages": HELLO, "max_tokens": 0}, 400, "max_tokens"),
        ({"model": STANDIN_MODEL, "messages": HELLO, "stream": "yes"}, 400, "stream"),
        (
            {"model": STANDIN_MODEL, "messages": HELLO, "stream_options": {"include_usage": True}},
            400,
            "stream_options",
        ),
        ({"model": "gpt-unknown", "messages": HELLO}, 404, None),
    ],
)
def test_bad_requests_are_refused_openai_style(
    server: StandinServer,
    http: httpx2.Client,
    body: dict[str, Any],
    status: int,
    param: str | None,
) -> None:
    response = _post(http, server.base_url, body)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"
    if status == 404:
        assert error["code"] == "model_not_found"


def test_a_body_that_is_not_json_is_a_400(server: StandinServer, http: httpx2.Client) -> None:
    response = http.post(
        f"{server.base_url}/chat/completions",
        content=b"{not json",
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert "parse" in response.json()["error"]["message"]


def test_unknown_paths_answer_openai_style(server: StandinServer, http: httpx2.Client) -> None:
    response = http.get(f"{server.base_url}/embeddings", headers=AUTH)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_streaming_frames_follow_openai_and_end_with_done(
    server: StandinServer, http: httpx2.Client
) -> None:
    body = {"model": STANDIN_MODEL, "messages": HELLO, "stream": True}
    response = _post(http, server.base_url, body)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = _frames(response.text)
    assert frames[-1] == "[DONE]"
    chunks = [json.loads(f) for f in frames[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1
    assert all(c["system_fingerprint"] == SYSTEM_FINGERPRINT for c in chunks)
    assert all("usage" not in c for c in chunks)  # usage was not asked for
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert chunks[-1]["choices"][0] == {
        "index": 0,
        "delta": {},
        "logprobs": None,
        "finish_reason": "stop",
    }
    middle = chunks[1:-1]
    assert len(middle) > 1
    assert all(c["choices"][0]["finish_reason"] is None for c in middle)
    assert "".join(c["choices"][0]["delta"]["content"] for c in middle) == echo_reply(HELLO)


def test_include_usage_adds_a_last_chunk_with_the_usage(
    server: StandinServer, http: httpx2.Client
) -> None:
    body = {
        "model": STANDIN_MODEL,
        "messages": HELLO,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    frames = _frames(_post(http, server.base_url, body).text)
    assert frames[-1] == "[DONE]"
    chunks = [json.loads(f) for f in frames[:-1]]
    last = chunks[-1]
    assert last["choices"] == []
    expected = _post(http, server.base_url, {"model": STANDIN_MODEL, "messages": HELLO})
    assert last["usage"] == expected.json()["usage"]
    assert all(c["usage"] is None for c in chunks[:-1])
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"


def test_a_responder_scripts_the_reply(server: StandinServer, http: httpx2.Client) -> None:
    seen: list[list[dict[str, Any]]] = []

    def responder(messages: list[dict[str, Any]]) -> str:
        seen.append(messages)
        return "scripted answer"

    server.config.responder, server.config.model = responder, "m-1"
    data = _post(http, server.base_url, {"model": "m-1", "messages": HELLO}).json()
    assert data["choices"][0]["message"]["content"] == "scripted answer"
    assert data["model"] == "m-1"
    assert seen == [HELLO]


def test_fail_status_answers_every_completion_with_an_error(
    server: StandinServer, http: httpx2.Client
) -> None:
    server.config.fail_status = 503
    failed = _post(http, server.base_url, {"model": STANDIN_MODEL, "messages": HELLO})
    streamed = _post(
        http, server.base_url, {"model": STANDIN_MODEL, "messages": HELLO, "stream": True}
    )
    models = http.get(f"{server.base_url}/models", headers=AUTH)
    for response in (failed, streamed):
        assert response.status_code == 503
        error = response.json()["error"]
        assert error["type"] == "server_error"
        assert "503" in error["message"]
        assert KEY not in error["message"]
    assert models.status_code == 200  # only completions fail


def test_echo_key_in_errors_shows_the_presented_key(
    server: StandinServer, http: httpx2.Client
) -> None:
    server.config.fail_status, server.config.echo_key_in_errors = 429, True
    failed = _post(http, server.base_url, {"model": STANDIN_MODEL, "messages": HELLO})
    wrong = http.get(f"{server.base_url}/models", headers={"Authorization": "Bearer sk-mine"})
    assert failed.status_code == 429
    assert failed.json()["error"]["code"] == "rate_limit_exceeded"
    assert KEY in failed.json()["error"]["message"]
    assert "sk-mine" in wrong.json()["error"]["message"]


def test_garble_sends_bodies_that_are_not_what_was_asked(
    server: StandinServer, http: httpx2.Client
) -> None:
    server.config.garble = True
    plain = _post(http, server.base_url, {"model": STANDIN_MODEL, "messages": HELLO})
    streamed = _post(
        http, server.base_url, {"model": STANDIN_MODEL, "messages": HELLO, "stream": True}
    )
    assert plain.status_code == 200
    with pytest.raises(ValueError):
        plain.json()
    assert streamed.headers["content-type"] == "application/json"


def test_the_server_runs_on_a_free_port_and_stops(http: httpx2.Client) -> None:
    server = StandinServer(_config())
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.base_url
    with server:
        assert server.base_url == f"http://127.0.0.1:{server.port}/v1"
        port = server.port
        assert http.get(f"{server.base_url}/models", headers=AUTH).status_code == 200
    server.stop()  # a second stop is harmless
    with pytest.raises(httpx2.ConnectError):
        http.get(f"http://127.0.0.1:{port}/v1/models", headers=AUTH)


def test_a_port_in_use_fails_to_start() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = StandinServer(_config(), port=taken.getsockname()[1])
        with pytest.raises(OSError):
            server.start()


@pytest.mark.parametrize(
    "overrides",
    [{"api_key": ""}, {"fail_status": 200}, {"delay_seconds": -1}, {"model": ""}],
)
def test_config_refuses_nonsense(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        StandinConfig(**{"api_key": KEY, **overrides})


def test_the_cli_serves_with_the_key_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    served: list[tuple[str, int, StandinConfig]] = []
    monkeypatch.setattr(
        standin, "serve_standin", lambda host, port, config: served.append((host, port, config))
    )
    runner = CliRunner()
    result = runner.invoke(
        standin_cli.app,
        ["serve", "--port", "8123", "--model", "demo-model"],
        env={"ASSAY_STANDIN_API_KEY": KEY},
    )
    assert result.exit_code == 0, result.output
    assert "NOT A MODEL" in result.output
    ((host, port, config),) = served
    assert (host, port, config.api_key, config.model) == ("127.0.0.1", 8123, KEY, "demo-model")


def test_the_cli_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASSAY_STANDIN_API_KEY", raising=False)
    result = CliRunner().invoke(standin_cli.app, ["serve"])
    assert result.exit_code == 2
