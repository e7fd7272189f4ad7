"""The model gateway: OpenAI-compatible endpoints that agencies call during a window.

A call is admitted (``gate.Gate``: one database read, or a grant kept for at most a second
and never past the window's close), forwarded to the developer's endpoint with the
developer's key, decrypted only in this request's memory, and metered (``meter.Meter``:
queued, and written in batches by a writer thread). The key never appears in a response,
a log line or an error: upstream failures are answered with 502 and the upstream status
alone.

The routes are served by :class:`GatewayApp`, a bare ASGI app: a gateway call needs none
of the UI's session cookie, HTML error pages, request metrics or FastAPI's dependency
machinery, and that machinery cost about as much per call as the rest of the gateway. The
app's lifespan (:func:`lifespan`) starts the gateway's parts (pooled client, metering
writer, admission cache) and puts a two-route dispatcher in front of the app's middleware,
so that a gateway call goes straight to :class:`GatewayApp`. Without the lifespan (an app
used without starting it) the same app is reached through ordinary FastAPI routes, and
each call gets its own client and writes its rows before it returns.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx2
from fastapi import APIRouter, FastAPI
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assay.api.problems import problem, problem_for
from assay.core.errors import AssayError, InvalidInput, Unauthenticated
from assay.frontier.gateway import gate, meter, upstream
from assay.frontier.gateway.access import Grant, UpstreamFailed
from assay.frontier.gateway.gate import Gate
from assay.frontier.gateway.meter import CallRow, Meter
from assay.runtime import Runtime

log = logging.getLogger("assay.gateway")

PREFIX = "/gateway/v1"
CHAT = "chat.completions"
MODELS = "models"
MAX_REQUEST_BYTES = 32 * 1024 * 1024

CACHE_TTL_SECONDS: float = gate.CACHE_TTL_SECONDS
FLUSH_SECONDS: float | None = meter.FLUSH_SECONDS
"""Read when the lifespan starts; None leaves writing to explicit ``meter.flush()`` calls
(tests that share one database connection with the app use that)."""

_JSON = b"application/json"
_NOSNIFF = (b"x-content-type-options", b"nosniff")

router = APIRouter(prefix=PREFIX, tags=["gateway"])


class Gateway:
    """One process's gateway: the pooled upstream client, metering, and admission."""

    def __init__(
        self,
        runtime: Runtime,
        client: httpx2.AsyncClient,
        *,
        cache_ttl: float,
        flush_seconds: float | None,
    ) -> None:
        self.runtime = runtime
        self.client = client
        self.meter = Meter(runtime.db, clock=runtime.clock)
        self.gate = Gate(runtime.db, clock=runtime.clock, meter=self.meter, ttl=cache_ttl)
        if flush_seconds is not None:
            self.meter.start(flush_seconds)

    async def admit(
        self, token: str, *, endpoint: str, requested_model: str | None, forward: bool = True
    ) -> Grant:
        """Admit a call, from a kept grant if there is one (no thread hop, no database)."""
        grant = self.gate.admit_kept(
            token, endpoint=endpoint, requested_model=requested_model, forward=forward
        )
        if grant is None:
            grant = await run_in_threadpool(
                self.gate.admit,
                token,
                endpoint=endpoint,
                requested_model=requested_model,
                forward=forward,
            )
        return grant


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the gateway's parts, route gateway calls past the middleware, and on the way
    out write every row still queued."""
    runtime: Runtime = app.state.runtime
    async with httpx2.AsyncClient(timeout=upstream.DEFAULT_TIMEOUT) as client:
        gateway = Gateway(runtime, client, cache_ttl=CACHE_TTL_SECONDS, flush_seconds=FLUSH_SECONDS)
        app.state.gateway = gateway
        # The lifespan runs through the middleware stack, so Starlette has built it by now.
        inner = app.middleware_stack
        if inner is not None:
            app.middleware_stack = FastPath(inner)
        try:
            yield
        finally:
            if inner is not None:
                app.middleware_stack = inner
            del app.state.gateway
            await run_in_threadpool(gateway.meter.close)


pooled_client = lifespan
"""The name ``create_app`` knows the lifespan by."""


@dataclass(slots=True)
class _Call:
    """One forwarded call: what it needs, and what its row will say, filled in as it goes."""

    gateway: Gateway
    grant: Grant
    payload: dict[str, Any]
    scope: Scope
    receive: Receive
    send: Send
    started: float
    status: int = 500  # until something better is known: an unexpected error
    upstream_status: int | None = None
    usage: upstream.Usage | None = None
    streamed: bool = False
    latency_ms: float | None = None

    def lap(self) -> None:
        self.latency_ms = (time.perf_counter() - self.started) * 1000

    def row(self) -> CallRow:
        if self.latency_ms is None:
            self.lap()
        assert self.latency_ms is not None
        usage = self.usage
        return CallRow(
            site=self.grant.site,
            endpoint=CHAT,
            status=self.status,
            created_at=self.gateway.runtime.clock.now(),
            streamed=self.streamed,
            upstream_status=self.upstream_status,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            latency_ms=self.latency_ms,
        )


class GatewayApp:
    """The gateway's two routes, as bare ASGI callables (``chat`` and ``models``)."""

    async def chat(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._serve(self._chat, scope, receive, send)

    async def models(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._serve(self._models, scope, receive, send)

    async def _serve(
        self,
        handler: Callable[[Gateway, Scope, Receive, Send], Awaitable[None]],
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        app = scope["app"]
        gateway: Gateway | None = getattr(app.state, "gateway", None)
        own: httpx2.AsyncClient | None = None
        if gateway is None:
            # No lifespan: a gateway for this call alone, which keeps no grant and writes
            # its rows before the call returns.
            own = httpx2.AsyncClient(timeout=upstream.DEFAULT_TIMEOUT)
            gateway = Gateway(app.state.runtime, own, cache_ttl=0, flush_seconds=None)
        try:
            await handler(gateway, scope, receive, tracked)
        except AssayError as exc:
            if started:
                raise
            response = problem_for(exc, scope["path"])
            response.headers["X-Content-Type-Options"] = "nosniff"
            await response(scope, receive, send)
        except ClientDisconnect:
            pass  # the caller left; its call is metered all the same
        except Exception:
            log.exception("unhandled error on %s", scope["path"])
            if started:
                raise
            response = problem(
                status=500,
                slug="internal",
                title="Internal error",
                detail="something went wrong on our side; it has been logged",
                instance=scope["path"],
            )
            await response(scope, receive, send)
        finally:
            if own is not None:
                await own.aclose()
                await run_in_threadpool(gateway.meter.flush)

    async def _models(self, gateway: Gateway, scope: Scope, receive: Receive, send: Send) -> None:
        """The one model this token reaches. Answered here: the developer's other models
        stay out of sight."""
        grant = await gateway.admit(
            _bearer(scope), endpoint=MODELS, requested_model=None, forward=False
        )
        body = {
            "object": "list",
            "data": [{"id": grant.model_name, "object": "model", "owned_by": "assay-gateway"}],
        }
        await _send_json(send, 200, upstream.dumps(body))

    async def _chat(self, gateway: Gateway, scope: Scope, receive: Receive, send: Send) -> None:
        token = _bearer(scope)
        payload = _chat_request(await _read_body(receive))
        requested = payload.get("model")
        grant = await gateway.admit(
            token,
            endpoint=CHAT,
            requested_model=requested if isinstance(requested, str) else None,
        )
        call = _Call(gateway, grant, payload, scope, receive, send, time.perf_counter())
        try:
            await self._forward(call)
        finally:
            gateway.meter.record(grant, call.row())

    async def _forward(self, call: _Call) -> None:
        grant = call.grant
        if grant.endpoint_url is None or grant.api_key_encrypted is None:
            call.status = 502
            raise UpstreamFailed(
                "the developer has not configured an endpoint and key for this model"
            )
        # Decrypted here, per call, and dropped with this frame: never kept, never logged.
        api_key = call.gateway.runtime.box.decrypt(grant.api_key_encrypted)
        if call.payload.get("stream"):
            await self._stream(call, grant.endpoint_url, api_key)
            return
        failure: upstream.UpstreamError | None = None
        try:
            data, usage = await upstream.complete(
                call.gateway.client,
                base_url=grant.endpoint_url,
                api_key=api_key,
                model=grant.endpoint_model,
                payload=call.payload,
            )
        except upstream.UpstreamError as exc:
            failure = exc
        del api_key
        call.lap()
        if failure is not None:
            call.status, call.upstream_status = 502, failure.status
            raise UpstreamFailed(failure.reason)
        call.status, call.upstream_status, call.usage = 200, 200, usage
        data["model"] = grant.model_name
        await _send_json(call.send, 200, upstream.dumps(data))

    async def _stream(self, call: _Call, base_url: str, api_key: str) -> None:
        call.streamed = True
        failure: upstream.UpstreamError | None = None
        try:
            stream = await upstream.open_stream(
                call.gateway.client,
                base_url=base_url,
                api_key=api_key,
                model=call.grant.endpoint_model,
                payload=call.payload,
            )
        except upstream.UpstreamError as exc:
            failure = exc
        del api_key
        if failure is not None:
            call.lap()
            call.status, call.upstream_status = 502, failure.status
            raise UpstreamFailed(failure.reason)
        call.status, call.upstream_status = 200, stream.status

        async def relay() -> AsyncGenerator[bytes]:
            try:
                async for frame in stream:
                    yield frame
            except upstream.UpstreamError:
                # The headers are sent; the caller sees the stream end without [DONE].
                call.status = 502
            finally:
                await stream.aclose()
                call.lap()

        frames = relay()
        response = StreamingResponse(
            frames, media_type="text/event-stream", headers={"X-Content-Type-Options": "nosniff"}
        )
        try:
            await response(call.scope, call.receive, call.send)
        finally:
            # A caller that left mid-stream leaves the relay suspended: close it (and the
            # upstream response) now, so that the call is metered with what it used.
            await frames.aclose()
            await stream.aclose()
            call.usage = stream.usage


GATEWAY = GatewayApp()

_FAST_ROUTES: dict[tuple[str, str], Callable[[Scope, Receive, Send], Awaitable[None]]] = {
    ("POST", PREFIX + "/chat/completions"): GATEWAY.chat,
    ("GET", PREFIX + "/models"): GATEWAY.models,
}


class FastPath:
    """In front of the app's middleware: the gateway's two routes go straight to
    :class:`GatewayApp`; everything else (a wrong method on them too) goes on as before."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            root: str = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]
            route = _FAST_ROUTES.get((scope["method"], path))
            if route is not None:
                await route(scope, receive, send)
                return
        await self.app(scope, receive, send)


class _Delegate(Response):
    """A FastAPI route's answer that hands the raw request to :class:`GatewayApp`: the
    routes without the lifespan's fast path, and their entry in the OpenAPI document."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        super().__init__()
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)


@router.get("/models", response_model=None)
async def list_models() -> Response:
    """The one model this token reaches (OpenAI's ``GET /models``)."""
    return _Delegate(GATEWAY.models)


@router.post("/chat/completions", response_model=None)
async def chat_completions() -> Response:
    """A chat completion forwarded to the developer's endpoint (OpenAI's
    ``POST /chat/completions``; ``"stream": true`` relays server-sent events)."""
    return _Delegate(GATEWAY.chat)


def _bearer(scope: Scope) -> str:
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            break
    raise Unauthenticated("send the gateway token as `Authorization: Bearer <token>`")


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > MAX_REQUEST_BYTES:
            raise InvalidInput(f"the request body is larger than {MAX_REQUEST_BYTES} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _chat_request(body: bytes) -> dict[str, Any]:
    try:
        payload = upstream.loads(body)
    except ValueError as exc:
        raise InvalidInput("the request body is not JSON") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("messages"), list):
        raise InvalidInput("expected a chat completion request with a `messages` list")
    return payload


async def _send_json(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", _JSON), (b"content-length", b"%d" % len(body)), _NOSNIFF]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
