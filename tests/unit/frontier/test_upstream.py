"""The gateway's upstream client against the stand-in over real loopback HTTP: forwarding,
usage capture, byte-for-byte relay of streams, and errors that never carry the key."""

from __future__ import annotations

import dataclasses
import json
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest

from assay.core.clock import FrozenClock
from assay.frontier.gateway import upstream
from assay.frontier.gateway.upstream import (
    DEFAULT_TIMEOUT,
    UpstreamError,
    Usage,
    complete,
    list_models,
    open_stream,
    redact,
    validate_base_url,
)
from assay.frontier.standin import STANDIN_MODEL, StandinConfig, StandinServer

pytestmark = pytest.mark.anyio

KEY = "sk-dev-secret-0123456789abcdefghij"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MESSAGES = [{"role": "user", "content": "Find the bug in this function."}]
# What an agency sends: the gateway's model name, never the developer's.
PAYLOAD: dict[str, Any] = {"model": "frontier-x (via gateway)", "messages": MESSAGES}
FAST = httpx2.Timeout(2.0)
# Built once: loading the trust store is most of what creating an HTTP client costs.
TLS = ssl.create_default_context()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _config(**overrides: Any) -> StandinConfig:
    return StandinConfig(api_key=KEY, clock=FrozenClock(T0), **overrides)


@pytest.fixture(scope="module")
def running() -> Iterator[StandinServer]:
    with StandinServer(_config()) as server:
        yield server


@pytest.fixture
def server(running: StandinServer) -> Iterator[StandinServer]:
    """The module's stand-in; a test may make it misbehave, and its config is restored."""
    saved = {f.name: getattr(running.config, f.name) for f in dataclasses.fields(running.config)}
    yield running
    for name, value in saved.items():
        setattr(running.config, name, value)


def _client(**kwargs: Any) -> httpx2.AsyncClient:
    # trust_env off: a proxy from the environment must never see loopback test traffic.
    return httpx2.AsyncClient(trust_env=False, timeout=FAST, verify=TLS, **kwargs)


@pytest.fixture
async def http() -> AsyncIterator[httpx2.AsyncClient]:
    # One connection only: a response left open would make the next request wait for the
    # pool, so the tests can check that the client released what it took.
    async with _client(limits=httpx2.Limits(max_connections=1)) as client:
        yield client


async def _pool_is_free(http: httpx2.AsyncClient, server: StandinServer) -> None:
    models = await list_models(
        http,
        base_url=server.base_url,
        api_key=KEY,
        timeout=httpx2.Timeout(2.0, pool=0.5),
    )
    assert models["data"][0]["id"] == STANDIN_MODEL


def _no_key_in(error: UpstreamError) -> None:
    for text in (error.reason, str(error), repr(error), *map(str, error.args)):
        assert KEY not in text
        assert redact(text, KEY) == text  # not even an 8-character piece of it
    assert error.__cause__ is None
    assert error.__context__ is None


async def test_complete_forwards_with_the_developer_model_and_returns_usage(
    server: StandinServer, http: httpx2.AsyncClient
) -> None:
    sent: list[httpx2.Request] = []

    async def keep(request: httpx2.Request) -> None:
        sent.append(request)

    http.event_hooks["request"] = [keep]
    payload = {**PAYLOAD, "stream": False, "temperature": 0}
    data, usage = await complete(
        http, base_url=server.base_url + "/", api_key=KEY, model=STANDIN_MODEL, payload=payload
    )
    assert data["object"] == "chat.completion"
    assert data["model"] == STANDIN_MODEL
    assert usage == Usage(
        prompt_tokens=data["usage"]["prompt_tokens"],
        completion_tokens=data["usage"]["completion_tokens"],
    )
    assert usage.total_tokens == data["usage"]["total_tokens"]
    (request,) = sent
    assert request.url == f"{server.base_url}/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    body = json.loads(request.content)
    assert body == {"model": STANDIN_MODEL, "messages": MESSAGES, "temperature": 0}
    assert payload["model"] == PAYLOAD["model"]  # the caller's payload is left alone
    await _pool_is_free(http, server)


