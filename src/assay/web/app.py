"""Mounting the web UI on the app: sessions, static files, security headers, error pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from assay.core.crypto import signing_key
from assay.runtime import Runtime
from assay.web import views
from assay.web.session import LoginRequired, login_url

STATIC = Path(__file__).parent / "static"
SESSION_COOKIE = "assay_session"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


def render_error_page(request: Request, status: int, title: str, detail: str) -> Response:
    """A readable page for an error on a browser route."""
    context: dict[str, object] = {
        "actor": None,
        "nav": [],
        "csrf": "",
        "status": status,
        "title": title,
        "detail": detail,
    }
    return views.templates.TemplateResponse(request, "error.html", context, status_code=status)


def mount(app: FastAPI, runtime: Runtime) -> None:
    """Add the UI's routes, static files and middleware to ``app``."""
    settings = runtime.settings
    app.add_middleware(
        SessionMiddleware,
        secret_key=signing_key(runtime.secret_key),
        session_cookie=SESSION_COOKIE,
        max_age=settings.session_max_age_seconds,
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(views.router)

    async def on_login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return RedirectResponse(login_url(exc.next_path), status_code=303)

    app.add_exception_handler(LoginRequired, on_login_required)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        if response.headers.get("content-type", "").startswith("text/html"):
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
        return response
