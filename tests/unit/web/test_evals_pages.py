"""The eval-run pages: the window page's runs section and start form, the run page, its
progress JSON, cancel and resume, the log download and a sample's transcript; an allow and
a deny test for each.

Runs are made through the services on a ``NullJobQueue``, so no eval actually runs; a run's
results come from a real Inspect log, written with Inspect and stored as the executor
stores it (``assay.evals.logs.store_log``).
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from inspect_ai.log import (
    EvalConfig,
    EvalDataset,
    EvalLog,
    EvalMetric,
    EvalResults,
    EvalSample,
    EvalScore,
    EvalSpec,
    write_eval_log,
)
from inspect_ai.model import (
    ChatMessageAssistant,
    ChatMessageTool,
    ChatMessageUser,
    ModelOutput,
)
from inspect_ai.scorer import Score
from inspect_ai.tool import ToolCall
from sqlalchemy import update
from sqlalchemy.orm import Session

from assay.core.authz import Role
from assay.core.clock import FrozenClock
from assay.core.jobs.queue import NullJobQueue
from assay.evals import logs, runs
from assay.evals.models import EvalRun, RunState
from assay.evals.schemas import RunCreate, RunOptions
from assay.frontier.models import ReviewWindow
from assay.identity.models import User
from assay.runtime import Runtime
from assay.web.security import CONTENT_SECURITY_POLICY
from tests.factories import make_user
from tests.frontier_factories import Scenario, make_scenario
from tests.unit.web.helpers import count, csrf_of, log_in

TASK = "assay/vuln_detect"
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
def queue(runtime: Runtime) -> NullJobQueue:
    """No eval runs: the conftest's memory queue would run the job inside the request."""
    null = NullJobQueue()
    runtime.job_queue = null
    return null


@pytest.fixture
def s(session: Session, clock: FrozenClock, runtime: Runtime, queue: NullJobQueue) -> Scenario:
    return make_scenario(session, clock, runtime.box)


def _as(client: TestClient, s: Scenario, user: User) -> None:
    s.session.commit()
    client.cookies.clear()
    assert log_in(client, user).status_code == 303


def _page(client: TestClient, path: str, status: int = 200) -> str:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == status, (path, response.status_code, response.text[:500])
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    return response.text


def _token(client: TestClient, path: str = "/review/windows") -> str:
    return csrf_of(client.get(path).text)


def _start(s: Scenario, window: ReviewWindow, runtime: Runtime, **options: object) -> EvalRun:
    return runs.start_run(
        s.session, actor=s.a, clock=s.clock, queue=runtime.queue, blobs=runtime.blobs,
        data=RunCreate(
            window_id=window.id, tasks=[TASK], options=RunOptions.model_validate(options)
        ),
    )  # fmt: skip


def _viewer(s: Scenario) -> User:
    return make_user(s.session, s.clock, s.agency_a, Role.VIEWER)


# -- a real Inspect log ---------------------------------------------------------------------


def _sample(n: int) -> EvalSample:
    return EvalSample(
        id=f"py-{n}",
        epoch=1,
        input=f"Find the flaw {HOSTILE}",
        target="CWE-89 line 3",
        messages=[
            ChatMessageUser(content=f"Find the flaw {HOSTILE}"),
            ChatMessageAssistant(
                content="Let me look.",
                tool_calls=[ToolCall(id="call-1", function="bash", arguments={"cmd": "cat a.py"})],
            ),
            ChatMessageTool(content="query = 'SELECT ' + name", tool_call_id="call-1"),
            ChatMessageAssistant(content="ANSWER: CWE-89 line 3"),
        ],
        output=ModelOutput.from_content("gateway/Meridian", "ANSWER: CWE-89 line 3"),
        scores={
            "vuln_scorer": Score(
                value={"cwe": 1.0, "line": 0.0}, answer="CWE-89 line 3",
                explanation=f"right class, wrong line {HOSTILE}",
            )
        },
    )  # fmt: skip


