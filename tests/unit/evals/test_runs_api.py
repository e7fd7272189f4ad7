"""Every evals endpoint: one allowed caller and one refused caller, over HTTP; and the
service rules behind them (the window check, visibility, cancel, resume, baselines)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.core.audit import AuditEvent
from assay.core.clock import FrozenClock
from assay.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from assay.core.jobs.models import Job
from assay.core.jobs.queue import NullJobQueue
from assay.evals import runs
from assay.evals.models import EvalMetric, EvalRun, EvalTaskResult, RunState
from assay.evals.schemas import RunCreate
from assay.frontier.models import ReviewWindow
from assay.reports.collect import build_report
from assay.runtime import Runtime
from tests.factories import bearer, make_instance_admin
from tests.frontier_factories import Scenario, make_scenario

TASK = "assay/vuln_detect"


def start(s: Scenario, runtime: Runtime, window: ReviewWindow, who: Any = None) -> EvalRun:
    return runs.start_run(
        s.session,
        actor=who or s.a,
        clock=s.clock,
        queue=runtime.queue,
        blobs=runtime.blobs,
        data=RunCreate(window_id=window.id, tasks=[TASK]),
    )


def finish(s: Scenario, runtime: Runtime, run: EvalRun, value: float = 0.6) -> EvalRun:
    """What the executor leaves after a successful run: a stored log and its metrics."""
    digest = runtime.blobs.put(b"PK\x03\x04 an inspect log " + run.id.bytes)
    result = EvalTaskResult(
        id=uuid.uuid4(), run_id=run.id, position=0, task=TASK, status="success",
        log_digest=digest, log_name="x_vuln-detect.eval", samples_total=10,
        samples_completed=10, input_tokens=100, output_tokens=20,
    )  # fmt: skip
    result.metrics = [
        EvalMetric(id=uuid.uuid4(), result_id=result.id, position=0, scorer="vuln_detect_scorer",
                   metric="cwe_accuracy", value=value, stderr=0.1),
    ]  # fmt: skip
    run.results = [result]
    run.state = RunState.SUCCEEDED
    run.samples_done = run.samples_total = 10
    run.finished_at = s.clock.now()
    s.session.flush()
    return run


@pytest.fixture
def scenario(session: Session, clock: FrozenClock, runtime: Runtime) -> Scenario:
    return make_scenario(session, clock, runtime.box)


@pytest.fixture
def queue(runtime: Runtime) -> NullJobQueue:
    runtime.job_queue = NullJobQueue()
    return runtime.job_queue


@dataclass
class World:
    s: Scenario
    headers: dict[str, dict[str, str]]
    ids: dict[str, str]


@pytest.fixture
def world(scenario: Scenario, runtime: Runtime, queue: NullJobQueue) -> World:
    s = scenario
    window = s.open_window(days=10)
    queued = start(s, runtime, window)
    done = finish(s, runtime, start(s, runtime, window))
    cancelled = start(s, runtime, window)
    cancelled.state = RunState.CANCELLED
    admin = make_instance_admin(s.session, s.clock)
    users = {
        "dev": s.dev_user, "a": s.agency_a_user, "b": s.agency_b_user,
        "outsider": s.outsider_agency_user, "other_dev": s.other_dev_user, "admin": admin,
    }  # fmt: skip
    headers = {k: bearer(s.session, s.clock, u) for k, u in users.items()}
    ids = {
        "window": str(window.id), "queued": str(queued.id), "done": str(done.id),
        "cancelled": str(cancelled.id),
    }  # fmt: skip
    s.session.commit()
    return World(s=s, headers=headers, ids=ids)


Request = Callable[[TestClient, World, str], Any]


def call(method: str, path: str, body: Callable[[World], dict[str, Any]] | None = None) -> Request:
    def run(client: TestClient, w: World, who: str) -> Any:
        return client.request(
            method, path.format(**w.ids), headers=w.headers[who], json=body(w) if body else None
        )

    return run


CASES: list[tuple[str, Request, tuple[str, int], tuple[str, int]]] = [
    ("start run", call("POST", "/api/evals/runs", lambda w: {
        "window_id": w.ids["window"], "tasks": [TASK]}), ("a", 201), ("outsider", 404)),
    ("developer cannot start a run", call("POST", "/api/evals/runs", lambda w: {
        "window_id": w.ids["window"], "tasks": [TASK]}), ("b", 201), ("dev", 403)),
    ("list runs", call("GET", "/api/evals/runs?window_id={window}"), ("a", 200),
        ("outsider", 200)),
    ("get run", call("GET", "/api/evals/runs/{done}"), ("a", 200), ("outsider", 404)),
    ("developer sees runs on its model", call("GET", "/api/evals/runs/{done}"), ("dev", 200),
        ("other_dev", 404)),
    ("cancel", call("POST", "/api/evals/runs/{queued}/cancel"), ("a", 200), ("outsider", 404)),
    ("only the running agency cancels", call("POST", "/api/evals/runs/{queued}/cancel"),
        ("a", 200), ("dev", 403)),
    ("resume", call("POST", "/api/evals/runs/{cancelled}/resume"), ("a", 200), ("dev", 403)),
    ("mark baseline", call("POST", "/api/evals/runs/{done}/baseline", lambda w: {
        "reference_model": "ref-1"}), ("a", 200), ("dev", 403)),
    ("list baselines", call("GET", "/api/evals/baselines"), ("b", 200), ("dev", 200)),
    ("download log", call("GET", "/api/evals/runs/{done}/logs/0"), ("a", 200),
        ("outsider", 404)),
    ("report", call("GET", "/api/evals/windows/{window}/report?format=json"), ("a", 200),
        ("outsider", 404)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("request_", "allowed", "refused"),
    [pytest.param(r, a, d, id=name) for name, r, a, d in CASES],
)
def test_allow_and_deny(
    client: TestClient,
    world: World,
    request_: Request,
    allowed: tuple[str, int],
    refused: tuple[str, int],
) -> None:
    who, code = refused
    denied = request_(client, world, who)
    assert denied.status_code == code, denied.text
    if code >= 400:
        assert denied.headers["content-type"].startswith("application/problem+json")
    who, code = allowed
    response = request_(client, world, who)
    assert response.status_code == code, response.text


def test_a_run_is_refused_outside_the_window_and_writes_nothing(
    scenario: Scenario, runtime: Runtime, queue: NullJobQueue
) -> None:
    s = scenario
    scheduled = s.open_window(at=s.clock.now() + timedelta(days=5))
    expired = s.open_window(days=3)
    s.clock.advance(timedelta(days=3, seconds=1))
    before = s.session.scalar(select(func.count()).select_from(Job))
    for window in (scheduled, expired):
        with pytest.raises(Conflict, match="open"):
            start(s, runtime, window)
    assert s.session.scalar(select(func.count()).select_from(Job)) == before
    assert s.session.scalar(select(func.count()).select_from(EvalRun)) == 0
    assert queue.pushed == []


def test_a_window_closed_early_refuses_new_runs(
    scenario: Scenario, runtime: Runtime, queue: NullJobQueue
) -> None:
    from assay.frontier import windows

    s = scenario
    window = s.open_window(days=10)
    windows.close_window(s.session, actor=s.dev, clock=s.clock, window_id=window.id)
    with pytest.raises(Conflict):
        start(s, runtime, window)


def test_starting_queues_one_job_and_audits_it(
    scenario: Scenario, runtime: Runtime, queue: NullJobQueue
) -> None:
    s = scenario
    window = s.open_window(days=10)
    run = start(s, runtime, window)
    s.session.commit()
    assert queue.pushed == [run.job_id]
    job = s.session.get(Job, run.job_id)
    assert job is not None and job.kind == runs.JOB_KIND and job.params == {"run": str(run.id)}
    events = s.session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_id == str(run.id))
    ).all()
    assert "evals:run:queued" in events


def test_bad_tasks_and_task_files_are_rejected(
    scenario: Scenario, runtime: Runtime, queue: NullJobQueue
) -> None:
    s = scenario
    window = s.open_window(days=10)
    with pytest.raises(ValueError, match="not a task"):
        RunCreate(window_id=window.id, tasks=["../../etc/passwd"])
    with pytest.raises(Forbidden, match="ASSAY_EVAL_ALLOW_TASK_FILES"):
        runs.start_run(
            s.session, actor=s.a, clock=s.clock, queue=runtime.queue, blobs=runtime.blobs,
            data=RunCreate(window_id=window.id, tasks=["upload:"]),
            task_file=("t.py", b"from inspect_ai import task\n"),
        )  # fmt: skip
    with pytest.raises(InvalidInput, match="not valid Python"):
        runs.start_run(
            s.session, actor=s.a, clock=s.clock, queue=runtime.queue, blobs=runtime.blobs,
            data=RunCreate(window_id=window.id, tasks=["upload:"]),
            task_file=("t.py", b"def broken(:\n"), allow_task_files=True,
        )  # fmt: skip
    with pytest.raises(InvalidInput, match="needs a task file"):
        runs.start_run(
            s.session, actor=s.a, clock=s.clock, queue=runtime.queue, blobs=runtime.blobs,
            data=RunCreate(window_id=window.id, tasks=["upload:"]),
        )  # fmt: skip


def test_other_agencies_see_runs_only_when_the_agreement_shares_findings(
    scenario: Scenario, runtime: Runtime, queue: NullJobQueue
) -> None:
    s = scenario
    private = start(s, runtime, s.open_window(days=10))
    shared = start(s, runtime, s.open_window(days=10, share_findings_between_agencies=True))
    with pytest.raises(NotFound):
        runs.get_run(s.session, actor=s.b, run_id=private.id)
    assert runs.get_run(s.session, actor=s.b, run_id=shared.id) is shared
    listed = runs.list_runs(s.session, actor=s.b, limit=50, offset=0).items
    assert [r.id for r in listed] == [shared.id]
    # The other agency may see it, but only the agency that runs it may stop it.
    with pytest.raises(Forbidden):
        runs.cancel_run(s.session, actor=s.b, clock=s.clock, run_id=shared.id)


def test_cancel_and_resume_follow_the_run_state(
    scenario: Scenario, runtime: Runtime, queue: NullJobQueue
) -> None:
    s = scenario
    window = s.open_window(days=10)
    run = start(s, runtime, window)
    runs.cancel_run(s.session, actor=s.a, clock=s.clock, run_id=run.id)
    assert run.state == RunState.CANCELLED
    with pytest.raises(Conflict):
        runs.cancel_run(s.session, actor=s.a, clock=s.clock, run_id=run.id)
    first_job = run.job_id
    runs.resume_run(s.session, actor=s.a, clock=s.clock, queue=runtime.queue, run_id=run.id)
    assert run.state == RunState.QUEUED and run.job_id != first_job
    done = finish(s, runtime, start(s, runtime, window))
    with pytest.raises(Conflict, match="only a failed or cancelled"):
        runs.resume_run(s.session, actor=s.a, clock=s.clock, queue=runtime.queue, run_id=done.id)
    runs.cancel_run(s.session, actor=s.a, clock=s.clock, run_id=run.id)
    s.clock.advance(timedelta(days=11))
    with pytest.raises(Conflict, match="open"):
        runs.resume_run(s.session, actor=s.a, clock=s.clock, queue=runtime.queue, run_id=run.id)


def test_the_report_compares_with_baselines_and_holds_only_what_the_reader_sees(
    scenario: Scenario, runtime: Runtime, queue: NullJobQueue
) -> None:
    from assay.reports import render

    s = scenario
    earlier = s.open_window(days=10)
    reference = finish(s, runtime, start(s, runtime, earlier), value=0.4)
    with pytest.raises(Conflict):
        runs.mark_baseline(
            s.session, actor=s.a, clock=s.clock, run_id=start(s, runtime, earlier).id,
            reference_model="ref",
        )  # fmt: skip
    runs.mark_baseline(
        s.session, actor=s.a, clock=s.clock, run_id=reference.id, reference_model="ref-model-1"
    )
    window = s.open_window(days=10)
    mine = finish(s, runtime, start(s, runtime, window), value=0.7)
    theirs = finish(s, runtime, start(s, runtime, window, who=s.b), value=0.2)

    report = build_report(s.session, actor=s.a, clock=s.clock, window_id=window.id)
    assert [r.run_id for r in report.results] == [str(mine.id)]
    assert [b.reference_model for b in report.baselines] == ["ref-model-1"]
    assert str(theirs.id) not in {r.id for r in report.runs}
    assert report.model.name == window.model.name
    document = json.loads(render(report, "json"))
    assert document["model"]["name"] == window.model.name
    text = json.dumps(document).lower()
    assert "approved" not in text and "rejected" not in text


def test_the_sweep_stops_queued_runs_of_closed_windows_only(
    scenario: Scenario, runtime: Runtime, queue: NullJobQueue
) -> None:
    s = scenario
    short = s.open_window(days=2)
    long = s.open_window(days=10)
    stale, fresh = start(s, runtime, short), start(s, runtime, long)
    assert runs.stop_queued_at_window_close(s.session, clock=s.clock) == 0
    s.clock.advance(timedelta(days=2))  # exactly at the close of the 2-day window
    assert runs.stop_queued_at_window_close(s.session, clock=s.clock) == 1
    assert stale.state == RunState.STOPPED_AT_WINDOW_CLOSE
    assert fresh.state == RunState.QUEUED
    job = s.session.get(Job, stale.job_id)
    assert job is not None and job.cancel_requested
