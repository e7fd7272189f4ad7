"""Eval runs end to end: job → Inspect → gateway → stand-in on loopback → log → scores.

One live review per test (a fresh database, the app served by uvicorn, the stand-in): the
runs go through the real gateway, so its window check and metering apply to them."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from inspect_ai.log import read_eval_log
from sqlalchemy import update

from assay.core.jobs.models import Job
from assay.core.jobs.runner import RunOutcome
from assay.evals import runs
from assay.evals.models import RunState
from assay.evals.schemas import RunCreate
from tests.unit.evals.live import MODEL_NAME, LiveReview, live_review

pytestmark = pytest.mark.slow

TASK = "assay/vuln_detect"


@pytest.fixture
def live(tmp_path: Path, fresh_database_url: str) -> Iterator[LiveReview]:
    with live_review(tmp_path, fresh_database_url) as review:
        yield review


def test_a_run_goes_through_the_gateway_and_its_scores_reach_the_database(
    live: LiveReview,
) -> None:
    run_id = live.start([TASK], limit=4, max_connections=2)
    assert live.run(run_id).state == RunState.QUEUED

    assert live.run_job(run_id) == RunOutcome.SUCCEEDED

    run = live.run(run_id)
    assert run.state == RunState.SUCCEEDED, run.error
    assert (run.samples_done, run.samples_total) == (4, 4)
    [result] = run.results
    assert result.task == TASK and result.status == "success"
    assert result.samples_completed == 4
    assert result.input_tokens > 0 and result.output_tokens > 0
    by_name = {m.metric: m for m in result.metrics}
    assert set(by_name) == {
        "cwe_accuracy", "line_accuracy", "detection_rate", "false_positive_rate",
        "unparsed_rate",
    }  # fmt: skip
    # Each rate's <name>_stderr metric is stored beside it, not as a metric of its own.
    assert all(by_name[m].stderr is not None for m in ("cwe_accuracy", "detection_rate"))
    # The echo stand-in never answers in the suite's format.
    assert by_name["unparsed_rate"].value == 1.0
    # Every model call went through the gateway and was metered there.
    assert live.gateway_calls() == 4
    # The log is in the blob store, named by its sha256, and Inspect can read it back.
    data = live.runtime.blobs.get(result.log_digest)
    copy = Path(live.settings.data_dir) / "copy.eval"
    copy.write_bytes(data)
    log = read_eval_log(str(copy))
    assert log.status == "success" and len(log.samples or []) == 4
    # The gateway token went in through the environment, never into the log.
    assert b"assay_gw_" not in data
    assert "GATEWAY_API_KEY" not in os.environ


def test_cancel_stops_a_running_eval_and_resume_keeps_its_samples(live: LiveReview) -> None:
    live.standin.delay_seconds = 0.15
    run_id = live.start([TASK], limit=12, max_connections=1)
    outcome: list[RunOutcome] = []
    worker = threading.Thread(target=lambda: outcome.append(live.run_job(run_id)))
    worker.start()
    live.wait_for_samples(run_id, 3)
    with live.runtime.db.transaction(write=True) as session:
        runs.cancel_run(session, actor=live.agency, clock=live.clock, run_id=run_id)
    worker.join(timeout=60)
    assert outcome == [RunOutcome.CANCELLED]
    run = live.run(run_id)
    assert run.state == RunState.CANCELLED
    kept = run.samples_done
    assert 3 <= kept < 12
    calls_before = live.gateway_calls()

    live.standin.delay_seconds = 0
    with live.runtime.db.transaction(write=True) as session:
        runs.resume_run(
            session, actor=live.agency, clock=live.clock, queue=live.runtime.queue, run_id=run_id
        )
    assert live.run_job(run_id) == RunOutcome.SUCCEEDED
    run = live.run(run_id)
    assert run.state == RunState.SUCCEEDED, run.error
    assert run.results[0].samples_completed == 12
    # Only the samples not completed before the cancel were asked again.
    assert live.gateway_calls() - calls_before <= 12 - kept + 1


def test_a_running_eval_stops_when_the_window_closes(live: LiveReview) -> None:
    live.standin.delay_seconds = 0.15
    run_id = live.start([TASK], limit=30, max_connections=1)
    outcome: list[RunOutcome] = []
    worker = threading.Thread(target=lambda: outcome.append(live.run_job(run_id)))
    worker.start()
    live.wait_for_samples(run_id, 2)
    live.clock.advance(timedelta(days=11))  # past the 10 agreed days
    worker.join(timeout=60)
    assert outcome == [RunOutcome.SUCCEEDED]
    run = live.run(run_id)
    assert run.state == RunState.STOPPED_AT_WINDOW_CLOSE
    assert run.samples_done < 30
    assert run.results and run.results[0].status in {"cancelled", "started"}


_WORKER = """
import sys, uuid
from assay.core.config import Settings
from assay.core.jobs.runner import run_job
from assay.domains import load_job_handlers, load_models
from assay.runtime import Runtime
from assay.core.blobs import FolderBlobStore
load_models(); load_job_handlers()
settings = Settings.model_validate_json(sys.argv[1])
runtime = Runtime.build(settings, blobs=FolderBlobStore(__import__("pathlib").Path(sys.argv[3])))
run_job(runtime, uuid.UUID(sys.argv[2]))
"""


def test_a_killed_worker_is_resumed_without_redoing_completed_samples(
    live: LiveReview, tmp_path: Path
) -> None:
    live.standin.delay_seconds = 0.15
    run_id = live.start([TASK], limit=10, max_connections=1)
    job_id = live.job_of(run_id)
    settings_json = live.settings.model_dump_json(
        context={"reveal_secrets": True}, exclude={"secret_key"}
    )
    env = {**os.environ, "ASSAY_SECRET_KEY": live.settings.require_secret_key()}
    child = subprocess.Popen(
        [sys.executable, "-c", _WORKER, settings_json, str(job_id), str(tmp_path / "blobs")],
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while live.run(run_id).samples_done < 3:
            assert child.poll() is None, "the worker ended early"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    calls_before = live.gateway_calls()
    kept = live.run(run_id).samples_done
    assert live.run(run_id).state == RunState.RUNNING
    # The reaper would find the lease expired; expire it now rather than wait for it.
    with live.runtime.db.transaction(write=True) as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(lease_expires_at=live.clock.now() - timedelta(seconds=1))
        )
    live.standin.delay_seconds = 0
    assert live.run_job(run_id) == RunOutcome.SUCCEEDED
    run = live.run(run_id)
    assert run.state == RunState.SUCCEEDED, run.error
    assert run.results[0].samples_completed == 10
    assert live.gateway_calls() - calls_before <= 10 - kept + 1


def test_the_cli_contract_runs_shows_and_reports(
    live: LiveReview, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.unit.cli.test_cli import run as cli

    monkeypatch.setenv("ASSAY_DATA_DIR", str(live.settings.data_dir))
    monkeypatch.setenv("ASSAY_DATABASE_URL", str(live.settings.database_url))
    monkeypatch.setenv("ASSAY_SECRET_KEY", live.settings.require_secret_key())
    monkeypatch.setenv("ASSAY_PUBLIC_URL", live.url)
    monkeypatch.setenv("ASSAY_JOB_BACKEND", "sqlite")
    monkeypatch.setenv("ASSAY_BLOB_DIR", str(Path(live.settings.data_dir).parent / "blobs"))
    monkeypatch.delenv("ASSAY_CONFIG_FILE", raising=False)
    me = ("--as", live.agency.email)
    window = str(live.window_id)

    code, out, err = cli(capsys, *me, "evals", "run", "--window", window, "--task", TASK,
                         "--limit", "2", "--json")  # fmt: skip
    assert code == 0, err
    assert set(json.loads(out)) == {"run"}

    code, out, err = cli(capsys, *me, "evals", "run", "--window", window, "--task", TASK,
                         "--limit", "3", "--max-connections", "2", "--wait", "--json")  # fmt: skip
    assert code == 0, err
    finished = json.loads(out)
    assert finished["state"] == "succeeded" and finished["samples_done"] == 3
    assert finished["results"][0]["metrics"], finished

    code, out, err = cli(capsys, *me, "evals", "show", finished["id"], "--json")
    assert code == 0, err
    assert json.loads(out)["id"] == finished["id"]

    code, out, err = cli(capsys, *me, "windows", "list", "--json")
    assert code == 0, err
    listed = json.loads(out)
    assert listed["total"] == 1
    assert {"id", "model", "state"} <= set(listed["items"][0])

    for fmt in ("html", "pdf", "json"):
        target = Path(live.settings.data_dir) / f"report.{fmt}"
        code, _, err = cli(capsys, *me, "reports", "build", window, "--format", fmt,
                           "-o", str(target))  # fmt: skip
        assert code == 0, err
        assert target.stat().st_size > 0
    document = json.loads((Path(live.settings.data_dir) / "report.json").read_text())
    assert document["model"]["name"] == MODEL_NAME
    assert any(r["run_id"] == finished["id"] for r in document["results"])
    if shutil.which("pdftotext") is None:
        if os.environ.get("ASSAY_REQUIRE_BROWSER"):
            pytest.fail("pdftotext is missing (apt-get install poppler-utils)")
        pytest.skip("pdftotext is not installed")
    text = subprocess.run(
        ["pdftotext", str(Path(live.settings.data_dir) / "report.pdf"), "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert MODEL_NAME in text


UPLOADED_TASK = b"""
from inspect_ai import Task, task
from inspect_ai.dataset import Sample
from inspect_ai.scorer import includes
from inspect_ai.solver import generate