def _finish(s: Scenario, run: EvalRun, runtime: Runtime, tmp_path: Path) -> EvalRun:
    """Give ``run`` the results of a two-sample log, as the executor stores them."""
    log = EvalLog(
        eval=EvalSpec(
            created=s.clock.now().isoformat(), task=TASK, dataset=EvalDataset(samples=2),
            model="openai-api/gateway/Meridian", config=EvalConfig(limit=2),
        ),
        status="success",
        samples=[_sample(1), _sample(2)],
        results=EvalResults(
            total_samples=2, completed_samples=2,
            scores=[EvalScore(
                name="vuln_scorer", scorer="vuln_scorer",
                metrics={"cwe_accuracy": EvalMetric(name="cwe_accuracy", value=0.75),
                         "stderr": EvalMetric(name="stderr", value=0.125)},
            )],
        ),
    )  # fmt: skip
    path = tmp_path / "2026-03-02_vuln-detect_abc.eval"
    write_eval_log(log, str(path), format="eval")
    result = logs.store_log(blobs=runtime.blobs, path=path, run_id=run.id, position=0, task=TASK)
    run.results = [result]
    run.state = RunState.SUCCEEDED
    run.samples_done = run.samples_total = 2
    run.finished_at = s.clock.now()
    s.session.flush()
    return run


@pytest.fixture
def window(s: Scenario) -> ReviewWindow:
    return s.open_window(days=10)


# -- the window page's runs section ----------------------------------------------------------


def test_an_agency_member_sees_its_runs_and_the_start_form(
    client: TestClient, s: Scenario, runtime: Runtime, window: ReviewWindow
) -> None:
    run = _start(s, window, runtime, limit=6)
    _as(client, s, s.agency_a_user)
    html = _page(client, f"/review/windows/{window.id}")
    assert "Evaluation runs" in html
    assert f'href="/review/runs/{run.id}"' in html
    assert f'data-progress-url="/review/runs/{run.id}/progress"' in html
    assert "Waiting for a worker" in html
    assert f'action="/review/windows/{window.id}/runs"' in html
    for suite in ("assay/vuln_detect", "assay/cyber_misuse", "assay/ctf_local"):
        assert f'name="suites" value="{suite}"' in html
    assert 'name="task_file"' not in html  # task files are off by default
    assert "ASSAY_EVAL_ALLOW_TASK_FILES" in html


def test_the_developer_sees_runs_on_its_model_but_no_start_form(
    client: TestClient, s: Scenario, runtime: Runtime, window: ReviewWindow
) -> None:
    run = _start(s, window, runtime)
    _as(client, s, s.dev_user)
    html = _page(client, f"/review/windows/{window.id}")
    assert f'href="/review/runs/{run.id}"' in html
    assert "Start a run" not in html and 'name="suites"' not in html


def test_another_party_agency_does_not_see_the_run_and_a_viewer_gets_no_form(
    client: TestClient, s: Scenario, runtime: Runtime, window: ReviewWindow
) -> None:
    run = _start(s, window, runtime)
    viewer = _viewer(s)
    _as(client, s, s.agency_b_user)  # party, but findings are not shared between agencies
    html = _page(client, f"/review/windows/{window.id}")
    assert f"/review/runs/{run.id}" not in html and "No runs you may see." in html
    assert "Start a run" in html  # it may start its own
    _as(client, s, viewer)
    html = _page(client, f"/review/windows/{window.id}")
    assert f'href="/review/runs/{run.id}"' in html
    assert "Start a run" not in html


def test_no_start_form_once_the_window_has_closed(
    client: TestClient, s: Scenario, window: ReviewWindow
) -> None:
    s.clock.advance(timedelta(days=11))
    _as(client, s, s.agency_a_user)
    html = _page(client, f"/review/windows/{window.id}")
    assert "Evaluation runs" in html and "Start a run" not in html


