"""Evaluating policies: three-valued logic, sums with missing parts, the trace, bad facts."""

from __future__ import annotations

import json
import textwrap

import pytest

from assay.frontier.policy import (
    Evaluation,
    FactError,
    Kind,
    Outcome,
    Policy,
    Result,
    evaluate,
    parse_policy,
    preset,
)


def policy_of(rule: str, parameters: str = "") -> Policy:
    text = "name: test\nversion: 1\ntitle: Test\ndescription: A test policy.\ndefault: false\n"
    if parameters:
        text += "parameters:\n" + textwrap.indent(textwrap.dedent(parameters), "  ")
    text += "rule:\n" + textwrap.indent(textwrap.dedent(rule), "  ")
    return parse_policy(text, "test.yaml")


def leaf(rule_id: str, fact: str, op: str, value: object) -> str:
    return f"{{id: {rule_id}, citation: c, fact: {fact}, op: {op}, value: {value}}}"


def results(evaluation: Evaluation) -> dict[str, str]:
    return {e.rule: e.result.value for e in evaluation.trace}


ANY_OF_THREE = policy_of(
    f"""
    id: top
    citation: c
    any:
      - {leaf("a", "training_flop", "gt", "1e26")}
      - {leaf("b", "bio_sequence_data", "eq", "true")}
      - {leaf("c", "benchmark.cybench", "gte", 0.5)}
    """
)
ALL_OF_THREE = policy_of(
    f"""
    id: top
    citation: c
    all:
      - {leaf("a", "training_flop", "gt", "1e26")}
      - {leaf("b", "bio_sequence_data", "eq", "true")}
      - {leaf("c", "benchmark.cybench", "gte", 0.5)}
    """
)
NOT_B = policy_of(
    f"""
    id: top
    citation: c
    not: {leaf("b", "bio_sequence_data", "eq", "true")}
    """
)


def test_any_with_one_true_and_the_rest_missing_is_covered_with_nothing_missing() -> None:
    evaluation = evaluate(ANY_OF_THREE, {"training_flop": 2e26})
    assert evaluation.outcome is Outcome.COVERED
    assert evaluation.missing == []
    assert results(evaluation) == {"top": "true", "a": "true", "b": "unknown", "c": "unknown"}


def test_any_all_false_is_not_covered() -> None:
    facts = {"training_flop": 1.0, "bio_sequence_data": False, "benchmark.cybench": 0.1}
    assert evaluate(ANY_OF_THREE, facts).outcome is Outcome.NOT_COVERED


def test_any_with_false_and_missing_names_only_the_missing() -> None:
    evaluation = evaluate(ANY_OF_THREE, {"training_flop": 1.0, "bio_sequence_data": False})
    assert evaluation.outcome is Outcome.INDETERMINATE
    assert evaluation.missing == ["benchmark.cybench"]


def test_all_with_one_false_and_the_rest_missing_is_not_covered() -> None:
    evaluation = evaluate(ALL_OF_THREE, {"bio_sequence_data": False})
    assert evaluation.outcome is Outcome.NOT_COVERED
    assert evaluation.missing == []


def test_all_true_is_covered_and_all_with_true_and_missing_is_indeterminate() -> None:
    facts: dict[str, object] = {"training_flop": 2e26, "bio_sequence_data": True}
    assert evaluate(ALL_OF_THREE, {**facts, "benchmark.cybench": 0.9}).outcome is Outcome.COVERED
    evaluation = evaluate(ALL_OF_THREE, facts)
    assert evaluation.outcome is Outcome.INDETERMINATE
    assert evaluation.missing == ["benchmark.cybench"]


def test_a_missing_deciding_fact_is_named_exactly() -> None:
    evaluation = evaluate(preset("eo-14110"), {"training_flop": 5e25})
    assert evaluation.outcome is Outcome.INDETERMINATE
    assert evaluation.missing == ["bio_sequence_data"]
    # Below the bio threshold the same gap no longer matters.
    evaluation = evaluate(preset("eo-14110"), {"training_flop": 1e22})
    assert evaluation.outcome is Outcome.NOT_COVERED
    assert evaluation.missing == []


