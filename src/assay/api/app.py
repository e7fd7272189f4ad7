"""``create_app(settings)``: the one FastAPI application, built on demand, never at import."""

from __future__ import annotations

from fastapi import FastAPI

import assay
from assay.api import health
from assay.api.problems import install_api_handlers
from assay.clearinghouse import api as clearinghouse_api
from assay.core.config import Settings
from assay.core.jobs import api as jobs_api
from assay.domains import load_job_handlers, load_models
from assay.evals import api as evals_api
from assay.frontier import api as frontier_api
from assay.frontier.gateway import api as gateway_api
from assay.identity import api as identity_api
from assay.runtime import Runtime
from assay.web import app as web_app


def create_app(settings: Settings, *, runtime: Runtime | None = None) -> FastAPI:
    """Build the API, the gateway and the web UI on one runtime."""
    load_models()
    load_job_handlers()
    runtime = runtime or Runtime.build(settings)
    app = FastAPI(
        lifespan=gateway_api.pooled_client,
        title="Assay",
        version=assay.__version__,
        summary="Pre-release review of frontier AI models and an AI cybersecurity clearinghouse.",
    )
    app.state.runtime = runtime
    install_api_handlers(app, html_handler=web_app.render_error_page)
    health.install_metrics(app)
    app.include_router(health.router)
    app.include_router(identity_api.router)
    app.include_router(jobs_api.router)
    app.include_router(frontier_api.router)
    app.include_router(clearinghouse_api.router)
    app.include_router(evals_api.router)
    app.include_router(gateway_api.router)
    web_app.mount(app, runtime)
    return app
