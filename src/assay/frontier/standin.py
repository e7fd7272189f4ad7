"""The stand-in model server. IT IS NOT A MODEL.

A small OpenAI-compatible HTTP server for tests and the demo, so that the gateway, the
evaluation runs and the UI can be exercised end to end without any real model, network or
key. Every answer says what it is: the model id is ``assay-stand-in`` (configurable), every
completion carries ``system_fingerprint: "assay-stand-in (not a model)"``, the default reply
begins with ``[stand-in]`` and ``GET /`` says so in words. Nothing it returns is model output
and no score computed from it means anything about any model.

What it speaks, exactly as the OpenAI API does:

- ``GET /v1/models``: one model, the configured id.
- ``POST /v1/chat/completions``: a ``chat.completion`` object, or with ``"stream": true`` a
  ``text/event-stream`` of ``chat.completion.chunk`` frames (the first carries the role, then
  the content in pieces, then one with ``finish_reason``), then, only when
  ``stream_options.include_usage`` is true, a last chunk with empty ``choices`` and the
  ``usage``, then ``data: [DONE]``. Assay's gateway always asks for ``include_usage``, since
  it meters every call by its usage.
- A Bearer key is required on ``/v1/*``; errors are ``{"error": {"message", "type", "param",
  "code"}}`` with the status OpenAI would use.

Token counts are an approximation, not a tokenizer: a text of ``n`` characters counts
``ceil(n / 4)`` tokens (:func:`approximate_tokens`); a prompt counts the sum over its
messages' text content, a reply the same over its text. ``max_tokens`` (or
``max_completion_tokens``) cuts the reply to that many approximate tokens, with
``finish_reason: "length"``.

The reply is deterministic: by default :func:`echo_reply`, which reports the length of the
last user message; tests and the demo pass their own ``responder`` to script replies. A
responder returns text, or a :class:`StandinReply` whose ``tool_calls`` become OpenAI
``tool_calls`` (with ``finish_reason: "tool_calls"``), so that agent tasks can be scripted
(`assay.evals.standin_policy` uses this for ``assay/ctf_local``).
:class:`StandinConfig` also holds controls that make the server misbehave on purpose (fail
with a status, answer late, echo the presented key in errors as some real APIs do, break a
stream midway), so that the gateway's handling of a bad upstream can be tested over real
HTTP.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import json
import re
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send

from assay.core.clock import Clock, SystemClock

STANDIN_MODEL = "assay-stand-in"
SYSTEM_FINGERPRINT = "assay-stand-in (not a model)"
OWNED_BY = "assay-stand-in"
ENV_API_KEY = "ASSAY_STANDIN_API_KEY"

Message = dict[str, Any]


@dataclass(frozen=True)
class StandinToolCall:
    """A function call the stand-in's reply asks the client to make."""

    id: str
    """The call's id; the client answers with a ``tool`` message carrying it."""
    name: str
    """The function's name, one of the request's ``tools``."""
    arguments: dict[str, Any]
    """The call's arguments (sent as a JSON string, as OpenAI does)."""


@dataclass(frozen=True)
class StandinReply:
    """A scripted reply with tool calls, for responders that drive an agent loop."""

    content: str
    """The reply's text (may be empty next to tool calls)."""
    tool_calls: tuple[StandinToolCall, ...] = ()
    """Calls the client should make; none means a plain text reply."""


Responder = Callable[[list[Message]], str | StandinReply]

_ABOUT = (
    "Assay stand-in model server. THIS IS NOT A MODEL.\n\n"
    "It is an OpenAI-compatible test double for Assay's tests and demo: it answers\n"
    "GET /v1/models and POST /v1/chat/completions with fixed, deterministic text, counts\n"
    "tokens as ceil(characters / 4), and needs a Bearer key. Nothing it returns is model\n"
    "output, and no evaluation score obtained from it says anything about any model.\n"
)

