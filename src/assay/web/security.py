"""Response headers that keep the UI's pages from being framed, sniffed or injected into."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Only our own scripts and styles: htmx is vendored and configured (base.html) not to
# inject inline styles or evaluate strings, so no 'unsafe-inline' or 'unsafe-eval' is needed.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)

HTML_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    # Pages show what one user may see; a shared browser's back button must not replay them.
    "Cache-Control": "no-store",
}


def add_security_headers(headers: MutableHeaders) -> None:
    """Add the page headers to an HTML response and ``nosniff`` to any other."""
    if headers.get("content-type", "").startswith("text/html"):
        for name, value in HTML_HEADERS.items():
            headers.setdefault(name, value)
    else:
        headers.setdefault("X-Content-Type-Options", "nosniff")


class SecurityHeadersMiddleware:
    """Pure ASGI (not BaseHTTPMiddleware), so streaming and background tasks are untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                add_security_headers(MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, send_with_headers)
