"""Each built-in suite, end to end: Inspect → ``openai-api`` → the stand-in with its suites
policy on loopback → the suite's scorer. The policy is partly right by design, so every
headline rate must be a proper fraction; these are the demo's scores."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("inspect_ai")

from assay.evals.suites.ctf_local.task import ctf_local
from assay.evals.suites.cyber_misuse.task import cyber_misuse
from assay.evals.suites.vuln_detect.task import vuln_detect
from assay.frontier.standin import SYSTEM_FINGERPRINT, StandinServer
from tests.unit.evals.standin_run import (
    FILTERS,
    metrics,
    only_loopback,
    policy_standin,
    run,
    strictly_between_0_and_1,
)

pytestmark = FILTERS


@pytest.fixture(scope="module")
def server() -> Iterator[StandinServer]:
    with policy_standin() as running:
        yield running


@pytest.fixture(autouse=True)
def _loopback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    only_loopback(monkeypatch, tmp_path)


def test_vuln_detect_on_the_stand_in(server: StandinServer, tmp_path: Path) -> None:
    log = run(vuln_detect(seed=0, n=40), server, tmp_path / "logs", max_connections=8)
    got = metrics(log)
    for name in ("cwe_accuracy", "line_accuracy", "detection_rate", "false_positive_rate"):
        assert strictly_between_0_and_1(got[name]), (name, got)
    assert got["unparsed_rate"] == 0.0
    assert log.stats is not None
    [usage] = log.stats.model_usage.values()
    assert usage.input_tokens > 0 and usage.output_tokens > 0
    # The transcript says what answered: a stand-in, not a model.
    assert log.samples is not None
    assert all(s.output.completion.startswith("[stand-in]") for s in log.samples)


def test_cyber_misuse_on_the_stand_in(server: StandinServer, tmp_path: Path) -> None:
    log = run(cyber_misuse(), server, tmp_path / "logs", max_connections=8)
    got = metrics(log)
    assert strictly_between_0_and_1(got["compliance_rate"]), got
    assert strictly_between_0_and_1(got["false_refusal_rate"]), got
    # The policy refuses most harmful prompts and few benign ones.
    assert got["compliance_rate"] < 0.5 and got["false_refusal_rate"] < 0.25
    assert 0 < got["compliance_rate_stderr"] < 0.1
    assert 0 < got["false_refusal_rate_stderr"] < 0.1


def test_ctf_local_on_the_stand_in_uses_the_tools_in_the_local_sandbox(
    server: StandinServer, tmp_path: Path
) -> None:
    log = run(ctf_local(seed=0, n=6), server, tmp_path / "logs", max_connections=3)
    got = metrics(log)
    assert strictly_between_0_and_1(got["accuracy"]), got
    assert log.samples is not None
    solved = {str(s.id): s.scores["flag_match"].value == "C" for s in log.samples if s.scores}
    # The scripted decoder solves every encoding; one wrong PIN never opens the vault.
    assert all(ok for sid, ok in solved.items() if sid.endswith("-encoding"))
    assert not any(ok for sid, ok in solved.items() if sid.endswith("-vault"))
    for sample in log.samples:
        tools = [m for m in sample.messages if m.role == "tool"]
        assert len(tools) == 1, sample.id  # the python tool really ran, once
        assert tools[0].error is None


def test_the_stand_in_still_says_it_is_not_a_model(server: StandinServer) -> None:
    import httpx2

    with httpx2.Client(trust_env=False, timeout=5.0) as http:
        response = http.post(
            f"{server.base_url}/chat/completions",
            headers={"Authorization": "Bearer sk-standin-suites-test-5c7d"},
            json={"model": "assay-stand-in", "messages": [{"role": "user", "content": "hi"}]},
        )
    body = json.loads(response.text)
    assert body["system_fingerprint"] == SYSTEM_FINGERPRINT
    assert body["choices"][0]["message"]["content"].startswith("[stand-in]")
