"""A real browser against a real server: log in, see the dashboard, log out, and a CSRF-less
form post refused. Drives Debian's chromium through Playwright (its own download does not
work here)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from assay.api.app import create_app
from assay.core import migrate
from assay.core.authz import OrgKind
from assay.core.clock import SystemClock
from assay.core.config import Settings
from assay.core.db import Database
from assay.identity import service as identity
from assay.identity.models import Organization
from assay.runtime import Runtime
from tests.conftest import TEST_SECRET

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "browser test password"
pytestmark = [pytest.mark.browser, pytest.mark.slow]

if not Path(CHROMIUM).exists():
    if os.environ.get("ASSAY_REQUIRE_BROWSER"):
        raise RuntimeError(f"{CHROMIUM} is missing but ASSAY_REQUIRE_BROWSER is set")
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path, fresh_database_url: str) -> Iterator[tuple[str, Database]]:
    settings = Settings(
        data_dir=tmp_path,
        secret_key=TEST_SECRET,
        job_backend="memory",  # type: ignore[arg-type]
    )
    db = Database.from_url(fresh_database_url)
    migrate.upgrade(db.engine)
    with db.transaction() as session:
        identity.initialize_instance(
            session,
            clock=SystemClock(),
            org_name="AI Cybersecurity Clearinghouse",
            org_kind=OrgKind.CLEARINGHOUSE,
            admin_email="root@example.org",
            admin_password=PASSWORD,
        )
    app = create_app(settings, runtime=Runtime.build(settings, db=db))
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert uv.started, "the server did not start"
    try:
        yield f"http://127.0.0.1:{port}", db
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
        db.dispose()


def test_login_dashboard_logout_and_csrf(server: tuple[str, Database]) -> None:
    from playwright.sync_api import sync_playwright

    base, db = server
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            page = browser.new_page()
            page.goto(base + "/")
            assert page.url.startswith(base + "/login")
            page.fill("#email", "root@example.org")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(base + "/")
            assert "Welcome, Instance administrator" in page.inner_text("h1")
            assert "AI Cybersecurity Clearinghouse" in page.content()

            status = page.evaluate(
                """async () => {
                    const body = new URLSearchParams({name: "Forged Org", kind: "vendor"});
                    const r = await fetch("/admin/orgs", {method: "POST", body});
                    return r.status;
                }"""
            )
            assert status == 403
            with db.transaction() as session:
                names = {o.name for o in session.query(Organization).all()}
            assert "Forged Org" not in names

            page.click("text=Log out")
            page.wait_for_url(base + "/login")
            page.goto(base + "/")
            assert page.url.startswith(base + "/login")
        finally:
            browser.close()