# -- starting a run ---------------------------------------------------------------------------


def _post_start(client: TestClient, window: ReviewWindow, token: str, **fields: object) -> object:
    data = {"csrf_token": token, "epochs": "1", "max_connections": "8", **fields}
    return client.post(
        f"/review/windows/{window.id}/runs",
        data=data,
        files={"task_file": ("", b"", "application/octet-stream")},
        follow_redirects=False,
    )


def test_an_agency_member_starts_a_run_and_lands_on_its_page(
    client: TestClient, s: Scenario, window: ReviewWindow, queue: NullJobQueue
) -> None:
    _as(client, s, s.agency_a_user)
    response = _post_start(
        client, window, _token(client), suites=[TASK, "assay/cyber_misuse"],
        other_tasks="inspect_evals/cybench\n", limit="6", max_connections="2",
        time_limit="30", token_limit="5000", sandbox="local",
    )  # fmt: skip
    assert response.status_code == 303  # type: ignore[attr-defined]
    location = response.headers["location"]  # type: ignore[attr-defined]
    run = s.session.get(EvalRun, uuid.UUID(location.rsplit("/", 1)[1]))
    assert run is not None and run.org_id == s.agency_a.id
    assert run.tasks == [TASK, "assay/cyber_misuse", "inspect_evals/cybench"]
    assert run.options["limit"] == 6 and run.options["max_connections"] == 2
    assert run.options["time_limit"] == 30 and run.options["token_limit"] == 5000
    assert run.options["sandbox"] == "local" and run.options["epochs"] == 1
    assert queue.pushed == [run.job_id]
    html = _page(client, location)
    assert "Run queued." in html and 'data-testid="run-state"' in html


def test_a_refused_start_shows_the_form_again_with_the_reasons(
    client: TestClient, s: Scenario, window: ReviewWindow, queue: NullJobQueue
) -> None:
    _as(client, s, s.agency_a_user)
    token = _token(client)
    nothing = _post_start(client, window, token, limit="6")
    assert nothing.status_code == 422  # type: ignore[attr-defined]
    html = nothing.text  # type: ignore[attr-defined]
    assert "choose a suite, name a task, or upload a task file" in html
    assert 'name="limit" type="number" value="6"' in html  # the values are kept
    bad = _post_start(client, window, token, suites=[TASK], limit="0", other_tasks="no-slash")
    assert bad.status_code == 422  # type: ignore[attr-defined]
    html = bad.text  # type: ignore[attr-defined]
    assert "is not a task" in html
    assert f'value="{TASK}" checked' in html
    assert count(s.session, EvalRun) == 0 and queue.pushed == []


def test_a_bad_limit_is_marked_on_its_field(
    client: TestClient, s: Scenario, window: ReviewWindow
) -> None:
    _as(client, s, s.agency_a_user)
    response = _post_start(client, window, _token(client), suites=[TASK], limit="0")
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert re.search(r'<p class="field-error" id="e-limit">[^<]+</p>', response.text)  # type: ignore[attr-defined]
    assert count(s.session, EvalRun) == 0


def test_a_start_after_the_window_closed_is_refused_on_the_page(
    client: TestClient, s: Scenario, window: ReviewWindow
) -> None:
    _as(client, s, s.agency_a_user)
    token = _token(client)
    s.clock.advance(timedelta(days=11))
    response = _post_start(client, window, token, suites=[TASK])
    assert response.status_code == 409  # type: ignore[attr-defined]
    assert "runs start only while it is open" in response.text  # type: ignore[attr-defined]
    assert count(s.session, EvalRun) == 0


