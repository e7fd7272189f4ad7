"""The stand-in's scripted tool calls, which the suites policy needs for assay/ctf_local, in
OpenAI's shapes over real loopback HTTP: whole replies and streams."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from assay.frontier.standin import (
    StandinConfig,
    StandinReply,
    StandinServer,
    StandinToolCall,
    approximate_tokens,
)

KEY = "sk-standin-tools-test-91aa"
AUTH = {"Authorization": f"Bearer {KEY}"}
CALL = StandinToolCall(id="call_1", name="python", arguments={"code": "print('hi')"})


def _script(messages: list[dict[str, Any]]) -> str | StandinReply:
    if messages[-1]["role"] == "tool":
        return "[stand-in] done"
    return StandinReply(content="[stand-in] running", tool_calls=(CALL,))


@pytest.fixture(scope="module")
def server() -> Iterator[StandinServer]:
    with StandinServer(StandinConfig(api_key=KEY, responder=_script)) as running:
        yield running


def _post(server: StandinServer, body: dict[str, Any]) -> httpx2.Response:
    with httpx2.Client(trust_env=False, timeout=5.0) as http:
        return http.post(f"{server.base_url}/chat/completions", json=body, headers=AUTH)


def _body(messages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"model": "assay-stand-in", "messages": messages, **extra}


def test_a_reply_with_tool_calls_has_openais_shape(server: StandinServer) -> None:
    response = _post(server, _body([{"role": "user", "content": "go"}]))
    assert response.status_code == 200
    [choice] = response.json()["choices"]
    assert choice["finish_reason"] == "tool_calls"
    message = choice["message"]
    assert message["content"] == "[stand-in] running"
    assert message["tool_calls"] == [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "python", "arguments": json.dumps({"code": "print('hi')"})},
        }
    ]
    usage = response.json()["usage"]
    expected = approximate_tokens("[stand-in] running" + json.dumps({"code": "print('hi')"}))
    assert usage["completion_tokens"] == expected


def test_the_tool_result_turn_gets_a_plain_reply(server: StandinServer) -> None:
    messages = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1"}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "hi\n"},
    ]
    [choice] = _post(server, _body(messages)).json()["choices"]
    assert choice["finish_reason"] == "stop"
    assert choice["message"] == {"role": "assistant", "content": "[stand-in] done", "refusal": None}


def test_a_streamed_reply_carries_the_tool_calls_by_index(server: StandinServer) -> None:
    response = _post(
        server,
        _body(
            [{"role": "user", "content": "go"}],
            stream=True,
            stream_options={"include_usage": True},
        ),
    )
    frames = [f.removeprefix("data: ") for f in response.text.split("\n\n") if f]
    assert frames[-1] == "[DONE]"
    chunks = [json.loads(f) for f in frames[:-1]]
    calls = [
        call
        for c in chunks
        for choice in c["choices"]
        for call in choice["delta"].get("tool_calls", [])
    ]
    assert calls == [
        {
            "index": 0,
            "id": "call_1",
            "type": "function",
            "function": {"name": "python", "arguments": json.dumps({"code": "print('hi')"})},
        }
    ]
    finishes = [ch["finish_reason"] for c in chunks for ch in c["choices"] if ch["finish_reason"]]
    assert finishes == ["tool_calls"]
    assert chunks[-1]["usage"]["completion_tokens"] > 0
