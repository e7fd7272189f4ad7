"""The gateway's upstream client: forwarding a call to a developer's OpenAI-compatible endpoint.

The developer's API key reaches this module only as an argument, decrypted in memory by the
caller, and leaves it only in the ``Authorization`` header of the forwarded request. It never
appears in an :class:`UpstreamError`: reasons are built from fixed phrases and the status
code, never from an exception's text, and the one piece of upstream text let through (the
``error.message`` of an error body, which some APIs fill with the presented key) is redacted
first. Errors are raised outside ``except`` blocks so that they carry no ``__context__``:
an ``httpx2`` exception holds the request, and with it the header.

Redirects are not followed, so the key is only ever sent to the registered base URL.
"""

from __future__ import annotations

import errno
import functools
import json
import re
import socket
import ssl
from collections.abc import AsyncIterator, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self, TypeGuard
from urllib.parse import urlsplit

import httpx2
import orjson

DEFAULT_TIMEOUT = httpx2.Timeout(connect=5.0, read=300.0, write=30.0, pool=30.0)
"""Connect fast or fail; a long read, since a model may think for minutes (in a stream the
read timeout bounds the silence between two pieces, not the whole answer)."""

MAX_BODY_BYTES = 32 * 1024 * 1024
MAX_ERROR_BODY_BYTES = 64 * 1024
MAX_EVENT_BYTES = 4 * 1024 * 1024
MAX_MESSAGE_CHARS = 300
# A run this long that also occurs in the key is treated as (part of) the key: APIs that
# echo a key often show only a prefix and a suffix of it.
_MIN_KEY_FRAGMENT = 8
_REDACTED = "[redacted]"

# An event ends at a blank line; a line may end in CRLF, LF or CR.
_EVENT_END = re.compile(rb"\r\n\r\n|\n\r\n|\r\n\n|\n\n|\r\r")
_LINE_END = re.compile(r"\r\n|\r|\n")


