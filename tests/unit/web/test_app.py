"""The UI's wiring: error pages, security headers, static files and the session cookie."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from assay.api.app import create_app
from assay.core.authz import OrgKind
from assay.core.clock import FrozenClock
from assay.core.config import Settings
from assay.runtime import Runtime
from assay.web.app import SESSION_COOKIE
from assay.web.security import CONTENT_SECURITY_POLICY
from tests.factories import make_org, make_user
from tests.unit.web.helpers import log_in


def test_ui_errors_are_html_pages(client: TestClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Error 404" in response.text and 'href="/"' in response.text
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    wrong_method = client.get("/logout")
    assert wrong_method.status_code == 405 and "<main" in wrong_method.text


def test_api_errors_stay_problem_documents(client: TestClient) -> None:
    response = client.get("/api/no-such-thing")
    assert response.headers["content-type"] == "application/problem+json"


def test_an_unexpected_error_is_a_page_with_the_headers(
    settings: Settings, runtime: Runtime
) -> None:
    app = create_app(settings, runtime=runtime)

    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        response = c.get("/boom")
    assert response.status_code == 500
    assert "Internal error" in response.text and "a bug" not in response.text
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_pages_carry_the_security_headers(client: TestClient) -> None:
    headers = client.get("/login").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "unsafe" not in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"


def test_static_files_are_served_from_the_package(client: TestClient) -> None:
    htmx = client.get("/static/htmx.min.js")
    assert htmx.status_code == 200 and "htmx" in htmx.text[:200]
    assert htmx.headers["x-content-type-options"] == "nosniff"
    assert client.get("/static/assay.css").status_code == 200
    licence = Path(__file__).parents[3] / "src/assay/web/static/LICENSE-htmx.txt"
    assert "htmx 2.0.11" in licence.read_text(encoding="utf-8")


def test_pages_load_nothing_from_elsewhere(client: TestClient) -> None:
    page = client.get("/login").text
    assert "http://" not in page and "https://" not in page
    assert '<script src="/static/htmx.min.js' in page


def test_the_session_cookie_is_signed_http_only_and_lax(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    user = make_user(session, clock, make_org(session, clock, OrgKind.AGENCY))
    session.commit()
    response = log_in(client, user)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()
    value = client.cookies[SESSION_COOKIE]
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, value[:-4] + "AAAA")  # a forged signature
    assert client.get("/", follow_redirects=False).status_code == 303
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, value)
    assert client.get("/", follow_redirects=False).status_code == 200


def test_secure_cookies_when_configured(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    secure = settings.model_copy(update={"secure_cookies": True})
    app = create_app(secure, runtime=Runtime.build(secure, db=runtime.db, clock=runtime.clock))
    with TestClient(app, base_url="https://testserver") as c:
        cookie = c.get("/login").headers["set-cookie"]
    assert "; secure" in cookie.lower()
    assert "max-age=28800" in cookie.lower()