@pytest.mark.parametrize("who", ["developer", "viewer", "outsider"])
def test_only_a_party_agency_member_may_start_a_run(
    client: TestClient, s: Scenario, window: ReviewWindow, queue: NullJobQueue, who: str
) -> None:
    user = {"developer": s.dev_user, "viewer": _viewer(s), "outsider": s.outsider_agency_user}[who]
    _as(client, s, user)
    response = _post_start(client, window, _token(client), suites=[TASK])
    assert response.status_code == (404 if who == "outsider" else 403)  # type: ignore[attr-defined]
    assert count(s.session, EvalRun) == 0 and queue.pushed == []


def test_a_start_without_the_csrf_token_is_refused(
    client: TestClient, s: Scenario, window: ReviewWindow
) -> None:
    _as(client, s, s.agency_a_user)
    response = _post_start(client, window, "forged", suites=[TASK])
    assert response.status_code == 403  # type: ignore[attr-defined]
    assert count(s.session, EvalRun) == 0


def test_a_task_file_is_taken_only_where_the_instance_allows_it(
    client: TestClient, s: Scenario, window: ReviewWindow, runtime: Runtime
) -> None:
    source = b"from inspect_ai import task\n\n@task\ndef mine():\n    ...\n"
    _as(client, s, s.agency_a_user)
    files = {"task_file": ("mine.py", source, "text/x-python")}
    url = f"/review/windows/{window.id}/runs"
    base = {"csrf_token": _token(client), "epochs": "1", "max_connections": "8"}
    refused = client.post(url, data=base, files=files, follow_redirects=False)
    assert refused.status_code == 403 and "ASSAY_EVAL_ALLOW_TASK_FILES" in refused.text
    runtime.settings = runtime.settings.model_copy(update={"eval_allow_task_files": True})
    assert 'name="task_file"' in _page(client, f"/review/windows/{window.id}")
    broken = {"task_file": ("mine.py", b"def (:\n", "text/x-python")}
    invalid = client.post(url, data=base, files=broken, follow_redirects=False)
    assert invalid.status_code == 422 and "is not valid Python" in invalid.text
    taken = client.post(
        url, data={**base, "task_function": "mine"}, files=files, follow_redirects=False
    )
    assert taken.status_code == 303
    [run] = s.session.query(EvalRun).all()
    assert run.tasks == ["upload:mine"] and run.task_file_name == "mine.py"
    assert run.task_file is not None and runtime.blobs.get(run.task_file) == source


# -- the run page and its progress ------------------------------------------------------------


def test_the_agency_sees_its_run_page_with_a_cancel_button(
    client: TestClient, s: Scenario, runtime: Runtime, window: ReviewWindow
) -> None:
    run = _start(s, window, runtime, limit=6)
    _as(client, s, s.agency_a_user)
    html = _page(client, f"/review/runs/{run.id}")
    assert f'data-run-state="{run.id}">queued</span>' in html
    assert f'data-progress-url="/review/runs/{run.id}/progress"' in html
    assert "data-final" not in html  # the script follows it
    assert f'action="/review/runs/{run.id}/cancel"' in html
    assert "/resume" not in html
    assert "limit 6;" in html
    assert "Scores and samples appear here when the run ends." in html


def test_the_developer_sees_the_run_page_without_actions(
    client: TestClient, s: Scenario, runtime: Runtime, window: ReviewWindow
) -> None:
    run = _start(s, window, runtime)
    _as(client, s, s.dev_user)
    html = _page(client, f"/review/runs/{run.id}")
    assert f'data-run-state="{run.id}">queued</span>' in html
    assert "/cancel" not in html and "/resume" not in html


@pytest.mark.parametrize("who", ["outsider", "other_party", "other_developer"])
def test_others_get_404_on_the_run_page_and_its_progress(
    client: TestClient, s: Scenario, runtime: Runtime, window: ReviewWindow, who: str
) -> None:
    run = _start(s, window, runtime)
    user = {
        "outsider": s.outsider_agency_user,
        "other_party": s.agency_b_user,
        "other_developer": s.other_dev_user,
    }[who]
    _as(client, s, user)
    html = _page(client, f"/review/runs/{run.id}", status=404)
    assert TASK not in html
    assert client.get(f"/review/runs/{run.id}/progress").status_code == 404
    assert _page(client, f"/review/runs/{uuid.uuid4()}", status=404)


