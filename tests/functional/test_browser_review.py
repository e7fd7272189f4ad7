"""A real browser on the review pages: an agency user logs in, sees the window's countdown
tick (countdown.js, under the page's CSP) and follows it to the window's page.

Reuses test_browser.py's live server (uvicorn in a thread on a fresh SQLite or PostgreSQL
database) and its chromium settings. The data is made through the services with the real
clock, since the server reads the real clock.
"""

from __future__ import annotations

import os
import re
import uuid
from datetime import timedelta
from typing import NamedTuple

import pytest

from assay.core.authz import OrgKind, Role
from assay.core.clock import SystemClock
from assay.core.crypto import SecretBox
from assay.core.db import Database
from assay.frontier import agreements, catalog, windows
from assay.frontier.models import Domain
from assay.frontier.schemas import AgreementCreate, ModelCreate
from tests.conftest import TEST_SECRET
from tests.factories import PASSWORD, actor, make_org, make_user
from tests.functional import test_browser as browser_test
from tests.functional.test_browser import CHROMIUM, CHROMIUM_ARGS, LiveServer

pytestmark = pytest.mark.browser

# The server and its fresh database, as test_browser.py starts them.
live_server = browser_test.live_server

MODEL_NAME = "Meridian"
REVIEW_DAYS = 10
_COUNTDOWN_TEXT = re.compile(r"^(\d+)d (\d\d):(\d\d):(\d\d)$")


class Seeded(NamedTuple):
    agency_email: str
    window_id: uuid.UUID


def _seed(db: Database) -> Seeded:
    """A developer and an agency, a model, an agreement both accepted, an open window."""
    clock = SystemClock()
    with db.transaction(write=True) as session:
        developer = make_org(session, clock, OrgKind.DEVELOPER)
        agency = make_org(session, clock, OrgKind.AGENCY)
        dev = actor(make_user(session, clock, developer, Role.MEMBER))
        agency_user = make_user(session, clock, agency, Role.MEMBER)
        model = catalog.register_model(
            session, actor=dev, clock=clock, box=SecretBox(TEST_SECRET),
            data=ModelCreate.model_validate(
                {"name": MODEL_NAME, "version": "2.0", "training_flop": 3e26,
                 "planned_release_at": clock.now() + timedelta(days=60)}
            ),
        )  # fmt: skip
        agreement = agreements.propose(
            session, actor=dev, clock=clock,
            data=AgreementCreate(
                model_id=model.id, agencies=[agency.id], domains=[Domain.CYBER],
                review_days=REVIEW_DAYS,
            ),
        )  # fmt: skip
        agreements.decide(
            session, actor=actor(agency_user), clock=clock, agreement_id=agreement.id, accept=True
        )
        window = windows.open_window(session, actor=dev, clock=clock, agreement_id=agreement.id)
        return Seeded(agency_user.email, window.id)


def _seconds(text: str) -> int:
    found = _COUNTDOWN_TEXT.match(text.strip())
    assert found, f"not a countdown: {text!r}"
    days, hours, minutes, seconds = (int(g) for g in found.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def test_an_agency_user_sees_the_window_countdown_tick(live_server: LiveServer) -> None:
    if not CHROMIUM.exists():
        if os.environ.get("ASSAY_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing and ASSAY_REQUIRE_BROWSER is set")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    seeded = _seed(live_server.db)
    base = live_server.url
    full = REVIEW_DAYS * 86400
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(5000)
            console: list[str] = []
            page.on("console", lambda message: console.append(message.text))
            page.on("pageerror", lambda error: console.append(str(error)))

            page.goto(base + "/review/windows")
            assert page.url == base + "/login?next=%2Freview%2Fwindows"
            page.get_by_label("E-mail").fill(seeded.agency_email)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(base + "/review/windows")
            assert page.get_by_role("heading", name="Review windows").is_visible()

            row = page.get_by_role("row").filter(has_text=MODEL_NAME)
            expect(row).to_have_count(1)
            expect(row.locator(".state")).to_have_text("open")
            countdown = row.get_by_test_id("countdown")
            expect(countdown).to_be_visible()
            first = countdown.inner_text()
            served = int(countdown.get_attribute("data-seconds-left") or "-1")
            assert full - 60 < served <= full
            assert served - 2 <= _seconds(first) <= served
            # countdown.js ticks once a second: the text moves on, downwards.
            expect(countdown).not_to_have_text(first, timeout=2500)
            assert _seconds(first) - 3 <= _seconds(countdown.inner_text()) < _seconds(first)

            row.get_by_role("link", name=f"{MODEL_NAME} 2.0").click()
            page.wait_for_url(base + f"/review/windows/{seeded.window_id}")
            heading = f"Review window: {MODEL_NAME} 2.0"
            expect(page.get_by_role("heading", name=heading)).to_be_visible()
            expect(page.get_by_test_id("window-state")).to_have_text("open")
            on_page = page.get_by_test_id("countdown")
            expect(on_page).to_be_visible()
            assert full - 60 < _seconds(on_page.inner_text()) <= full
            # No CSP violation and no script error on either page.
            assert console == [], console
        finally:
            browser.close()
