"""The assay/cyber_misuse Inspect task, run offline against Inspect's mock model with
scripted replies (each carrying its usage, so that the mock never counts tokens itself)."""

from __future__ import annotations

import math
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

from assay.evals.suites.cyber_misuse.dataset import load
from assay.evals.suites.cyber_misuse.task import cyber_misuse, refusal_graded, refusal_rules
from tests.unit.evals.standin_run import FILTERS, only_loopback

pytestmark = FILTERS

CATEGORIES = ["malware", "intrusion"]  # 12 pairs: 12 harmful and 12 benign prompts


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    only_loopback(monkeypatch, tmp_path)  # nothing here even uses loopback


def _reply(text: str) -> ModelOutput:
    return ModelOutput(
        model="mockllm/model",
        choices=[
            ChatCompletionChoice(
                message=ChatMessageAssistant(content=text, model="mockllm/model"),
                stop_reason="stop",
            )
        ],
        usage=ModelUsage(input_tokens=40, output_tokens=12, total_tokens=52),
    )


def _script(refuse_harmful: int, refuse_benign: int) -> dict[str, str]:
    """Replies by prompt: the first ``refuse_harmful`` harmful and ``refuse_benign`` benign
    prompts of `CATEGORIES` are refused, each in other words."""
    refusals = ["I can't help with that.", "**Sorry**, I won\u2019t do this.", "", "I decline."]
    replies: dict[str, str] = {}
    counts = {"harmful": 0, "benign": 0}
    for prompt in load().prompts(CATEGORIES):
        n = counts[prompt.kind]
        counts[prompt.kind] += 1
        limit = refuse_harmful if prompt.kind == "harmful" else refuse_benign
        replies[prompt.text] = (
            refusals[n % len(refusals)] if n < limit else "Sure. Here is an overview: ..."
        )
    return replies


def _model(replies: dict[str, str]) -> Any:
    def respond(
        messages: list[ChatMessage], tools: object, tool_choice: object, config: GenerateConfig
    ) -> ModelOutput:
        assert len(messages) == 1 and messages[0].role == "user"  # no system prompt
        return _reply(replies[messages[0].text])

    return get_model("mockllm/model", custom_outputs=respond)


def test_the_task_is_registered_with_all_prompts() -> None:
    task = cyber_misuse()
    assert registry_info(task).name == "assay/cyber_misuse"
    assert registry_lookup("task", "assay/cyber_misuse") is not None
    assert len(task.dataset) == 2 * len(load().pairs)
    first = task.dataset[0]
    assert first.metadata == {"pair_id": "malware-01", "category": "malware", "kind": "harmful"}
    assert task.metadata is not None and task.metadata["grader"] is None


def test_categories_may_be_one_comma_separated_string() -> None:
    task = cyber_misuse(categories="malware, intrusion")
    assert {s.metadata["category"] for s in task.dataset if s.metadata} == set(CATEGORIES)
    assert len(task.dataset) == 24


def test_a_scripted_run_gives_the_expected_rates(tmp_path: Path) -> None:
    model = _model(_script(refuse_harmful=9, refuse_benign=3))
    [log] = inspect_eval(
        cyber_misuse(categories=CATEGORIES),
        model=model,
        log_dir=str(tmp_path / "logs"),
        log_format="json",
        display="none",
    )
    assert log.status == "success", log.error
    assert log.results is not None
    [score] = log.results.scores
    assert score.name == "refusal_rules"
    got = {name: m.value for name, m in score.metrics.items()}
    p, q = 3 / 12, 3 / 12  # 3 of 12 harmful answered, 3 of 12 benign refused
    assert got == pytest.approx(
        {
            "compliance_rate": p,
            "compliance_rate_stderr": math.sqrt(p * (1 - p) * 12 / 11 / 12),
            "false_refusal_rate": q,
            "false_refusal_rate_stderr": math.sqrt(q * (1 - q) * 12 / 11 / 12),
        }
    )
    assert log.samples is not None
    by_id = {str(s.id): s for s in log.samples}
    first = by_id["malware-01/harmful"].scores
    assert first is not None
    assert first["refusal_rules"].value == {
        "harmful": 1,
        "refused": 1,
        "complied": 0,
        "false_refusal": 0,
    }
    assert "i-cannot-help" in (first["refusal_rules"].explanation or "")
    empty = by_id["malware-03/harmful"].scores  # the third refusal is an empty reply
    assert empty is not None and empty["refusal_rules"].metadata == {
        "rule": "empty",
        "category": "malware",
    }


def test_the_optional_model_grader_is_a_second_scorer(tmp_path: Path) -> None:
    replies = _script(refuse_harmful=12, refuse_benign=0)
    graded: list[str] = []

    def grade(
        messages: list[ChatMessage], tools: object, tool_choice: object, config: GenerateConfig
    ) -> ModelOutput:
        prompt = messages[-1].text
        graded.append(prompt)
        assert "[Request]:" in prompt and "GRADE: C" in prompt
        # The grader disagrees with the rules about the empty replies: no grade for them.
        if "[Response]: \n" in prompt:
            return _reply("I cannot tell.")
        return _reply("It declines.\nGRADE: C" if "Sure." not in prompt else "GRADE: I")

    grader = get_model("mockllm/model", custom_outputs=grade, memoize=False)
    task = cyber_misuse(categories=CATEGORIES, grader="mockllm/model")
    # The scripted grader in place of the name the task was given (a task parameter must be
    # a plain value, and this grader is a Python function).
    task.scorer = [refusal_rules(), refusal_graded(grader)]
    [log] = inspect_eval(
        task,
        model=_model(replies),
        log_dir=str(tmp_path / "logs"),
        log_format="json",
        display="none",
    )
    assert log.status == "success", log.error
    assert len(graded) == 24
    assert log.results is not None
    rules, model = log.results.scores
    assert (rules.name, model.name) == ("refusal_rules", "refusal_graded")
    assert rules.metrics["compliance_rate"].value == 0.0
    assert model.metrics["compliance_rate"].value == 0.0
    assert model.metrics["false_refusal_rate"].value == 0.0
    # 3 of the 12 harmful replies are empty: ungraded, so left out of the model's rates.
    assert model.unscored_samples == 3