def test_anonymous_users_are_sent_to_log_in(
    client: TestClient, s: Scenario, runtime: Runtime, window: ReviewWindow
) -> None:
    run = _start(s, window, runtime)
    s.session.commit()
    for path in (
        f"/review/runs/{run.id}",
        f"/review/runs/{run.id}/progress",
        f"/review/runs/{run.id}/logs/0",
        f"/review/runs/{run.id}/tasks/0/samples/1/py-1",
    ):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=")


def test_the_progress_json_follows_the_run(
    client: TestClient, s: Scenario, runtime: Runtime, window: ReviewWindow
) -> None:
    run = _start(s, window, runtime, limit=6)
    _as(client, s, s.agency_a_user)
    url = f"/review/runs/{run.id}/progress"
    first = client.get(url)
    assert first.status_code == 200 and first.headers["cache-control"] == "no-store"
    assert first.json() == {
        "state": "queued", "final": False, "samples_done": 0, "samples_total": None,
        "percent": None, "text": "Waiting for a worker",
    }  # fmt: skip
    s.session.execute(
        update(EvalRun)
        .where(EvalRun.id == run.id)
        .values(state=RunState.RUNNING, samples_done=3, samples_total=6)
    )
    s.session.commit()
    body = client.get(url).json()
    assert (body["state"], body["percent"], body["final"]) == ("running", 50, False)
    assert body["text"] == "3 of 6 samples (50%)"
    _as(client, s, s.dev_user)  # the developer follows runs on its model too
    assert client.get(url).json()["percent"] == 50


def test_a_finished_run_shows_metrics_logs_and_samples(
    client: TestClient, s: Scenario, runtime: Runtime, window: ReviewWindow, tmp_path: Path
) -> None:
    run = _finish(s, _start(s, window, runtime, limit=2), runtime, tmp_path)
    digest = run.results[0].log_digest
    _as(client, s, s.agency_a_user)
    html = _page(client, f"/review/runs/{run.id}")
    assert f'data-run-state="{run.id}">succeeded</span>' in html
    assert "data-final" in html and "2 of 2 samples (100%)" in html
    assert "<td>cwe_accuracy</td><td>0.750</td><td>± 0.125</td>" in html
    assert f'href="/review/runs/{run.id}/logs/0"' in html and digest in html
    for n in (1, 2):
        assert f'href="/review/runs/{run.id}/tasks/0/samples/1/py-{n}"' in html
    assert "vuln_scorer: cwe: 1, line: 0" in html
    assert HOSTILE not in html and "&lt;script&gt;" in html
    assert "/cancel" not in html and "/resume" not in html
    assert "inspect view" in html


def test_the_log_downloads_for_those_who_see_the_run(
    client: TestClient, s: Scenario, runtime: Runtime, window: ReviewWindow, tmp_path: Path
) -> None:
    run = _finish(s, _start(s, window, runtime), runtime, tmp_path)
    digest = run.results[0].log_digest
    for user in (s.agency_a_user, s.dev_user):
        _as(client, s, user)
        response = client.get(f"/review/runs/{run.id}/logs/0")
        assert response.status_code == 200
        assert response.content == runtime.blobs.get(digest)
        assert response.headers["content-disposition"] == (
            'attachment; filename="2026-03-02_vuln-detect_abc.eval"'
        )
        assert client.get(f"/review/runs/{run.id}/logs/1").status_code == 404
    _as(client, s, s.outsider_agency_user)
    refused = client.get(f"/review/runs/{run.id}/logs/0")
    assert refused.status_code == 404 and refused.content != runtime.blobs.get(digest)


