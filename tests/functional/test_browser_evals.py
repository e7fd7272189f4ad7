"""A real browser starts an eval run and watches it finish: an agency user opens the window
page, ticks ``assay/vuln_detect``, sets a limit of 6, submits, and on the run page sees the
progress bar move (run-progress.js polling, under the page's CSP) and reach 100%, then the
state ``succeeded`` with the metrics.

The whole path is real: uvicorn serves the app on loopback, a job worker (huey on SQLite,
in this process) takes the job, Inspect calls the gateway of the same server, and the
gateway calls the stand-in model server, which answers slowly enough for the progress to
be seen moving. Nothing leaves loopback.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import NamedTuple

import pytest
import uvicorn

from assay.api.app import create_app
from assay.core import migrate
from assay.core.authz import OrgKind, Role
from assay.core.blobs import FolderBlobStore
from assay.core.clock import SystemClock
from assay.core.config import Settings
from assay.core.crypto import SecretBox
from assay.core.db import Database
from assay.core.jobs.worker import Worker
from assay.domains import load_job_handlers, load_models
from assay.evals.standin_policy import suites_responder
from assay.frontier import agreements, catalog, windows
from assay.frontier.models import Domain
from assay.frontier.schemas import AgreementCreate, ModelCreate
from assay.frontier.standin import StandinConfig, StandinServer
from assay.runtime import Runtime
from tests.conftest import TEST_SECRET
from tests.factories import PASSWORD, actor, make_org, make_user
from tests.functional.test_browser import CHROMIUM, CHROMIUM_ARGS
from tests.unit.evals.standin_run import only_loopback

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    # inspect_ai's dependencies warn about their own deprecations; not this code's to fix.
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

STANDIN_KEY = "sk-standin-browser-evals-3d9f"
MODEL_NAME = "Meridian"
SAMPLES = 6
DELAY_SECONDS = 0.3
"""The stand-in's latency per call: with one connection, the six samples take about 2 s,
longer than the page's 1 s poll, so the bar is seen between 0 and 100%."""


class LiveEvals(NamedTuple):
    url: str
    agency_email: str
    window_id: uuid.UUID


def _seed(db: Database, box: SecretBox, upstream: StandinServer, model_id: str) -> LiveEvals:
    """A developer and an agency, a model served by the stand-in, an open window."""
    clock = SystemClock()
    with db.transaction(write=True) as session:
        developer = make_org(session, clock, OrgKind.DEVELOPER)
        agency = make_org(session, clock, OrgKind.AGENCY)
        dev = actor(make_user(session, clock, developer, Role.MEMBER))
        agency_user = make_user(session, clock, agency, Role.MEMBER)
        model = catalog.register_model(
            session, actor=dev, clock=clock, box=box,
            data=ModelCreate.model_validate(
                {"name": MODEL_NAME, "version": "2.0", "training_flop": 3e26,
                 "planned_release_at": clock.now() + timedelta(days=60),
                 "endpoint_url": upstream.base_url, "endpoint_model": model_id,
                 "api_key": STANDIN_KEY}
            ),
        )  # fmt: skip
        agreement = agreements.propose(
            session, actor=dev, clock=clock,
            data=AgreementCreate(
                model_id=model.id, agencies=[agency.id], domains=[Domain.CYBER], review_days=10
            ),
        )  # fmt: skip
        agreements.decide(
            session, actor=actor(agency_user), clock=clock, agreement_id=agreement.id, accept=True
        )
        window = windows.open_window(session, actor=dev, clock=clock, agreement_id=agreement.id)
        return LiveEvals("", agency_user.email, window.id)


