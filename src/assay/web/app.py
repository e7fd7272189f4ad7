"""The web UI's wiring: middleware, static files, routes, and the HTML error page."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.middleware.sessions import SessionMiddleware
from starlette.staticfiles import StaticFiles

from assay.core.crypto import signing_key
from assay.runtime import Runtime
from assay.web import admin, auth, clearinghouse, evals, review
from assay.web.security import SecurityHeadersMiddleware, add_security_headers
from assay.web.session import LoginRequired
from assay.web.templating import render

STATIC_DIR = Path(__file__).parent / "static"
SESSION_COOKIE = "assay_session"


def render_error_page(request: Request, status: int, title: str, detail: str) -> Response:
    """A readable page for an error on a UI route, with a link home."""
    context = {"status": status, "title": title, "detail": detail}
    response = render(request, "error.html", context, status=status)
    # A 500 is answered outside the middleware stack, so the headers are set here too.
    add_security_headers(response.headers)
    return response


async def _redirect_to_login(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    target = "/login" if exc.next_path == "/" else "/login?" + urlencode({"next": exc.next_path})
    if request.headers.get("HX-Request"):
        # htmx follows a 303 inside its XHR and would paste the login form into the page.
        return Response(status_code=200, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def mount(app: FastAPI, runtime: Runtime) -> None:
    """Add the UI to ``app``: signed-cookie sessions, security headers, /static and the pages."""
    settings = runtime.settings
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(
        SessionMiddleware,
        secret_key=signing_key(runtime.secret_key),
        session_cookie=SESSION_COOKIE,
        max_age=settings.session_max_age_seconds,
        https_only=settings.secure_cookies,
        same_site="lax",
    )
    app.add_exception_handler(LoginRequired, _redirect_to_login)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(auth.router)
    app.include_router(admin.router)
    app.include_router(review.router)
    app.include_router(evals.router)
    app.include_router(clearinghouse.router)
