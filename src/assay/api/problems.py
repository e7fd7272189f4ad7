"""RFC 9457 problem documents for every API error."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from assay.core.errors import AssayError, RateLimited

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://assay.invalid/problems/"
log = logging.getLogger("assay.api")


def problem(
    *,
    status: int,
    slug: str,
    title: str,
    detail: str,
    instance: str,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def problem_for(exc: AssayError, instance: str) -> JSONResponse:
    headers = None
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(exc.retry_after_seconds)}
    if exc.status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    return problem(
        status=exc.status,
        slug=exc.slug,
        title=exc.title,
        detail=exc.detail,
        instance=instance,
        errors=[{"field": e.field, "message": e.message} for e in exc.errors],
        headers=headers,
    )


def _field_name(loc: tuple[Any, ...]) -> str:
    # Drop the part of the request ("body", "query") only when a field name follows it.
    parts = [str(p) for p in loc]
    if len(parts) > 1 and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    return ".".join(parts)


def validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    return [{"field": _field_name(tuple(e["loc"])), "message": e["msg"]} for e in exc.errors()]


def install_api_handlers(app: FastAPI, *, html_handler: Any = None) -> None:
    """Map domain errors, validation errors and HTTP errors to problem documents.

    ``html_handler``, when given, renders the same errors as pages for browser routes."""

    def wants_html(request: Request) -> bool:
        return html_handler is not None and not request.url.path.startswith(
            ("/api", "/gateway", "/healthz", "/readyz", "/metrics", "/openapi")
        )

    async def on_assay_error(request: Request, exc: Exception) -> Any:
        assert isinstance(exc, AssayError)
        if wants_html(request):
            return html_handler(request, exc.status, exc.title, exc.detail)
        return problem_for(exc, request.url.path)

    async def on_validation(request: Request, exc: Exception) -> Any:
        assert isinstance(exc, RequestValidationError)
        errors = validation_errors(exc)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        if wants_html(request):
            return html_handler(request, 422, "The input is not valid", detail)
        return problem(
            status=422,
            slug="invalid-input",
            title="The input is not valid",
            detail=detail,
            instance=request.url.path,
            errors=errors,
        )

    async def on_http(request: Request, exc: Exception) -> Any:
        assert isinstance(exc, StarletteHTTPException)
        detail = str(exc.detail)
        if wants_html(request):
            return html_handler(request, exc.status_code, detail, detail)
        return problem(
            status=exc.status_code,
            slug="http-" + str(exc.status_code),
            title=detail,
            detail=detail,
            instance=request.url.path,
            headers=getattr(exc, "headers", None),
        )

    async def on_unexpected(request: Request, exc: Exception) -> Any:
        log.exception("unhandled error on %s", request.url.path)
        if wants_html(request):
            return html_handler(request, 500, "Internal error", "Something went wrong on our side.")
        return problem(
            status=500,
            slug="internal",
            title="Internal error",
            detail="something went wrong on our side; it has been logged",
            instance=request.url.path,
        )

    app.add_exception_handler(AssayError, on_assay_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