def test_none_is_missing_and_missing_is_not_zero() -> None:
    for facts in ({}, {"training_flop": None, "bio_sequence_data": None}):
        evaluation = evaluate(preset("eo-14110"), facts)
        assert evaluation.outcome is Outcome.INDETERMINATE
        assert evaluation.missing == ["training_flop", "bio_sequence_data"]
    evaluation = evaluate(preset("eo-14110"), {"bio_sequence_data": False})
    assert evaluation.missing == ["training_flop"]


def test_not_flips_and_keeps_unknown() -> None:
    assert evaluate(NOT_B, {"bio_sequence_data": True}).outcome is Outcome.NOT_COVERED
    assert evaluate(NOT_B, {"bio_sequence_data": False}).outcome is Outcome.COVERED
    evaluation = evaluate(NOT_B, {})
    assert evaluation.outcome is Outcome.INDETERMINATE
    assert evaluation.missing == ["bio_sequence_data"]
    assert results(evaluation) == {"top": "unknown", "b": "unknown"}


SUM = "sum: [training_flop, finetune_flop]"


@pytest.mark.parametrize(
    ("op", "training", "expected"),
    [
        ("gt", 2e26, Result.TRUE),  # the known part alone exceeds the threshold
        ("gt", 1e26, Result.UNKNOWN),  # equal so far: the missing part decides
        ("gt", 5e25, Result.UNKNOWN),
        ("gte", 1e26, Result.TRUE),
        ("gte", 5e25, Result.UNKNOWN),
        ("lt", 1e26, Result.FALSE),
        ("lt", 5e25, Result.UNKNOWN),
        ("lte", 2e26, Result.FALSE),
        ("lte", 1e26, Result.UNKNOWN),
        ("eq", 2e26, Result.FALSE),
        ("ne", 2e26, Result.TRUE),
        ("eq", 1e26, Result.UNKNOWN),
    ],
)
def test_sum_with_a_missing_part(op: str, training: float, expected: Result) -> None:
    policy = policy_of(f"{{id: s, citation: c, {SUM}, op: {op}, value: 1e26}}")
    evaluation = evaluate(policy, {"training_flop": training})
    (entry,) = evaluation.trace
    assert entry.result is expected
    assert entry.value is None
    assert entry.missing == ("finetune_flop",)
    assert entry.fact == "training_flop+finetune_flop"
    assert evaluation.missing == ([] if expected is not Result.UNKNOWN else ["finetune_flop"])


def test_sum_with_every_part_known_reports_the_total() -> None:
    policy = policy_of(f"{{id: s, citation: c, {SUM}, op: gt, value: 1e26}}")
    (entry,) = evaluate(policy, {"training_flop": 6e25, "finetune_flop": 6e25}).trace
    assert entry.result is Result.TRUE
    assert entry.value == pytest.approx(1.2e26)
    assert entry.missing == ()


def test_trace_has_every_node_in_pre_order_with_depths() -> None:
    evaluation = evaluate(preset("covered-frontier-model"), {"training_flop": 2e26})
    assert [(e.rule, e.kind, e.depth) for e in evaluation.trace] == [
        ("covered-frontier-model", Kind.ANY, 0),
        ("total-compute", Kind.COMPARE, 1),
        ("biological-sequence-model", Kind.ALL, 1),
        ("bio-sequence-data", Kind.COMPARE, 2),
        ("bio-compute", Kind.COMPARE, 2),
        ("cyber-capability", Kind.COMPARE, 1),
    ]
    top, total = evaluation.trace[0], evaluation.trace[1]
    assert top.fact is None and top.op is None and top.threshold is None
    assert total.threshold == 1e26 and total.parameter == "compute_flop"
    assert all(e.citation for e in evaluation.trace)


