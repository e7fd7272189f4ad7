"""The demo's evaluations: during the open window, Treasury runs ``assay/vuln_detect`` and
``assay/cyber_misuse`` through the gateway, records a finding, and the review report is
built in HTML, PDF and JSON.

Inspect needs the gateway at a real URL, so the app is served on a free loopback port for
the length of the run; the run itself goes through the job runner in this process, as the
embedded worker would run it. The baseline is the echo stand-in (it answers every prompt
with a fixed sentence), evaluated by a bare ``inspect_ai.eval`` and imported as Inspect
logs: a floor that shows what scores mean nothing, not a reference model.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from inspect_ai import eval as inspect_eval

from assay.api.app import create_app
from assay.core.jobs.queue import NullJobQueue
from assay.core.jobs.runner import run_job
from assay.domains import load_job_handlers
from assay.evals import baselines, runs
from assay.evals.schemas import RunCreate, RunOptions
from assay.frontier import findings
from assay.frontier.models import Domain, Severity
from assay.frontier.schemas import FindingCreate
from assay.frontier.standin import StandinConfig, StandinServer
from assay.identity import service as identity
from assay.reports import FILE_SUFFIXES, render
from assay.reports.collect import build_report
from assay.runtime import Runtime

TASKS = ("assay/vuln_detect", "assay/cyber_misuse")
LIMIT = 40
FLOOR_MODEL = "echo stand-in (not a model; a floor)"
SERVER_START_SECONDS = 15


@dataclass(frozen=True)
class TaskScore:
    task: str
    metric: str
    value: float
    stderr: float | None


@dataclass(frozen=True)
class EvalDemo:
    run_id: str
    state: str
    samples: int
    scores: list[TaskScore]
    finding_id: str
    reports: list[Path]


@contextlib.contextmanager
def serving(runtime: Runtime) -> Iterator[str]:
    """The app (API, gateway, UI) on a free loopback port, in a thread; yields its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(
        create_app(runtime.settings, runtime=runtime),
        log_config=None,
        access_log=False,
        ws="none",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the demo's gateway server did not start")
            time.sleep(0.02)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def run_evals(runtime: Runtime, *, window_id: str, agency_email: str) -> EvalDemo:
    load_job_handlers()
    window = uuid.UUID(window_id)
    with serving(runtime) as url:
        worker_runtime = dataclasses.replace(
            runtime,
            settings=runtime.settings.model_copy(update={"eval_gateway_url": f"{url}/gateway/v1"}),
            job_queue=NullJobQueue(),
        )
        with runtime.db.transaction(write=True) as session:
            agency = identity.actor_for(identity.user_by_email(session, agency_email))
            run = runs.start_run(
                session,
                actor=agency,
                clock=runtime.clock,
                queue=worker_runtime.queue,
                blobs=runtime.blobs,
                data=RunCreate(
                    window_id=window,
                    tasks=list(TASKS),
                    options=RunOptions(limit=LIMIT, max_connections=8),
                ),
            )
            run_id, job_id = run.id, run.job_id
        assert job_id is not None
        run_job(worker_runtime, job_id)
    floor_logs = _floor_logs(runtime.settings.data_dir / "evals" / "floor")
    with runtime.db.transaction(write=True) as session:
        agency = identity.actor_for(identity.user_by_email(session, agency_email))
        baselines.import_baseline(
            session,
            actor=agency,
            clock=runtime.clock,
            blobs=runtime.blobs,
            reference_model=FLOOR_MODEL,
            log_paths=floor_logs,
        )
        done = runs.get_run(session, actor=agency, run_id=run_id)
        scores = [
            TaskScore(r.task, m.metric, m.value, m.stderr) for r in done.results for m in r.metrics
        ]
        finding = findings.record_finding(
            session,
            actor=agency,
            clock=runtime.clock,
            data=FindingCreate(
                window_id=window,
                domain=Domain.CYBER,
                severity=Severity.MEDIUM,
                title="Complies with some harmful cyber requests",
                description=_finding_text(scores),
                evidence=[f"eval run {run_id}"],
            ),
        )
        finding_id = str(finding.id)
        state, samples = done.state.value, done.samples_done
    reports = _reports(runtime, window=window, agency_email=agency_email)
    return EvalDemo(
        run_id=str(run_id),
        state=state,
        samples=samples,
        scores=scores,
        finding_id=finding_id,
        reports=reports,
    )


def _finding_text(scores: list[TaskScore]) -> str:
    rates = {s.metric: s.value for s in scores if s.task == "assay/cyber_misuse"}
    compliance = rates.get("compliance_rate")
    if compliance is None:
        return "The cyber_misuse run produced no compliance rate; see the run's log."
    return (
        f"On assay/cyber_misuse the model complied with {compliance:.0%} of harmful requests "
        "(stated intent only; no working attack content in the prompts). Transcripts are in "
        "the run's Inspect log."
    )


def _floor_logs(log_dir: Path) -> list[Path]:
    """The echo stand-in's scores on the same tasks, by a bare ``inspect_ai.eval``."""
    key = secrets.token_urlsafe(16)
    saved = os.environ.get("FLOOR_API_KEY")
    os.environ["FLOOR_API_KEY"] = key
    try:
        with (
            StandinServer(StandinConfig(api_key=key)) as floor,
            contextlib.redirect_stdout(sys.stderr),
        ):
            done = inspect_eval(
                list(TASKS),
                model=f"openai-api/floor/{floor.config.model}",
                model_base_url=floor.base_url,
                limit=LIMIT,
                max_connections=8,
                log_dir=str(log_dir),
                display="none",
            )
    finally:
        if saved is None:
            os.environ.pop("FLOOR_API_KEY", None)
        else:
            os.environ["FLOOR_API_KEY"] = saved
    return [Path(log.location.removeprefix("file://").removeprefix("file:")) for log in done]


def _reports(runtime: Runtime, *, window: uuid.UUID, agency_email: str) -> list[Path]:
    folder = runtime.settings.data_dir / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    with runtime.db.transaction() as session:
        agency = identity.actor_for(identity.user_by_email(session, agency_email))
        report = build_report(session, actor=agency, clock=runtime.clock, window_id=window)
    written = []
    for fmt in ("html", "pdf", "json"):
        path = folder / f"review-{window}{FILE_SUFFIXES[fmt]}"
        path.write_bytes(render(report, fmt))
        written.append(path)
    return written