class UpstreamError(Exception):
    """The upstream could not be reached or did not answer well.

    ``status`` is the upstream's HTTP status, or None when there was no usable answer
    (connection failure, timeout, a connection that broke mid-stream). ``reason`` is safe
    to show to the agency and to log: it never holds the API key or any request header.
    """

    def __init__(self, status: int | None, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason

    def __repr__(self) -> str:
        return f"UpstreamError(status={self.status!r}, reason={self.reason!r})"


@dataclass(frozen=True)
class Usage:
    """Token counts reported by the upstream for one call."""

    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def loads(raw: bytes | str) -> Any:
    """Parse JSON with orjson (several times faster than ``json`` on a chat body), falling
    back to ``json`` for what only it reads (NaN, Infinity, integers beyond 64 bits)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def dumps(value: Any) -> bytes:
    """Serialize with orjson, falling back to ``json`` for integers beyond 64 bits."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value).encode()


def validate_base_url(url: str) -> str:
    """Return ``url`` without its trailing slash if it is an http(s) URL with a host.

    Credentials in the URL, a query or a fragment are refused: the key is stored and sent
    separately, and paths such as ``/chat/completions`` are appended to the URL.
    """
    url = url.strip()
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise ValueError("the base URL must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        _ = parts.port  # urlsplit checks the port only when asked
    except ValueError:
        raise ValueError("the base URL is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("the base URL must be an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("the base URL must not contain credentials; the API key is kept apart")
    if parts.query or parts.fragment:
        raise ValueError("the base URL must not have a query or a fragment")
    return url.rstrip("/")


def usage_from(value: Any) -> Usage | None:
    """The :class:`Usage` in an OpenAI ``usage`` object, or None if absent or malformed."""
    if not isinstance(value, dict):
        return None
    prompt, completion = value.get("prompt_tokens"), value.get("completion_tokens")
    if _is_count(prompt) and _is_count(completion):
        return Usage(prompt_tokens=prompt, completion_tokens=completion)
    return None


async def complete(
    client: httpx2.AsyncClient,
    *,
    base_url: str,
    api_key: str,
    model: str,
    payload: Mapping[str, Any],
    timeout: httpx2.Timeout = DEFAULT_TIMEOUT,
) -> tuple[dict[str, Any], Usage | None]:
    """Forward a non-streaming chat completion; return the upstream's JSON and its usage.

    ``payload["model"]`` is replaced by the developer's ``model``; any ``stream`` or
    ``stream_options`` is dropped (use :func:`open_stream` for streaming).
    """
    body = {k: v for k, v in payload.items() if k not in ("stream", "stream_options")}
    body["model"] = model
    response = await _send(
        client,
        "POST",
        _endpoint(base_url, "chat/completions"),
        api_key=api_key,
        body=body,
        timeout=timeout,
        accept="application/json",
    )
    try:
        if not response.is_success:
            raise await _status_error(response, api_key)
        raw = await _read_all(response)
    finally:
        await response.aclose()
    data = _json_object(raw, response.status_code)
    return data, usage_from(data.get("usage"))


async def open_stream(
    client: httpx2.AsyncClient,
    *,
    base_url: str,
    api_key: str,
    model: str,
    payload: Mapping[str, Any],
    timeout: httpx2.Timeout = DEFAULT_TIMEOUT,
) -> UpstreamStream:
    """Open a streaming chat completion; raise :class:`UpstreamError` before any byte if the
    upstream refuses it.

    ``payload["model"]`` is replaced by ``model``, and ``stream_options.include_usage`` is
    set so that the upstream reports usage in a last chunk. If the caller had not asked for
    that chunk, it is withheld from the relay (a client that did not ask for it may not
    expect a chunk with empty ``choices``); its usage is captured either way.

    The caller must read the returned stream to its end or close it::

        upstream = await open_stream(client, ...)
        try:
            async for frame in upstream:
                ...  # relay frame
        finally:
            await upstream.aclose()
        upstream.usage
    """
    options = payload.get("stream_options")
    options = dict(options) if isinstance(options, Mapping) else {}
    caller_wants_usage = options.get("include_usage") is True
    body = dict(payload)
    body.update(model=model, stream=True, stream_options={**options, "include_usage": True})
    response = await _send(
        client,
        "POST",
        _endpoint(base_url, "chat/completions"),
        api_key=api_key,
        body=body,
        timeout=timeout,
        accept="text/event-stream",
    )
    opened = False
    try:
        if not response.is_success:
            raise await _status_error(response, api_key)
        media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "text/event-stream":
            raise UpstreamError(
                response.status_code, "upstream did not answer with an event stream"
            )
        opened = True
    finally:
        if not opened:
            await response.aclose()
    return UpstreamStream(response, relay_usage_chunk=caller_wants_usage)


stream = open_stream
"""Another name of :func:`open_stream`."""


async def list_models(
    client: httpx2.AsyncClient,
    *,
    base_url: str,
    api_key: str,
    timeout: httpx2.Timeout = DEFAULT_TIMEOUT,
) -> dict[str, Any]:
    """The upstream's ``GET /models`` answer, as JSON."""
    response = await _send(
        client,
        "GET",
        _endpoint(base_url, "models"),
        api_key=api_key,
        body=None,
        timeout=timeout,
        accept="application/json",
    )
    try:
        if not response.is_success:
            raise await _status_error(response, api_key)
        raw = await _read_all(response)
    finally:
        await response.aclose()
    return _json_object(raw, response.status_code)


class UpstreamStream:
    """An open upstream event stream: iterate it (once) for the raw SSE frames to relay.

    Each item is one complete event, byte for byte as the upstream sent it (a trailing
    partial event, if the stream ends in one, comes last as it is). While relaying, every
    ``data:`` frame is parsed to capture the usage; after the iteration ``usage`` holds the
    last usage seen (None if the upstream sent none) and ``done`` tells whether
    ``data: [DONE]`` arrived. A connection that breaks or stalls mid-stream raises
    :class:`UpstreamError` from the iteration. The response is closed when the iteration
    ends, fails or is abandoned through :meth:`aclose`.
    """

    def __init__(self, response: httpx2.Response, *, relay_usage_chunk: bool) -> None:
        self.status: int = response.status_code
        self.usage: Usage | None = None
        self.done = False
        self._response = response
        self._relay_usage_chunk = relay_usage_chunk
        self._started = False
        self._closed = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        if self._started:
            raise RuntimeError("an upstream stream can be read only once")
        self._started = True
        return self._frames()

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await self._response.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _frames(self) -> AsyncIterator[bytes]:
        try:
            if self._closed:
                raise UpstreamError(self.status, "upstream stream was closed before reading")
            buffer = b""
            error: UpstreamError | None = None
            try:
                async with aclosing(self._response.aiter_bytes()) as chunks:
                    async for chunk in chunks:
                        buffer += chunk
                        while end := _EVENT_END.search(buffer):
                            frame, buffer = buffer[: end.end()], buffer[end.end() :]
                            if self._take(frame):
                                yield frame
                        if len(buffer) > MAX_EVENT_BYTES:
                            raise UpstreamError(self.status, "upstream sent an oversized event")
            except httpx2.HTTPError as exc:
                error = _transport_error(exc, mid_stream=True)
            if error is not None:
                raise error
            if buffer and self._take(buffer):
                yield buffer
        finally:
            await self.aclose()

    def _take(self, frame: bytes) -> bool:
        """Note what ``frame`` says; False if it must not be relayed."""
        data = _event_data(frame)
        if data is None:
            return True
        if data.strip() == "[DONE]":
            self.done = True
            return True
        try:
            event = loads(data)
        except ValueError:
            return True
        if not isinstance(event, dict):
            return True
        usage = usage_from(event.get("usage"))
        if usage is None:
            return True
        self.usage = usage
        return self._relay_usage_chunk or event.get("choices") != []


def _event_data(frame: bytes) -> str | None:
    """The joined ``data:`` lines of one SSE event, or None if it has none."""
    lines = [
        line[5:].removeprefix(" ")
        for line in _LINE_END.split(frame.decode("utf-8", errors="replace"))
        if line.startswith("data:")
    ]
    return "\n".join(lines) if lines else None


def _is_count(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _endpoint(base_url: str, path: str) -> str:
    base = _valid_base(base_url)
    if base is None:
        raise UpstreamError(None, "the upstream base URL is not valid")
    return f"{base}/{path}"


@functools.lru_cache(maxsize=256)
def _valid_base(base_url: str) -> str | None:
    # Memoized: the gateway forwards every call of a window to the same base URL, and
    # parsing it again each time was a measurable part of a call.
    try:
        return validate_base_url(base_url)
    except ValueError:
        return None


def _check_key(api_key: str) -> None:
    # httpx would refuse such a value with an exception that quotes it; refuse it first.
    # Printable ASCII without the space, 0x21 to 0x7E, checked by C string methods.
    if not (api_key.isascii() and api_key.isprintable()) or not api_key or " " in api_key:
        raise UpstreamError(
            None, "the stored API key cannot be sent (empty, or not printable ASCII)"
        )


async def _send(
    client: httpx2.AsyncClient,
    method: str,
    url: str,
    *,
    api_key: str,
    body: Mapping[str, Any] | None,
    timeout: httpx2.Timeout,
    accept: str,
) -> httpx2.Response:
    _check_key(api_key)
    headers = {"Authorization": f"Bearer {api_key}", "Accept": accept}
    content = None
    if body is not None:
        content = dumps(body)
        headers["Content-Type"] = "application/json"
    try:
        request = client.build_request(
            method, url, content=content, headers=headers, timeout=timeout
        )
        return await client.send(request, stream=True, follow_redirects=False)
    except httpx2.HTTPError as exc:
        error = _transport_error(exc, mid_stream=False)
    raise error


async def _read_all(response: httpx2.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        async with aclosing(response.aiter_bytes()) as stream_:
            async for chunk in stream_:
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise UpstreamError(response.status_code, "upstream response is too large")
                chunks.append(chunk)
        return b"".join(chunks)
    except httpx2.HTTPError as exc:
        error = _transport_error(exc, mid_stream=False)
    raise error


async def _read_some(response: httpx2.Response, limit: int) -> bytes:
    """Up to ``limit`` bytes of the body; whatever arrived if the connection fails."""
    chunks: list[bytes] = []
    size = 0
    try:
        async with aclosing(response.aiter_bytes()) as stream_:
            async for chunk in stream_:
                chunks.append(chunk)
                size += len(chunk)
                if size >= limit:
                    break
    except httpx2.HTTPError:
        pass  # the status alone is enough to report
    return b"".join(chunks)[:limit]


def _json_object(raw: bytes, status: int) -> dict[str, Any]:
    try:
        data = loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise UpstreamError(status, "upstream sent invalid JSON")
    return data


async def _status_error(response: httpx2.Response, api_key: str) -> UpstreamError:
    status = response.status_code
    reason = f"upstream answered {status}"
    if response.is_redirect:
        return UpstreamError(status, f"{reason} (a redirect; redirects are not followed)")
    message = _error_message(await _read_some(response, MAX_ERROR_BODY_BYTES), api_key)
    return UpstreamError(status, f"{reason}: {message}" if message else reason)


def _error_message(raw: bytes, api_key: str) -> str | None:
    """The ``error.message`` of an OpenAI-style error body, redacted, on one short line."""
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    if not isinstance(message, str):
        return None
    # Redact before cutting, so that a cut never leaves a fragment too short to recognise.
    text = redact(message[: MAX_ERROR_BODY_BYTES // 4], api_key)
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[: MAX_MESSAGE_CHARS - 3] + "..."
    return text or None


def redact(text: str, secret: str) -> str:
    """``text`` with ``secret``, and every run of it at least 8 characters long (or all of a
    shorter secret), replaced by ``[redacted]``."""
    if not secret:
        return text
    size = min(_MIN_KEY_FRAGMENT, len(secret))
    pieces = {secret[i : i + size] for i in range(len(secret) - size + 1)}
    hidden = [False] * len(text)
    for i in range(len(text) - size + 1):
        if text[i : i + size] in pieces:
            hidden[i : i + size] = [True] * size
    out: list[str] = []
    for i, ch in enumerate(text):
        if not hidden[i]:
            out.append(ch)
        elif i == 0 or not hidden[i - 1]:
            out.append(_REDACTED)
    return "".join(out)


# Fixed phrases only, chosen by the exception's class: an exception's own text may quote the
# request. The first matching class wins (ConnectTimeout is also a TimeoutException).
_TRANSPORT_REASONS: tuple[tuple[tuple[type[httpx2.HTTPError], ...], str, str], ...] = (
    ((httpx2.ConnectTimeout,), "upstream timed out while connecting", ""),
    ((httpx2.PoolTimeout,), "upstream timed out waiting for a free connection", ""),
    ((httpx2.TimeoutException,), "upstream timed out", "upstream timed out mid-stream"),
    (
        (httpx2.RemoteProtocolError, httpx2.ReadError, httpx2.WriteError),
        "upstream connection broke before answering",
        "upstream connection broke mid-stream",
    ),
    ((httpx2.DecodingError,), "upstream sent a body that could not be decoded", ""),
)


def _transport_error(exc: httpx2.HTTPError, *, mid_stream: bool) -> UpstreamError:
    if isinstance(exc, httpx2.ConnectError):
        return UpstreamError(None, f"upstream unreachable: {_connect_failure(exc)}")
    for kind, reason, reason_mid_stream in _TRANSPORT_REASONS:
        if isinstance(exc, kind):
            return UpstreamError(None, (mid_stream and reason_mid_stream) or reason)
    return UpstreamError(None, f"upstream request failed ({type(exc).__name__})")


def _connect_failure(exc: BaseException) -> str:
    """Why a connection failed, from the classes in the exception's chain (not their text)."""
    seen: BaseException | None = exc
    for _ in range(10):  # a chain is short; the bound guards against a cycle
        if seen is None:
            break
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, socket.gaierror):
            return "host name not resolved"
        if isinstance(seen, ssl.SSLError):
            return "TLS handshake failed"
        if isinstance(seen, OSError) and seen.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return "network unreachable"
        seen = seen.__cause__ or seen.__context__
    return "connection failed"