async def test_list_models(server: StandinServer, http: httpx2.AsyncClient) -> None:
    models = await list_models(http, base_url=server.base_url, api_key=KEY)
    assert models["object"] == "list"
    assert [m["id"] for m in models["data"]] == [STANDIN_MODEL]


async def _raw_stream(base_url: str, body: dict[str, Any]) -> bytes:
    async with (
        _client() as client,
        client.stream(
            "POST",
            f"{base_url}/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {KEY}"},
        ) as response,
    ):
        return await response.aread()


async def test_a_stream_is_relayed_byte_for_byte_and_its_usage_captured(
    http: httpx2.AsyncClient,
) -> None:
    stream_body = {
        **PAYLOAD,
        "model": STANDIN_MODEL,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    # Two fresh servers on one frozen clock answer the same first request identically.
    with StandinServer(_config()) as direct, StandinServer(_config()) as relayed:
        expected = await _raw_stream(direct.base_url, stream_body)
        stream = await open_stream(
            http,
            base_url=relayed.base_url,
            api_key=KEY,
            model=STANDIN_MODEL,
            payload={**PAYLOAD, "stream": True, "stream_options": {"include_usage": True}},
        )
        assert stream.status == 200
        frames = [frame async for frame in stream]
        await _pool_is_free(http, relayed)
    assert b"".join(frames) == expected
    assert len(frames) == expected.count(b"\n\n")
    assert all(frame.startswith(b"data: ") and frame.endswith(b"\n\n") for frame in frames)
    assert frames[-1] == b"data: [DONE]\n\n"
    assert stream.done
    usage_chunk = json.loads(frames[-2].removeprefix(b"data: "))
    assert usage_chunk["choices"] == []
    assert stream.usage == Usage(
        usage_chunk["usage"]["prompt_tokens"], usage_chunk["usage"]["completion_tokens"]
    )


async def test_usage_is_asked_for_but_its_chunk_withheld_from_a_caller_who_did_not(
    server: StandinServer, http: httpx2.AsyncClient
) -> None:
    sent: list[httpx2.Request] = []

    async def keep(request: httpx2.Request) -> None:
        sent.append(request)

    http.event_hooks["request"] = [keep]
    async with await open_stream(
        http,
        base_url=server.base_url,
        api_key=KEY,
        model=STANDIN_MODEL,
        payload={**PAYLOAD, "stream": True},
    ) as stream:
        frames = [frame async for frame in stream]
    body = json.loads(sent[0].content)
    assert body["model"] == STANDIN_MODEL
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    chunks = [json.loads(f.removeprefix(b"data: ")) for f in frames[:-1]]
    assert all(c["choices"] for c in chunks)  # no usage-only chunk
    assert frames[-1] == b"data: [DONE]\n\n"
    assert stream.usage is not None and stream.usage.completion_tokens > 0


async def test_an_error_status_raises_before_any_byte_is_relayed(
    server: StandinServer, http: httpx2.AsyncClient
) -> None:
    server.config.fail_status = 503
    with pytest.raises(UpstreamError) as opened:
        await open_stream(
            http, base_url=server.base_url, api_key=KEY, model=STANDIN_MODEL, payload=PAYLOAD
        )
    with pytest.raises(UpstreamError) as completed:
        await complete(
            http, base_url=server.base_url, api_key=KEY, model=STANDIN_MODEL, payload=PAYLOAD
        )
    await _pool_is_free(http, server)
    for error in (opened.value, completed.value):
        assert error.status == 503
        assert error.reason.startswith("upstream answered 503: ")
        _no_key_in(error)


async def test_an_unknown_model_is_the_upstream_404(
    server: StandinServer, http: httpx2.AsyncClient
) -> None:
    with pytest.raises(UpstreamError) as caught:
        await complete(http, base_url=server.base_url, api_key=KEY, model="nope", payload=PAYLOAD)
    assert caught.value.status == 404
    assert "does not exist" in caught.value.reason


async def test_a_closed_port_is_unreachable_with_no_status(http: httpx2.AsyncClient) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}/v1"
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: complete(
            http, base_url=base_url, api_key=KEY, model=STANDIN_MODEL, payload=PAYLOAD
        ),
        lambda: open_stream(
            http, base_url=base_url, api_key=KEY, model=STANDIN_MODEL, payload=PAYLOAD
        ),
        lambda: list_models(http, base_url=base_url, api_key=KEY),
    ]
    for call in calls:
        with pytest.raises(UpstreamError) as caught:
            await call()
        assert caught.value.status is None
        assert caught.value.reason == "upstream unreachable: connection refused"
        _no_key_in(caught.value)