def test_as_dict_is_json_safe() -> None:
    facts = {"training_flop": 2e26, "finetune_flop": 1e24, "modalities": ["text", "image"]}
    evaluation = evaluate(preset("covered-frontier-model"), facts)
    data = json.loads(json.dumps(evaluation.as_dict(), allow_nan=False))
    assert data["outcome"] == "covered"
    assert data["missing"] == []
    first = data["trace"][1]
    assert first == {
        "rule": "total-compute",
        "kind": "compare",
        "depth": 1,
        "fact": "training_flop+finetune_flop",
        "value": 2.01e26,
        "op": "gt",
        "threshold": 1e26,
        "parameter": "compute_flop",
        "result": "true",
        "citation": first["citation"],
        "missing": [],
        "informational": False,
        "note": "training_flop+finetune_flop is 2.01e+26; rule: > 1e+26",
    }
    assert "4.2(b)(i)" in first["citation"]
    json.dumps(preset("ca-sb-53").as_dict(), allow_nan=False)


def test_modalities_contains_ignores_case() -> None:
    policy = policy_of("{id: m, citation: c, fact: modalities, op: contains, value: image}")
    assert evaluate(policy, {"modalities": ["Text", "Image"]}).outcome is Outcome.COVERED
    assert evaluate(policy, {"modalities": ["text"]}).outcome is Outcome.NOT_COVERED
    assert evaluate(policy, {"modalities": []}).outcome is Outcome.NOT_COVERED
    assert evaluate(policy, {}).outcome is Outcome.INDETERMINATE


def test_benchmark_names_match_whatever_their_case() -> None:
    policy = preset("covered-frontier-model")
    assert evaluate(policy, {"benchmark.CyBench": 0.7}).outcome is Outcome.COVERED
    # The exact spelling wins over another casing.
    exact = {"benchmark.cybench": 0.1, "benchmark.CyBench": 0.7}
    assert results(evaluate(policy, exact))["cyber-capability"] == "false"
    # Two other casings and no exact one: ambiguous, so the score counts as missing.
    both = {"benchmark.CyBench": 0.7, "benchmark.CYBENCH": 0.1}
    assert results(evaluate(policy, both))["cyber-capability"] == "unknown"
    assert "benchmark.cybench" in evaluate(policy, both).missing


@pytest.mark.parametrize(
    ("facts", "message"),
    [
        ({"training_flop": "1e26"}, "'training_flop' must be a number"),
        ({"training_flop": True}, "'training_flop' must be a number"),
        ({"training_flop": -1.0}, "'training_flop' cannot be negative"),
        ({"training_flop": float("nan")}, "finite"),
        ({"bio_sequence_data": "yes"}, "'bio_sequence_data' must be true or false"),
        ({"benchmark.cybench": [0.5]}, "'benchmark.cybench' must be a number"),
    ],
)
def test_a_fact_of_the_wrong_kind_is_refused(facts: dict[str, object], message: str) -> None:
    with pytest.raises(FactError, match=message):
        evaluate(preset("covered-frontier-model"), facts)


def test_wrong_modalities_are_refused_and_negative_benchmarks_allowed() -> None:
    policy = policy_of("{id: m, citation: c, fact: modalities, op: contains, value: image}")
    with pytest.raises(FactError, match="list of strings"):
        evaluate(policy, {"modalities": "image"})
    assert evaluate(preset("covered-frontier-model"), {"benchmark.cybench": -1.0}).missing == [
        "training_flop",
        "finetune_flop",
        "bio_sequence_data",
    ]


def test_facts_outside_the_language_are_ignored() -> None:
    evaluation = evaluate(preset("eo-14110"), {"training_flop": 2e26, "name": "x", "cost": "?"})
    assert evaluation.outcome is Outcome.COVERED
