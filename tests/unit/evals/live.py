"""A live review for eval-run tests: a fresh database, the stand-in on loopback, the app
(gateway included) served by uvicorn in a thread, a developer, an agency and an open window.

The server, the job runner and the test share one ``FrozenClock`` set to the real time, so a
test can move the window's close past "now" while a run is going, without sleeping.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import uvicorn
from sqlalchemy import func, select

from assay.api.app import create_app
from assay.core import migrate
from assay.core.authz import Actor, OrgKind, Role
from assay.core.blobs import FolderBlobStore
from assay.core.clock import FrozenClock, SystemClock
from assay.core.config import Settings
from assay.core.db import Database
from assay.core.jobs.queue import NullJobQueue
from assay.core.jobs.runner import RunOutcome, run_job
from assay.domains import load_job_handlers, load_models
from assay.evals import runs
from assay.evals.models import EvalRun
from assay.evals.schemas import RunCreate, RunOptions
from assay.frontier import agreements, catalog, windows
from assay.frontier.models import Domain, GatewayCall
from assay.frontier.schemas import AgreementCreate, ModelCreate
from assay.frontier.standin import StandinConfig, StandinServer
from assay.runtime import Runtime
from tests.conftest import TEST_SECRET
from tests.factories import actor, make_org, make_user

STANDIN_KEY = "sk-standin-live-5b1e"
MODEL_NAME = "Meridian"


@dataclass
class LiveReview:
    url: str
    settings: Settings
    runtime: Runtime
    clock: FrozenClock
    standin: StandinConfig
    agency: Actor
    developer: Actor
    outsider: Actor
    window_id: uuid.UUID

    def start(self, tasks: list[str], **options: object) -> uuid.UUID:
        with self.runtime.db.transaction(write=True) as session:
            run = runs.start_run(
                session,
                actor=self.agency,
                clock=self.clock,
                queue=self.runtime.queue,
                blobs=self.runtime.blobs,
                data=RunCreate(
                    window_id=self.window_id,
                    tasks=tasks,
                    options=RunOptions.model_validate(options),
                ),
            )
            return run.id

    def job_of(self, run_id: uuid.UUID) -> uuid.UUID:
        with self.runtime.db.transaction() as session:
            run = session.get(EvalRun, run_id)
            assert run is not None and run.job_id is not None
            return run.job_id

    def run_job(self, run_id: uuid.UUID) -> RunOutcome:
        return run_job(self.runtime, self.job_of(run_id))

    def run(self, run_id: uuid.UUID) -> EvalRun:
        with self.runtime.db.transaction() as session:
            run = session.get(EvalRun, run_id)
            assert run is not None
            for result in run.results:
                _ = result.metrics
            session.expunge_all()
            return run

    def gateway_calls(self) -> int:
        with self.runtime.db.transaction() as session:
            return session.scalar(select(func.count()).select_from(GatewayCall)) or 0

    def wait_for_samples(self, run_id: uuid.UUID, at_least: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.run(run_id).samples_done < at_least:
            assert time.monotonic() < deadline, f"fewer than {at_least} samples in {timeout} s"
            time.sleep(0.05)


@contextmanager
def live_review(
    tmp_path: Path, database_url: str, *, review_days: int = 10
) -> Iterator[LiveReview]:
    load_models()
    load_job_handlers()
    db = Database.from_url(database_url)
    migrate.upgrade(db.engine)
    clock = FrozenClock(SystemClock().now())
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    settings = Settings(
        data_dir=tmp_path / "data",
        secret_key=TEST_SECRET,  # type: ignore[arg-type]
        database_url=database_url,
        job_backend="memory",
        public_url=url,
        eval_poll_seconds=0.05,
    )
    runtime = Runtime.build(settings, db=db, clock=clock, blobs=FolderBlobStore(tmp_path / "blobs"))
    runtime.job_queue = NullJobQueue()  # the tests run each job themselves, in their thread
    standin = StandinConfig(api_key=STANDIN_KEY)
    stack = ExitStack()
    upstream = stack.enter_context(StandinServer(standin))
    with db.transaction(write=True) as session:
        developer = make_org(session, clock, OrgKind.DEVELOPER)
        agency = make_org(session, clock, OrgKind.AGENCY)
        outsider = make_org(session, clock, OrgKind.AGENCY)
        dev = actor(make_user(session, clock, developer, Role.MEMBER))
        agency_actor = actor(make_user(session, clock, agency, Role.MEMBER))
        outsider_actor = actor(make_user(session, clock, outsider, Role.MEMBER))
        model = catalog.register_model(
            session, actor=dev, clock=clock, box=runtime.box,
            data=ModelCreate.model_validate(
                {"name": MODEL_NAME, "version": "2.0", "training_flop": 3e26,
                 "planned_release_at": clock.now() + timedelta(days=60),
                 "endpoint_url": upstream.base_url, "endpoint_model": standin.model,
                 "api_key": STANDIN_KEY}
            ),
        )  # fmt: skip
        agreement = agreements.propose(
            session, actor=dev, clock=clock,
            data=AgreementCreate(
                model_id=model.id, agencies=[agency.id], domains=[Domain.CYBER],
                review_days=review_days,
            ),
        )  # fmt: skip
        agreements.decide(
            session, actor=agency_actor, clock=clock, agreement_id=agreement.id, accept=True
        )
        window = windows.open_window(session, actor=dev, clock=clock, agreement_id=agreement.id)
        window_id = window.id
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
            assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        yield LiveReview(
            url=url, settings=settings, runtime=runtime, clock=clock, standin=standin,
            agency=agency_actor, developer=dev, outsider=outsider_actor, window_id=window_id,
        )  # fmt: skip
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        stack.close()
        db.engine.dispose()