async def test_an_upstream_that_echoes_the_key_does_not_leak_it(
    server: StandinServer, http: httpx2.AsyncClient
) -> None:
    server.config.fail_status, server.config.echo_key_in_errors = 500, True
    with pytest.raises(UpstreamError) as failed:
        await complete(
            http, base_url=server.base_url, api_key=KEY, model=STANDIN_MODEL, payload=PAYLOAD
        )
    wrong_key = KEY[:-4] + "zzzz"  # the upstream echoes this one, mostly the real key
    with pytest.raises(UpstreamError) as refused:
        await open_stream(
            http,
            base_url=server.base_url,
            api_key=wrong_key,
            model=STANDIN_MODEL,
            payload=PAYLOAD,
        )
    assert failed.value.status == 500
    assert "[redacted]" in failed.value.reason
    assert "told to fail with status 500" in failed.value.reason
    _no_key_in(failed.value)
    assert refused.value.status == 401
    assert wrong_key not in refused.value.reason
    assert redact(refused.value.reason, wrong_key) == refused.value.reason
    _no_key_in(refused.value)


async def test_timeouts_are_reported_without_status(
    server: StandinServer, http: httpx2.AsyncClient
) -> None:
    quick = httpx2.Timeout(2.0, read=0.1)
    server.config.delay_seconds = 2.0
    with pytest.raises(UpstreamError) as completed:
        await complete(
            http,
            base_url=server.base_url,
            api_key=KEY,
            model=STANDIN_MODEL,
            payload=PAYLOAD,
            timeout=quick,
        )
    with pytest.raises(UpstreamError) as opened:
        await open_stream(
            http,
            base_url=server.base_url,
            api_key=KEY,
            model=STANDIN_MODEL,
            payload=PAYLOAD,
            timeout=quick,
        )
    for error in (completed.value, opened.value):
        assert (error.status, error.reason) == (None, "upstream timed out")
        _no_key_in(error)


def test_default_timeouts() -> None:
    assert (DEFAULT_TIMEOUT.connect, DEFAULT_TIMEOUT.read) == (5.0, 300.0)


async def test_an_upstream_dying_mid_stream_raises_during_iteration(
    server: StandinServer, http: httpx2.AsyncClient
) -> None:
    server.config.break_stream_after = 2
    stream = await open_stream(
        http, base_url=server.base_url, api_key=KEY, model=STANDIN_MODEL, payload=PAYLOAD
    )
    frames: list[bytes] = []
    with pytest.raises(UpstreamError) as caught:
        async for frame in stream:
            frames.append(frame)
    await _pool_is_free(http, server)
    assert len(frames) == 2
    assert (caught.value.status, caught.value.reason) == (
        None,
        "upstream connection broke mid-stream",
    )
    assert not stream.done
    _no_key_in(caught.value)


async def test_bodies_that_are_not_what_was_asked_are_upstream_errors(
    server: StandinServer, http: httpx2.AsyncClient
) -> None:
    server.config.garble = True
    with pytest.raises(UpstreamError) as completed:
        await complete(
            http, base_url=server.base_url, api_key=KEY, model=STANDIN_MODEL, payload=PAYLOAD
        )
    with pytest.raises(UpstreamError) as opened:
        await open_stream(
            http, base_url=server.base_url, api_key=KEY, model=STANDIN_MODEL, payload=PAYLOAD
        )
    await _pool_is_free(http, server)
    assert (completed.value.status, completed.value.reason) == (200, "upstream sent invalid JSON")
    assert (opened.value.status, opened.value.reason) == (
        200,
        "upstream did not answer with an event stream",
    )


