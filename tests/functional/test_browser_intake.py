"""A real browser on the clearinghouse pages: an analyst logs in, uploads a real SARIF file
through the intake form, sees the result, opens the triage queue, finds the new ASSAY ids
there, and follows one to its cluster.

Reuses test_browser.py's live server (uvicorn in a thread on a fresh SQLite or PostgreSQL
database) and its chromium settings. The analyst is made through the services.
"""

from __future__ import annotations

import os
import re
from typing import NamedTuple

import pytest
from sqlalchemy import select

from assay.clearinghouse.models import ReportedFinding, Submission, SubmissionStatus, Tlp
from assay.core.authz import OrgKind, Role
from assay.core.clock import SystemClock
from assay.core.db import Database
from tests.factories import PASSWORD, make_org, make_user
from tests.functional import test_browser as browser_test
from tests.functional.test_browser import CHROMIUM, CHROMIUM_ARGS, LiveServer
from tests.shared_data import SHARED_DATA

pytestmark = pytest.mark.browser

# The server and its fresh database, as test_browser.py starts them.
live_server = browser_test.live_server

REPORT = SHARED_DATA / "sarif" / "njsscan.sarif"
RESULTS = 2  # njsscan.sarif holds two results, each its own vulnerability
_ASSAY_ID = re.compile(r"^ASSAY-\d{4}-\d{5}$")


class Seeded(NamedTuple):
    email: str
    org_name: str


def _seed(db: Database) -> Seeded:
    """A clearinghouse organization with one analyst (a member, not an administrator)."""
    clock = SystemClock()
    with db.transaction(write=True) as session:
        org = make_org(session, clock, OrgKind.CLEARINGHOUSE, name="Clearinghouse Triage Desk")
        analyst = make_user(session, clock, org, Role.MEMBER)
        return Seeded(analyst.email, org.name)


def _stored(db: Database) -> tuple[list[Submission], int]:
    with db.transaction() as session:
        submissions = list(session.scalars(select(Submission)))
        findings = len(list(session.scalars(select(ReportedFinding.id))))
        return submissions, findings


def test_an_analyst_uploads_a_sarif_file_and_sees_it_in_the_queue(
    live_server: LiveServer,
) -> None:
    if not CHROMIUM.exists():
        if os.environ.get("ASSAY_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing and ASSAY_REQUIRE_BROWSER is set")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    if not REPORT.exists():
        pytest.skip(f"shared data missing: {REPORT}")
    from playwright.sync_api import expect, sync_playwright

    seeded = _seed(live_server.db)
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
            page.on("pageerror", lambda error: console.append(str(error)))

            # Logging in from the queue's link comes back to the queue, empty so far.
            page.goto(base + "/clearinghouse/queue")
            assert page.url == base + "/login?next=%2Fclearinghouse%2Fqueue"
            page.get_by_label("E-mail").fill(seeded.email)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(base + "/clearinghouse/queue")
            assert seeded.org_name in page.get_by_test_id("who").inner_text()
            queue = page.get_by_test_id("queue")
            expect(queue.locator("tbody tr")).to_have_text(["Nothing in the queue you may see."])

            # Upload through the form: the file picker, a TLP label, how it was found.
            nav = page.get_by_role("navigation", name="Main")
            nav.get_by_role("link", name="Report intake").click()
            page.wait_for_url(base + "/clearinghouse/intake")
            expect(page.get_by_role("heading", name="Report intake", exact=True)).to_be_visible()
            page.get_by_label("File").set_input_files(REPORT)
            page.get_by_label("TLP label").select_option("GREEN")
            page.get_by_label("Found by").select_option("automated")
            page.get_by_label("Tool or model (optional)").fill("njsscan 0.2.3")
            page.get_by_role("button", name="Submit").click()
            result = page.get_by_test_id("intake-result")
            expect(result).to_contain_text(f"sarif: {RESULTS} findings, {RESULTS} new")
            links = result.get_by_role("link")
            expect(links).to_have_count(RESULTS)
            new_ids = links.all_inner_texts()
            assert all(_ASSAY_ID.match(ref) for ref in new_ids), new_ids
            listed = page.get_by_test_id("submissions").locator("tbody tr")
            expect(listed).to_have_count(1)
            expect(listed).to_contain_text(["njsscan.sarif accepted sarif"])
            [submission], findings = _stored(live_server.db)
            assert submission.status == SubmissionStatus.ACCEPTED and submission.tlp == Tlp.GREEN
            assert submission.discovery_tool == "njsscan 0.2.3" and findings == RESULTS

            # The triage queue now lists the new ids; one leads to its cluster.
            nav.get_by_role("link", name="Triage queue").click()
            page.wait_for_url(base + "/clearinghouse/queue")
            rows = page.get_by_test_id("queue").locator("tbody tr")
            expect(rows).to_have_count(RESULTS)
            for ref in new_ids:
                expect(rows.filter(has=page.get_by_role("link", name=ref))).to_have_count(1)
            first = new_ids[0]
            page.get_by_test_id("queue").get_by_role("link", name=first).click()
            page.wait_for_url(base + f"/clearinghouse/vulnerabilities/{first}")
            expect(page.get_by_role("heading", level=1)).to_contain_text(first)
            cluster = page.get_by_test_id("cluster").locator("tbody tr")
            expect(cluster).to_have_count(1)
            expect(cluster).to_contain_text(["first report"])
            expect(cluster.locator("td").nth(2)).to_contain_text("index.js")
            expect(cluster.locator("td").last).to_have_text("GREEN")
            assert console == [], console  # no CSP violation, no script error
        finally:
            browser.close()
