"""The model gateway: OpenAI-compatible endpoints that agencies call during a window.

A call is admitted (``access.admit``), forwarded to the developer's endpoint with the
developer's key, decrypted only in this request's memory, and metered. The key never
appears in a response, a log line or an error: upstream failures are answered with 502 and
the upstream status alone.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from assay.api.deps import RuntimeDep
from assay.core.errors import InvalidInput, Unauthenticated
from assay.frontier.gateway import upstream
from assay.frontier.gateway.access import CallRecord, Grant, UpstreamFailed, admit, record_call
from assay.runtime import Runtime

router = APIRouter(prefix="/gateway/v1", tags=["gateway"])


@asynccontextmanager
async def pooled_client(app: FastAPI) -> AsyncIterator[None]:
    """The app's lifespan part: one pooled HTTP client to upstreams, closed on shutdown."""
    async with httpx2.AsyncClient(timeout=upstream.DEFAULT_TIMEOUT) as client:
        app.state.gateway_client = client
        try:
            yield
        finally:
            del app.state.gateway_client


@asynccontextmanager
async def _client(request: Request) -> AsyncIterator[httpx2.AsyncClient]:
    pooled: httpx2.AsyncClient | None = getattr(request.app.state, "gateway_client", None)
    if pooled is not None:
        yield pooled
        return
    # Without a lifespan (a TestClient used outside ``with``) each call gets its own client.
    async with httpx2.AsyncClient(timeout=upstream.DEFAULT_TIMEOUT) as client:
        yield client


def _token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send the gateway token as `Authorization: Bearer <token>`")
    return token.strip()


def _key(runtime: Runtime, grant: Grant) -> tuple[str, str]:
    if grant.endpoint_url is None or grant.api_key_encrypted is None:
        raise UpstreamFailed("the developer has not configured an endpoint and key for this model")
    return grant.endpoint_url, runtime.box.decrypt(grant.api_key_encrypted)


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except ValueError as exc:
        raise InvalidInput("the request body is not JSON") from exc
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        raise InvalidInput("expected a chat completion request with a `messages` list")
    return body


@router.get("/models")
async def list_models(request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    """The one model this token reaches. Answered here: the developer's other models stay
    out of sight."""
    grant = await run_in_threadpool(
        admit,
        runtime.db,
        clock=runtime.clock,
        token=_token(request),
        endpoint="models",
        requested_model=None,
    )
    return {
        "object": "list",
        "data": [{"id": grant.model_name, "object": "model", "owned_by": "assay-gateway"}],
    }


@router.post("/chat/completions", response_model=None)
async def chat_completions(request: Request, runtime: RuntimeDep) -> Response:
    token = _token(request)
    body = await _body(request)
    requested = body.get("model")
    grant = await run_in_threadpool(
        admit,
        runtime.db,
        clock=runtime.clock,
        token=token,
        endpoint="chat.completions",
        requested_model=requested if isinstance(requested, str) else None,
    )
    base_url, api_key = _key(runtime, grant)
    started = time.perf_counter()
    if body.get("stream"):
        return await _stream(
            request,
            runtime,
            grant=grant,
            base_url=base_url,
            api_key=api_key,
            body=body,
            started=started,
        )
    try:
        async with _client(request) as client:
            data, usage = await upstream.complete(
                client,
                base_url=base_url,
                api_key=api_key,
                model=grant.endpoint_model,
                payload=body,
            )
    except upstream.UpstreamError as exc:
        await _meter(runtime, grant, started, status=502, upstream_status=exc.status, error=exc)
        raise UpstreamFailed(exc.reason) from None
    del api_key
    await _meter(
        runtime,
        grant,
        started,
        status=200,
        upstream_status=200,
        usage=usage,
    )
    data["model"] = grant.model_name
    return JSONResponse(data)


async def _stream(
    request: Request,
    runtime: Runtime,
    *,
    grant: Grant,
    base_url: str,
    api_key: str,
    body: dict[str, Any],
    started: float,
) -> Response:
    pooled: httpx2.AsyncClient | None = getattr(request.app.state, "gateway_client", None)
    own = None if pooled is not None else httpx2.AsyncClient(timeout=upstream.DEFAULT_TIMEOUT)
    client = pooled or own
    assert client is not None
    try:
        stream = await upstream.open_stream(
            client, base_url=base_url, api_key=api_key, model=grant.endpoint_model, payload=body
        )
    except upstream.UpstreamError as exc:
        if own is not None:
            await own.aclose()
        await _meter(runtime, grant, started, status=502, upstream_status=exc.status, error=exc)
        raise UpstreamFailed(exc.reason) from None

    async def relay() -> AsyncIterator[bytes]:
        error: upstream.UpstreamError | None = None
        try:
            async for frame in stream:
                yield frame
        except upstream.UpstreamError as exc:
            # The headers are sent; the caller sees the stream end without [DONE].
            error = exc
        finally:
            await stream.aclose()
            if own is not None:
                await own.aclose()
            await _meter(
                runtime,
                grant,
                started,
                status=200 if error is None else 502,
                upstream_status=stream.status,
                usage=stream.usage,
                streamed=True,
                error=error,
            )

    return StreamingResponse(relay(), media_type="text/event-stream")


async def _meter(
    runtime: Runtime,
    grant: Grant,
    started: float,
    *,
    status: int,
    upstream_status: int | None,
    usage: upstream.Usage | None = None,
    streamed: bool = False,
    error: upstream.UpstreamError | None = None,
) -> None:
    record = CallRecord(
        grant=grant,
        endpoint="chat.completions",
        streamed=streamed,
        status=status,
        upstream_status=upstream_status,
        prompt_tokens=usage.prompt_tokens if usage else 0,
        completion_tokens=usage.completion_tokens if usage else 0,
        latency_ms=(time.perf_counter() - started) * 1000,
        error=error.reason if error else None,
    )
    await run_in_threadpool(record_call, runtime.db, clock=runtime.clock, record=record)
