"""A real browser against a real server: log in, see the dashboard, use an htmx form, log
out, and have a form post without a CSRF token refused.

Drives Debian's chromium (``/usr/bin/chromium``) through Playwright's sync API; Playwright's
own browser download is not used. The server is uvicorn in a thread, on a fresh database
(SQLite, or PostgreSQL when ASSAY_TEST_DATABASE_URL is set).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
import uvicorn
from sqlalchemy import select

from assay.api.app import create_app
from assay.core import migrate
from assay.core.authz import OrgKind
from assay.core.clock import SystemClock
from assay.core.config import Settings
from assay.core.db import Database
from assay.domains import load_models
from assay.identity import service as identity
from assay.identity.models import Organization
from assay.runtime import Runtime
from tests.conftest import TEST_SECRET
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ADMIN_EMAIL = "root@clearinghouse.example"
ORG_NAME = "AI Cybersecurity Clearinghouse"


class LiveServer(NamedTuple):
    url: str
    db: Database


@pytest.fixture
def live_server(tmp_path: Path, fresh_database_url: str) -> Iterator[LiveServer]:
    load_models()
    seed = Database.from_url(fresh_database_url)
    migrate.upgrade(seed.engine)
    with seed.transaction(write=True) as session:
        identity.initialize_instance(
            session,
            clock=SystemClock(),
            org_name=ORG_NAME,
            org_kind=OrgKind.CLEARINGHOUSE,
            admin_email=ADMIN_EMAIL,
            admin_password=PASSWORD,
        )
    settings = Settings(
        data_dir=tmp_path / "data",
        secret_key=TEST_SECRET,  # type: ignore[arg-type]
        database_url=fresh_database_url,
        job_backend="memory",
    )
    db = Database.from_url(fresh_database_url)
    app = create_app(settings, runtime=Runtime.build(settings, db=db, clock=SystemClock()))
    # Bind first and hand uvicorn the socket: no race for a "free" port.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_config=None, access_log=False, ws="none", http="h11", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        yield LiveServer(f"http://127.0.0.1:{port}", seed)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        db.dispose()
        seed.dispose()


def _org_names(db: Database) -> set[str]:
    with db.transaction() as session:
        return set(session.scalars(select(Organization.name)))


def test_login_dashboard_htmx_form_logout_and_csrf(live_server: LiveServer) -> None:
    if not CHROMIUM.exists():
        if os.environ.get("ASSAY_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing and ASSAY_REQUIRE_BROWSER is set")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    base = live_server.url
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(5000)
            console: list[str] = []
            page.on("console", lambda message: console.append(message.text))

            page.goto(base + "/")
            assert page.url == base + "/login"
            page.get_by_label("E-mail").fill(ADMIN_EMAIL)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(base + "/")
            who = page.get_by_test_id("who").inner_text()
            assert "Instance administrator" in who and ORG_NAME in who
            assert page.get_by_role("heading", name="Dashboard").is_visible()

            # The htmx form: posted by XHR with the CSRF token, the page's <main> swapped.
            nav = page.get_by_role("navigation", name="Main")
            nav.get_by_role("link", name="Organizations").click()
            page.wait_for_url(base + "/admin/orgs")
            page.get_by_label("Name").fill("Riverside Water Authority")
            page.get_by_label("Kind").select_option("operator")
            posted = page.expect_request(lambda r: r.method == "POST" and "/admin/orgs" in r.url)
            with posted as request:
                page.get_by_role("button", name="Register").click()
            assert request.value.headers.get("hx-request") == "true"
            page.get_by_text("Organization Riverside Water Authority created.").wait_for()
            assert page.url == base + "/admin/orgs"
            assert "Riverside Water Authority" in _org_names(live_server.db)

            # Logged in, but without the token: refused, and nothing is written.
            refused = page.request.post(
                base + "/admin/orgs", form={"name": "Forged Org", "kind": "vendor"}
            )
            assert refused.status == 403
            status = page.evaluate(
                """async () => {
                    const body = new URLSearchParams({name: "Forged Org", kind: "vendor"});
                    return (await fetch("/admin/orgs", {method: "POST", body})).status;
                }"""
            )
            assert status == 403
            assert "Forged Org" not in _org_names(live_server.db)

            page.get_by_role("button", name="Log out").click()
            page.wait_for_url(base + "/login")
            page.goto(base + "/admin/orgs")
            assert page.url.startswith(base + "/login?next=")
            # Only the refused fetch may complain: no CSP violation, no script error.
            assert all("403" in m for m in console), console
        finally:
            browser.close()