@task
def echo_length():
    return Task(
        dataset=[Sample(input="say hello", target="stand-in"), Sample(input="x", target="zzz")],
        solver=generate(),
        scorer=includes(),
    )
"""


def test_an_uploaded_task_file_runs_through_the_gateway(live: LiveReview) -> None:
    with live.runtime.db.transaction(write=True) as session:
        run = runs.start_run(
            session, actor=live.agency, clock=live.clock, queue=live.runtime.queue,
            blobs=live.runtime.blobs,
            data=RunCreate(window_id=live.window_id, tasks=["upload:echo_length"]),
            task_file=("agency_tasks.py", UPLOADED_TASK), allow_task_files=True,
        )  # fmt: skip
        run_id = run.id
    assert live.run_job(run_id) == RunOutcome.SUCCEEDED
    done = live.run(run_id)
    assert done.state == RunState.SUCCEEDED, done.error
    [result] = done.results
    assert result.samples_completed == 2
    # The echo stand-in's reply contains "stand-in" but never "zzz": half right, by design.
    accuracy = next(m for m in result.metrics if m.metric == "accuracy")
    assert accuracy.value == 0.5 and accuracy.stderr is not None


def test_a_tool_using_suite_runs_through_the_gateway(live: LiveReview) -> None:
    """assay/ctf_local: tool calls and their results cross the gateway both ways."""
    from assay.evals.standin_policy import suites_responder

    live.standin.responder = suites_responder()
    run_id = live.start(["assay/ctf_local"], limit=3, max_connections=3, sandbox="local")
    assert live.run_job(run_id) == RunOutcome.SUCCEEDED
    run = live.run(run_id)
    assert run.state == RunState.SUCCEEDED, run.error
    [result] = run.results
    assert result.samples_completed == 3
    accuracy = next(m for m in result.metrics if m.metric == "accuracy")
    # The script decodes the encoding challenge (the first of the three kinds) with its tool.
    assert accuracy.value > 0
    # Each sample took at least two calls: the tool call, then the answer.
    assert live.gateway_calls() >= 6