_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "forbidden"),
    404: ("invalid_request_error", "not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


@dataclass
class StandinConfig:
    """How the stand-in answers.

    ``fail_status``, ``delay_seconds``, ``echo_key_in_errors``, ``break_stream_after`` and
    ``garble`` exist only to test clients against a misbehaving upstream. Every field is read
    afresh by each request, so a test may change one while the server runs (the next request
    sees it) instead of starting another server.
    """

    api_key: str
    model: str = STANDIN_MODEL
    fail_status: int | None = None
    """Answer every completion with this status and an OpenAI-style error body."""
    delay_seconds: float = 0.0
    """Wait this long before answering a completion (before any header of a stream)."""
    responder: Responder | None = None
    """Makes the reply from the request's messages; :func:`echo_reply` when None."""
    echo_key_in_errors: bool = False
    """Put the presented key into error messages, as some real APIs do, so that tests can
    prove a client never passes it on."""
    break_stream_after: int | None = None
    """Drop the connection after this many frames of a stream, with no ``[DONE]``."""
    garble: bool = False
    """Answer a completion with status 200 but a body that is not JSON, and a streaming one
    with a JSON body instead of an event stream."""
    clock: Clock = field(default_factory=SystemClock)

    def __post_init__(self) -> None:
        if not self.api_key:
            raise ValueError("the stand-in needs a non-empty API key")
        if not self.model:
            raise ValueError("the stand-in needs a model id")
        if self.fail_status is not None and not 400 <= self.fail_status <= 599:
            raise ValueError("fail_status must be an HTTP error status (400-599)")
        if self.delay_seconds < 0:
            raise ValueError("delay_seconds must not be negative")
        if self.break_stream_after is not None and self.break_stream_after < 0:
            raise ValueError("break_stream_after must not be negative")


def approximate_tokens(text: str) -> int:
    """The stand-in's token count of ``text``: ``ceil(len(text) / 4)``, not a tokenizer."""
    return (len(text) + 3) // 4


def message_text(content: Any) -> str:
    """The text of a message's ``content``: a string, or the text parts of a part list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def echo_reply(messages: list[Message]) -> str:
    """The default reply: how long the last user message was, and a short preview of it."""
    text = next(
        (message_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"),
        "",
    )
    flat = " ".join(text.split())
    preview = flat if len(flat) <= 40 else flat[:40] + "..."
    return (
        f'[stand-in] I received {len(text)} characters: "{preview}". '
        "This is a test server, not a model."
    )


@dataclass(frozen=True)
class _ChatRequest:
    messages: list[Message]
    max_tokens: int | None
    stream: bool
    include_usage: bool


class _Refusal(Exception):
    """An OpenAI-style error answer, raised from anywhere in a request's handling."""

    def __init__(
        self, status: int, message: str, *, param: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code


class _BrokenStream(Response):
    """The first frames of a stream, then an ASGI return without the end of the body: the
    server drops the connection, as an upstream that dies midway would."""

    def __init__(self, frames: list[bytes]) -> None:
        super().__init__(media_type="text/event-stream")
        # No length: the body is sent in chunks, and never finished.
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        self._frames = frames

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        for frame in self._frames:
            await send({"type": "http.response.body", "body": frame, "more_body": True})


def _error(
    status: int, message: str, *, param: str | None = None, code: str | None = None
) -> JSONResponse:
    err_type, default_code = _ERROR_TYPES.get(
        status, ("server_error", None) if status >= 500 else ("invalid_request_error", None)
    )
    error = {"message": message, "type": err_type, "param": param, "code": code or default_code}
    return JSONResponse({"error": error}, status_code=status)


def _presented_key(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _check_key(request: Request, config: StandinConfig) -> None:
    key = _presented_key(request)
    if key is None:
        raise _Refusal(
            401, "You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY'."
        )
    if not hmac.compare_digest(key.encode(), config.api_key.encode()):
        shown = f": {key}" if config.echo_key_in_errors else "."
        raise _Refusal(401, f"Incorrect API key provided{shown}")


def _parse_chat_request(raw: bytes, config: StandinConfig) -> _ChatRequest:
    try:
        body = json.loads(raw)
    except ValueError:
        raise _Refusal(400, "We could not parse the JSON body of your request.") from None
    if not isinstance(body, dict):
        raise _Refusal(400, "The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _Refusal(400, "You must provide a model parameter.", param="model")
    if model != config.model:
        raise _Refusal(
            404,
            f"The model `{model}` does not exist or you do not have access to it.",
            code="model_not_found",
        )
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _Refusal(400, "'messages' must be a non-empty list.", param="messages")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise _Refusal(
                400, f"messages[{i}] must be an object with a 'role'.", param=f"messages[{i}]"
            )
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None and (
        not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1
    ):
        raise _Refusal(400, "max_tokens must be a positive integer.", param="max_tokens")
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise _Refusal(400, "'stream' must be a boolean.", param="stream")
    options = body.get("stream_options")
    if options is not None:
        if not stream:
            raise _Refusal(
                400,
                "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                param="stream_options",
            )
        if not isinstance(options, dict):
            raise _Refusal(400, "'stream_options' must be an object.", param="stream_options")
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    return _ChatRequest(
        messages=messages,
        max_tokens=max_tokens,
        stream=bool(stream),
        include_usage=include_usage,
    )


async def _wait_unless_gone(request: Request, seconds: float) -> bool:
    """Sleep ``seconds``; False if the client hung up meanwhile.

    Polling for the disconnect lets a client's timeout end the request promptly, so a test
    server shuts down at once instead of waiting out the delay.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        await asyncio.sleep(min(left, 0.02))
        if await request.is_disconnected():
            return False
    return True


def _garbled(*, stream: bool) -> Response:
    if stream:
        return JSONResponse({"note": "the stand-in was told to ignore 'stream'"})
    return Response(b"<html>the stand-in was told not to send JSON", media_type="application/json")


def _pieces(text: str) -> list[str]:
    """``text`` in word-sized pieces (each with its leading whitespace) that join back to it."""
    return re.findall(r"\s*\S+|\s+$", text)


def _sse(data: dict[str, Any] | str) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"data: {payload}\n\n".encode()


def create_standin_app(config: StandinConfig) -> FastAPI:
    """The stand-in's ASGI application (not a model; see the module docstring)."""
    app = FastAPI(
        title="Assay stand-in (not a model)",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    serial = itertools.count(1)
    serial_lock = threading.Lock()
    listed_at = int(config.clock.now().timestamp())

    def next_id() -> str:
        with serial_lock:
            return f"chatcmpl-standin-{next(serial):08d}"

    async def refusal(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, _Refusal)
        return _error(exc.status, exc.message, param=exc.param, code=exc.code)

    async def http_error(_request: Request, exc: Exception) -> Response:
        # Unknown paths and methods answer like the OpenAI API too, not with FastAPI's shape.
        status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
        return _error(status, str(getattr(exc, "detail", "")) or "error")

    app.add_exception_handler(_Refusal, refusal)
    app.add_exception_handler(StarletteHTTPException, http_error)

    @app.get("/", response_class=PlainTextResponse)
    async def about() -> str:
        return _ABOUT

    @app.get("/v1/models")
    async def list_models(request: Request) -> Response:
        _check_key(request, config)
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {
                        "id": config.model,
                        "object": "model",
                        "created": listed_at,
                        "owned_by": OWNED_BY,
                    }
                ],
            }
        )

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        _check_key(request, config)
        raw = await request.body()  # read first: the disconnect poll below must not eat it
        if config.delay_seconds and not await _wait_unless_gone(request, config.delay_seconds):
            return Response(status_code=499)
        if config.fail_status is not None:
            key = _presented_key(request) if config.echo_key_in_errors else None
            shown = f" (request key: {key})" if key else ""
            raise _Refusal(
                config.fail_status,
                f"The stand-in was told to fail with status {config.fail_status}{shown}.",
            )
        parsed = _parse_chat_request(raw, config)
        if config.garble:
            return _garbled(stream=parsed.stream)
        scripted = (config.responder or echo_reply)(parsed.messages)
        reply = scripted if isinstance(scripted, str) else scripted.content
        calls = _tool_calls(scripted)
        finish_reason = "tool_calls" if calls else "stop"
        if parsed.max_tokens is not None and approximate_tokens(reply) > parsed.max_tokens:
            reply, finish_reason = reply[: parsed.max_tokens * 4], "length"
        prompt_tokens = sum(
            approximate_tokens(message_text(m.get("content"))) for m in parsed.messages
        )
        # A call's arguments are output too: count them, so usage never reads zero.
        completion_tokens = approximate_tokens(
            reply + "".join(c["function"]["arguments"] for c in calls)
        )
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        head = {
            "id": next_id(),
            "created": int(config.clock.now().timestamp()),
            "model": config.model,
            "system_fingerprint": SYSTEM_FINGERPRINT,
        }
        if not parsed.stream:
            return JSONResponse(
                {
                    **head,
                    "object": "chat.completion",
                    "choices": [
                        {
                            "index": 0,
                            "message": {
                                "role": "assistant",
                                "content": reply,
                                "refusal": None,
                                **({"tool_calls": calls} if calls else {}),
                            },
                            "logprobs": None,
                            "finish_reason": finish_reason,
                        }
                    ],
                    "usage": usage,
                }
            )
        frames = _stream_frames(
            head=head,
            reply=reply,
            finish_reason=finish_reason,
            usage=usage,
            include_usage=parsed.include_usage,
            tool_calls=calls,
        )
        if config.break_stream_after is not None:
            return _BrokenStream(frames[: config.break_stream_after])
        return StreamingResponse(
            _each(frames),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache"},
        )

    return app


def _tool_calls(scripted: str | StandinReply) -> list[dict[str, Any]]:
    """The OpenAI ``tool_calls`` of a scripted reply; empty for plain text."""
    if isinstance(scripted, str):
        return []
    return [
        {
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
        }
        for call in scripted.tool_calls
    ]


def _stream_frames(
    *,
    head: dict[str, Any],
    reply: str,
    finish_reason: str,
    usage: dict[str, int],
    include_usage: bool,
    tool_calls: list[dict[str, Any]] | None = None,
) -> list[bytes]:
    # OpenAI puts "usage": null on every chunk but the last when usage was asked for.
    extra: dict[str, Any] = {"usage": None} if include_usage else {}

    def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {**head, "object": "chat.completion.chunk", "choices": [choice], **extra}

    frames = [_sse(chunk({"role": "assistant", "content": ""}, None))]
    frames += [_sse(chunk({"content": piece}, None)) for piece in _pieces(reply)]
    # Each call whole in one chunk: OpenAI may split the arguments, and clients must join
    # them by index either way.
    frames += [
        _sse(chunk({"tool_calls": [{"index": i, **call}]}, None))
        for i, call in enumerate(tool_calls or [])
    ]
    frames.append(_sse(chunk({}, finish_reason)))
    if include_usage:
        last = {**head, "object": "chat.completion.chunk", "choices": [], "usage": usage}
        frames.append(_sse(last))
    frames.append(_sse("[DONE]"))
    return frames


async def _each(frames: list[bytes]) -> AsyncIterator[bytes]:
    for frame in frames:
        yield frame


class StandinServer:
    """Runs the stand-in on loopback in a background thread, for tests and the demo.

    ``with StandinServer(StandinConfig(api_key="k")) as server:`` serves on a free port
    until the block ends; ``server.base_url`` is the OpenAI-style base URL (``.../v1``).
    """

    def __init__(
        self,
        config: StandinConfig,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout: float = 10.0,
    ) -> None:
        self.config = config
        self.host = host
        self._requested_port = port
        self._startup_timeout = startup_timeout
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the stand-in server is not running")
        return self._port

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the stand-in server is already running")
        server = uvicorn.Server(
            uvicorn.Config(
                create_standin_app(self.config),
                host=self.host,
                port=self._requested_port,
                # No logging config of its own: it must not reconfigure the host process's.
                log_config=None,
                log_level="warning",
                access_log=False,
                lifespan="off",
                timeout_graceful_shutdown=5,
            )
        )
        # Bound here rather than by uvicorn: a bind error then raises in the caller's thread
        # (uvicorn would exit its own), and port 0's choice is known at once.
        family, kind, proto, _, address = socket.getaddrinfo(
            self.host, self._requested_port, type=socket.SOCK_STREAM
        )[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.bind(address)
        except OSError:
            sock.close()
            raise
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="assay-standin", daemon=True
        )
        self._server, self._thread, self._socket = server, thread, sock
        thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the stand-in server did not start on {self.host}")
            time.sleep(0.005)
        self._port = int(sock.getsockname()[1])

    def stop(self) -> None:
        server, thread, sock = self._server, self._thread, self._socket
        self._server = self._thread = self._socket = self._port = None
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(timeout=10)
            if thread.is_alive():
                server.force_exit = True
                thread.join(timeout=5)
        if sock is not None:
            sock.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve_standin(host: str, port: int, config: StandinConfig) -> None:
    """Serve the stand-in until interrupted (the ``assay standin serve`` command)."""
    uvicorn.run(create_standin_app(config), host=host, port=port, lifespan="off")