async def test_an_abandoned_stream_is_closed_and_cannot_be_read_twice(
    server: StandinServer, http: httpx2.AsyncClient
) -> None:
    stream = await open_stream(
        http, base_url=server.base_url, api_key=KEY, model=STANDIN_MODEL, payload=PAYLOAD
    )
    frames = aiter(stream)
    first = await anext(frames)
    assert first.startswith(b"data: ")
    await stream.aclose()
    await _pool_is_free(http, server)
    with pytest.raises(RuntimeError, match="only once"):
        aiter(stream)
    unread = await open_stream(
        http, base_url=server.base_url, api_key=KEY, model=STANDIN_MODEL, payload=PAYLOAD
    )
    await unread.aclose()
    with pytest.raises(UpstreamError, match="closed before reading"):
        _ = [frame async for frame in unread]
    await _pool_is_free(http, server)


@pytest.mark.parametrize("bad_key", ["", "sk key with spaces", "sk-\nX-Injected: 1", "sk-é"])
async def test_a_key_that_cannot_be_a_header_is_refused_without_quoting_it(
    server: StandinServer, http: httpx2.AsyncClient, bad_key: str
) -> None:
    with pytest.raises(UpstreamError) as caught:
        await complete(
            http, base_url=server.base_url, api_key=bad_key, model=STANDIN_MODEL, payload=PAYLOAD
        )
    assert caught.value.status is None
    assert bad_key not in caught.value.reason or not bad_key


async def test_a_bad_base_url_is_an_upstream_error(http: httpx2.AsyncClient) -> None:
    with pytest.raises(UpstreamError, match="base URL is not valid"):
        await list_models(http, base_url="ftp://example.invalid", api_key=KEY)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.example.com/v1/", "https://api.example.com/v1"),
        ("http://127.0.0.1:8100/v1", "http://127.0.0.1:8100/v1"),
        ("  https://host  ", "https://host"),
        ("http://[::1]:8100/v1", "http://[::1]:8100/v1"),
    ],
)
def test_validate_base_url_accepts_http_urls(url: str, expected: str) -> None:
    assert validate_base_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "",
        "api.example.com/v1",
        "ftp://api.example.com",
        "https://",
        "https://user:pass@api.example.com/v1",
        "https://api.example.com/v1?key=x",
        "https://api.example.com/v1#x",
        "https://api.example.com:99999/v1",
        "https://api.example.com/v 1",
        "javascript:alert(1)",
    ],
)
def test_validate_base_url_refuses_the_rest(url: str) -> None:
    with pytest.raises(ValueError):
        validate_base_url(url)


def test_redact_hides_the_key_and_long_pieces_of_it() -> None:
    text = f"key {KEY}; prefix {KEY[:10]}***; suffix ...{KEY[-9:]}; tail {KEY[-4:]}"
    assert redact(text, KEY) == (
        f"key [redacted]; prefix [redacted]***; suffix ...[redacted]; tail {KEY[-4:]}"
    )
    assert redact("abc and abc", "abc") == "[redacted] and [redacted]"
    assert redact("nothing here", KEY) == "nothing here"


def test_sse_event_data_is_read_across_line_endings() -> None:
    assert upstream._event_data(b'data: {"a":1}\r\n\r\n') == '{"a":1}'
    assert upstream._event_data(b"data:x\ndata: y\n\n") == "x\ny"
    assert upstream._event_data(b": keep-alive\n\n") is None
    ends = [m.end() for m in upstream._EVENT_END.finditer(b"data: a\r\n\r\ndata: b\n\ndata: c\r\r")]
    assert ends == [11, 20, 29]
