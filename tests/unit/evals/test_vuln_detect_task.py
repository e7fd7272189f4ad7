"""The Inspect task, run offline against Inspect's mock model with scripted replies.

Every scripted reply carries its token usage: without it the mock model counts tokens with
tiktoken, which downloads its encoding on first use. The network is blocked here anyway.
"""

from __future__ import annotations

import gc
import math
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("inspect_ai")

from inspect_ai import eval as inspect_eval
from inspect_ai._util.registry import registry_info, registry_lookup
from inspect_ai.model import (
    ChatCompletionChoice,
    ChatMessage,
    ChatMessageAssistant,
    GenerateConfig,
    ModelOutput,
    ModelUsage,
    get_model,
)

from assay.evals.suites.vuln_detect.generator import generate
from assay.evals.suites.vuln_detect.task import SYSTEM_PROMPT, prompt, vuln_detect

SEED, N = 5, 12

# The suite's tests turn warnings into errors. inspect_ai's dependencies warn about their
# own deprecations (tenacity's "initial" parameter, for one), and its runner leaves anyio
# memory streams for the garbage collector, which warns; neither is this code's to fix.
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No name lookups and no connections off this machine; Inspect's data dir in tmp."""

    def refuse_lookup(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"network lookup attempted: {args[:2]}")

    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise AssertionError(f"network connection attempted: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", refuse_lookup)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    yield


def _reply(text: str) -> ModelOutput:
    return ModelOutput(
        model="mockllm/model",
        choices=[
            ChatCompletionChoice(
                message=ChatMessageAssistant(content=text, model="mockllm/model"),
                stop_reason="stop",
            )
        ],
        usage=ModelUsage(input_tokens=100, output_tokens=10, total_tokens=110),
    )


def test_the_task_is_registered_as_assay_vuln_detect() -> None:
    task = vuln_detect(seed=1, n=4)
    assert registry_info(task).name == "assay/vuln_detect"
    assert len(task.dataset) == 4
    assert task.metadata == {
        "suite": "assay/vuln_detect",
        "seed": 1,
        "n": 4,
        "languages": ["python", "c"],
    }


def test_the_entry_point_module_makes_the_name_resolvable() -> None:
    import assay.evals._registry

    assert assay.evals._registry.vuln_detect is vuln_detect
    assert registry_lookup("task", "assay/vuln_detect") is not None


def test_languages_may_be_one_comma_separated_string() -> None:
    task = vuln_detect(seed=1, n=6, languages="c")
    assert {s.metadata["language"] for s in task.dataset if s.metadata} == {"c"}
    both = vuln_detect(seed=1, n=6, languages="python, c")
    assert both.metadata and both.metadata["languages"] == ["python", "c"]


def test_a_scripted_run_scores_as_expected(tmp_path: Path) -> None:
    samples = generate(SEED, N)
    pairs = list(zip(samples[::2], samples[1::2], strict=True))
    assert len(pairs) == 6
    replies: dict[str, str] = {}
    for i, (vuln, twin) in enumerate(pairs):
        assert vuln.line is not None
        vuln_reply, twin_reply = [
            # pair 0: both right; twin clean
            (f"ANSWER: {vuln.cwe} line {vuln.line}", "ANSWER: none"),
            # pair 1: right, line off by one (accepted); twin clean
            (f"Reasoning...\n**ANSWER:** {vuln.cwe}, line {vuln.line + 1}", "answer: None."),
            # pair 2: right CWE, line off by three; twin clean
            (f"ANSWER: {vuln.cwe} line {vuln.line + 3}", "ANSWER: not vulnerable"),
            # pair 3: wrong CWE, right line; twin flagged
            (f"ANSWER: CWE-20 line {vuln.line}", "ANSWER: CWE-89 line 2"),
            # pair 4: missed; twin flagged
            ("ANSWER: none", "ANSWER: CWE-787 line 9"),
            # pair 5: no answer line; twin clean
            ("I cannot tell.", "ANSWER: none"),
        ][i]
        replies[prompt(vuln)] = vuln_reply
        replies[prompt(twin)] = twin_reply
    seen_system: list[str] = []

    def respond(
        messages: list[ChatMessage], tools: object, tool_choice: object, config: GenerateConfig
    ) -> ModelOutput:
        seen_system.append(messages[0].text)
        return _reply(replies[messages[-1].text])

    model = get_model("mockllm/model", custom_outputs=respond)
    [log] = inspect_eval(
        vuln_detect(seed=SEED, n=N),
        model=model,
        log_dir=str(tmp_path / "logs"),
        log_format="json",
        display="none",
    )
    gc.collect()  # the runner's leftover streams warn now, under this module's filters

    assert log.status == "success", log.error
    assert log.eval.task == "assay/vuln_detect"
    assert set(seen_system) == {SYSTEM_PROMPT}
    assert log.results is not None
    [score] = log.results.scores
    metrics = {name: m.value for name, m in score.metrics.items()}
    assert metrics == pytest.approx(
        {
            "cwe_accuracy": 3 / 6,
            "line_accuracy": 3 / 6,
            "detection_rate": 4 / 6,
            "false_positive_rate": 2 / 6,
            "unparsed_rate": 1 / 12,
            # sqrt(s² / n) over the six vulnerable samples and the six twins.
            "cwe_accuracy_stderr": math.sqrt(0.3 / 6),
            "line_accuracy_stderr": math.sqrt(0.3 / 6),
            "detection_rate_stderr": math.sqrt((4 / 6 * 2 / 6 * 6 / 5) / 6),
            "false_positive_rate_stderr": math.sqrt((2 / 6 * 4 / 6 * 6 / 5) / 6),
        }
    )
    assert log.samples is not None
    by_id = {str(s.id): s for s in log.samples}
    first = by_id[pairs[0][0].id].scores
    assert first is not None
    assert first["vuln_detect_scorer"].value == {
        "vulnerable": 1,
        "parsed": 1,
        "flagged": 1,
        "cwe_correct": 1,
        "line_correct": 1,
        "false_positive": 0,
    }
    assert by_id[pairs[0][0].id].target == f"{pairs[0][0].cwe} line {pairs[0][0].line}"
    assert by_id[pairs[0][1].id].target == "none"