@pytest.fixture
def live(
    tmp_path: Path, fresh_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LiveEvals]:
    only_loopback(monkeypatch, tmp_path)
    load_models()
    load_job_handlers()
    db = Database.from_url(fresh_database_url)
    migrate.upgrade(db.engine)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = Settings(
        data_dir=tmp_path / "data",
        secret_key=TEST_SECRET,  # type: ignore[arg-type]
        database_url=fresh_database_url,
        job_backend="sqlite",  # a real queue: the run goes on in a worker, not in the request
        public_url=url,  # the worker's Inspect reaches the gateway of this server
        eval_poll_seconds=0.1,
        worker_threads=1,
    )
    runtime = Runtime.build(
        settings, db=db, clock=SystemClock(), blobs=FolderBlobStore(tmp_path / "blobs")
    )
    standin = StandinConfig(
        api_key=STANDIN_KEY, responder=suites_responder(), delay_seconds=DELAY_SECONDS
    )
    with StandinServer(standin) as upstream:
        seeded = _seed(db, runtime.box, upstream, standin.model)
        worker = Worker(runtime, threads=1, grace_seconds=5)
        runtime.job_queue = worker.queue  # the web pushes to the queue the worker consumes
        worker.start()
        app = create_app(settings, runtime=runtime)
        config = uvicorn.Config(
            app, log_config=None, access_log=False, ws="none", timeout_graceful_shutdown=2
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 10
            while not server.started:
                assert thread.is_alive() and time.monotonic() < deadline, "no server"
                time.sleep(0.02)
            yield seeded._replace(url=url)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            worker.stop()
            sock.close()
            db.dispose()


def test_an_agency_user_starts_a_run_and_sees_progress_reach_100(live: LiveEvals) -> None:
    if not CHROMIUM.exists():
        if os.environ.get("ASSAY_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing and ASSAY_REQUIRE_BROWSER is set")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    base = live.url
    window_page = f"{base}/review/windows/{live.window_id}"
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

            page.goto(window_page)
            page.get_by_label("E-mail").fill(live.agency_email)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(window_page)
            expect(page.get_by_role("heading", name="Evaluation runs")).to_be_visible()
            expect(page.get_by_test_id("runs")).to_contain_text("No runs you may see.")

            form = page.get_by_test_id("start-run")
            form.get_by_label("assay/vuln_detect").check()
            form.get_by_label("Samples per task").fill(str(SAMPLES))
            # One call at a time, so that the samples finish one by one.
            form.get_by_label("Concurrent model calls").fill("1")
            form.get_by_role("button", name="Start the run").click()
            page.wait_for_url(re.compile(re.escape(base) + r"/review/runs/[0-9a-f-]{36}$"))
            expect(page.get_by_role("status")).to_have_text(re.compile("^Run queued"))

            words = page.get_by_test_id("progress-text")
            bar = page.get_by_test_id("progress-bar")
            # Between 0 and 100%: the script moves the bar while the run goes.
            expect(words).to_have_text(
                re.compile(rf"^[1-{SAMPLES - 1}] of {SAMPLES} samples \(\d\d?%\)$"),
                timeout=20_000,
            )
            expect(bar).to_have_attribute("value", re.compile(rf"^[1-{SAMPLES}]$"))
            expect(bar).to_have_attribute("max", str(SAMPLES))
            expect(words).to_have_text(f"{SAMPLES} of {SAMPLES} samples (100%)", timeout=15_000)
            # At a final state the page reloads to show the results.
            expect(page.get_by_test_id("run-state")).to_have_text("succeeded", timeout=10_000)
            metrics = page.get_by_test_id("metrics")
            expect(metrics).to_contain_text("cwe_accuracy", timeout=10_000)
            expect(metrics).to_contain_text("±")
            expect(page.get_by_test_id("log-sha256")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
            expect(page.get_by_test_id("samples").get_by_role("link")).to_have_count(SAMPLES)

            # A sample's transcript, rendered by the UI from the stored log.
            page.get_by_test_id("samples").get_by_role("link").first.click()
            expect(page.get_by_role("heading", name="Model output")).to_be_visible()
            expect(page.get_by_test_id("output")).to_contain_text("ANSWER")
            # No CSP violation and no script error on any page.
            assert console == [], console
        finally:
            browser.close()