def test_a_sample_transcript_is_rendered_and_escaped(
    client: TestClient, s: Scenario, runtime: Runtime, window: ReviewWindow, tmp_path: Path
) -> None:
    run = _finish(s, _start(s, window, runtime), runtime, tmp_path)
    path = f"/review/runs/{run.id}/tasks/0/samples/1/py-2"
    for user in (s.agency_a_user, s.dev_user):
        _as(client, s, user)
        html = _page(client, path)
        assert "<h1>Sample py-2 <small>epoch 1</small></h1>" in html
        assert "Find the flaw &lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert HOSTILE not in html
        assert "<code>bash</code>" in html and "&#34;cmd&#34;: &#34;cat a.py&#34;" in html
        assert "answer to call-1" in html
        assert html.count('data-testid="message"') == 5  # the input, and four messages
        assert '<pre class="transcript" data-testid="output">ANSWER: CWE-89 line 3</pre>' in html
        assert "<td>vuln_scorer</td><td>cwe: 1, line: 0</td><td>CWE-89 line 3</td>" in html
        assert "right class, wrong line &lt;script&gt;" in html
    _page(client, f"/review/runs/{run.id}/tasks/0/samples/2/py-2", status=404)  # no epoch 2
    _page(client, f"/review/runs/{run.id}/tasks/0/samples/1/nope", status=404)
    _page(client, f"/review/runs/{run.id}/tasks/3/samples/1/py-2", status=404)
    _as(client, s, s.outsider_agency_user)
    html = _page(client, path, status=404)
    assert "Find the flaw" not in html


# -- cancel and resume ------------------------------------------------------------------------


def _post(client: TestClient, path: str, token: str) -> object:
    return client.post(path, data={"csrf_token": token}, follow_redirects=False)


def test_the_agency_cancels_and_resumes_its_run(
    client: TestClient, s: Scenario, runtime: Runtime, window: ReviewWindow, queue: NullJobQueue
) -> None:
    run = _start(s, window, runtime)
    page = f"/review/runs/{run.id}"
    _as(client, s, s.agency_a_user)
    token = _token(client, page)
    assert _post(client, f"{page}/cancel", token).status_code == 303  # type: ignore[attr-defined]
    s.session.refresh(run)
    assert run.state == RunState.CANCELLED
    html = _page(client, page)
    assert "Cancel requested" in html and f'action="{page}/resume"' in html
    assert _post(client, f"{page}/cancel", token).status_code == 303  # type: ignore[attr-defined]
    assert "The run was not cancelled: the run is cancelled" in _page(client, page)
    assert _post(client, f"{page}/resume", token).status_code == 303  # type: ignore[attr-defined]
    s.session.refresh(run)
    assert run.state == RunState.QUEUED and len(queue.pushed) == 2
    assert "Run queued again" in _page(client, page)
    assert _post(client, f"{page}/resume", token).status_code == 303  # type: ignore[attr-defined]
    assert "The run was not resumed: the run is queued" in _page(client, page)


@pytest.mark.parametrize("who", ["developer", "viewer", "outsider"])
def test_others_may_not_cancel_or_resume(
    client: TestClient, s: Scenario, runtime: Runtime, window: ReviewWindow, who: str
) -> None:
    queued = _start(s, window, runtime)
    cancelled = _start(s, window, runtime)
    runs.cancel_run(s.session, actor=s.a, clock=s.clock, run_id=cancelled.id)
    user = {"developer": s.dev_user, "viewer": _viewer(s), "outsider": s.outsider_agency_user}[who]
    _as(client, s, user)
    token = _token(client)
    status = 404 if who == "outsider" else 403
    cancel = _post(client, f"/review/runs/{queued.id}/cancel", token)
    resume = _post(client, f"/review/runs/{cancelled.id}/resume", token)
    assert cancel.status_code == resume.status_code == status  # type: ignore[attr-defined]
    s.session.refresh(queued)
    s.session.refresh(cancelled)
    assert (queued.state, cancelled.state) == (RunState.QUEUED, RunState.CANCELLED)
