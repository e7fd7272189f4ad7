"""Health, readiness and Prometheus metrics."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.concurrency import run_in_threadpool

from assay.api.deps import RuntimeDep
from assay.api.problems import problem
from assay.core import migrate

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(runtime: RuntimeDep, request: Request) -> dict[str, str] | Response:
    """The database answers and its schema is current."""

    def check() -> str | None:
        try:
            runtime.db.ping()
        except Exception as exc:  # any driver error means "not ready"
            return f"the database does not answer: {type(exc).__name__}"
        if not migrate.is_current(runtime.db.engine):
            return "the database schema is not current: run `assay init`"
        return None

    reason = await run_in_threadpool(check)
    if reason:
        return problem(
            status=503, slug="not-ready", title="Not ready", detail=reason, instance="/readyz"
        )
    return {"status": "ready", "database": runtime.db.backend}


def install_metrics(app: FastAPI) -> None:
    """Count and time every request, by route template (never by raw path, to bound labels)."""
    registry = CollectorRegistry()
    requests = Counter(
        "assay_http_requests", "HTTP requests", ["method", "route", "status"], registry=registry
    )
    latency = Histogram(
        "assay_http_request_seconds", "HTTP request latency", ["method", "route"], registry=registry
    )

    @app.middleware("http")
    async def measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        template = getattr(route, "path", "unmatched")
        requests.labels(request.method, template, str(response.status_code)).inc()
        latency.labels(request.method, template).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
