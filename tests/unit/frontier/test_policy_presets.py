"""The shipped presets: each threshold just below, at and just above its boundary."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable

import pytest

from assay.core.errors import NotFound
from assay.frontier.policy import (
    Compare,
    Evaluation,
    Op,
    Outcome,
    Policy,
    default_preset,
    evaluate,
    load_presets,
    parse_policy,
    preset,
)

INF = math.inf
COVERED, NOT_COVERED = Outcome.COVERED, Outcome.NOT_COVERED

# Every fact known and on the "not covered" side of every rule, so that one override at
# a time moves exactly one rule across its boundary.
BASE: dict[str, object] = {
    "training_flop": 0.0,
    "finetune_flop": 0.0,
    "parameters": 0,
    "bio_sequence_data": False,
    "revenue_usd": 0.0,
    "eu_business_users": 0,
    "modalities": ["text"],
    "benchmark.cybench": 0.0,
}


def below(x: float) -> float:
    return math.nextafter(x, -INF)


def above(x: float) -> float:
    return math.nextafter(x, INF)


def run(name: str, **overrides: object) -> Evaluation:
    return evaluate(preset(name), {**BASE, **overrides})


def result_of(evaluation: Evaluation, rule_id: str) -> str:
    (entry,) = [e for e in evaluation.trace if e.rule == rule_id]
    return entry.result.value


CASES: list[tuple[str, dict[str, object], Outcome]] = [
    # covered-frontier-model: total compute > 1e26
    ("covered-frontier-model", {"training_flop": below(1e26)}, NOT_COVERED),
    ("covered-frontier-model", {"training_flop": 1e26}, NOT_COVERED),
    ("covered-frontier-model", {"training_flop": above(1e26)}, COVERED),
    ("covered-frontier-model", {"training_flop": 5e25, "finetune_flop": 5e25}, NOT_COVERED),
    (
        "covered-frontier-model",
        {"training_flop": 5e25, "finetune_flop": above(1e26) - 5e25},
        COVERED,
    ),
    ("covered-frontier-model", {"finetune_flop": above(1e26)}, COVERED),
    ("covered-frontier-model", {"training_flop": 10**26}, NOT_COVERED),
    ("covered-frontier-model", {"training_flop": 10**26 + 1}, COVERED),
    # covered-frontier-model: biological sequence data and total compute > 1e23
    ("covered-frontier-model", {"bio_sequence_data": True, "training_flop": 1e23}, NOT_COVERED),
    (
        "covered-frontier-model",
        {"bio_sequence_data": True, "training_flop": above(1e23)},
        COVERED,
    ),
    (
        "covered-frontier-model",
        {"bio_sequence_data": True, "training_flop": 5e22, "finetune_flop": 6e22},
        COVERED,
    ),
    (
        "covered-frontier-model",
        {"bio_sequence_data": False, "training_flop": above(1e23)},
        NOT_COVERED,
    ),
    # covered-frontier-model: Cybench score >= 0.5
    ("covered-frontier-model", {"benchmark.cybench": below(0.5)}, NOT_COVERED),
    ("covered-frontier-model", {"benchmark.cybench": 0.5}, COVERED),
    ("covered-frontier-model", {"benchmark.cybench": above(0.5)}, COVERED),
    # eo-14110: pre-training compute alone > 1e26
    ("eo-14110", {"training_flop": below(1e26)}, NOT_COVERED),
    ("eo-14110", {"training_flop": 1e26}, NOT_COVERED),
    ("eo-14110", {"training_flop": above(1e26)}, COVERED),
    ("eo-14110", {"training_flop": 1e26, "finetune_flop": 1e26}, NOT_COVERED),
    ("eo-14110", {"bio_sequence_data": True, "training_flop": 1e23}, NOT_COVERED),
    ("eo-14110", {"bio_sequence_data": True, "training_flop": above(1e23)}, COVERED),
    ("eo-14110", {"bio_sequence_data": False, "training_flop": above(1e23)}, NOT_COVERED),
    (
        "eo-14110",
        {"bio_sequence_data": True, "training_flop": 1e23, "finetune_flop": 1e25},
        NOT_COVERED,
    ),
    # eu-ai-act-gpai-systemic: cumulative compute > 1e25, or >= 10 000 business users
    ("eu-ai-act-gpai-systemic", {"training_flop": below(1e25)}, NOT_COVERED),
    ("eu-ai-act-gpai-systemic", {"training_flop": 1e25}, NOT_COVERED),
    ("eu-ai-act-gpai-systemic", {"training_flop": above(1e25)}, COVERED),
    ("eu-ai-act-gpai-systemic", {"training_flop": 5e24, "finetune_flop": 5e24}, NOT_COVERED),
    ("eu-ai-act-gpai-systemic", {"training_flop": 5e24, "finetune_flop": 6e24}, COVERED),
    ("eu-ai-act-gpai-systemic", {"eu_business_users": 9_999}, NOT_COVERED),
    ("eu-ai-act-gpai-systemic", {"eu_business_users": 10_000}, COVERED),
    ("eu-ai-act-gpai-systemic", {"eu_business_users": 10_001}, COVERED),
]
for _name in ("ca-sb-53", "ny-raise"):
    CASES += [
        (_name, {"training_flop": below(1e26)}, NOT_COVERED),
        (_name, {"training_flop": 1e26}, NOT_COVERED),
        (_name, {"training_flop": above(1e26)}, COVERED),
        (_name, {"training_flop": 5e25, "finetune_flop": 5e25}, NOT_COVERED),
        (_name, {"training_flop": 5e25, "finetune_flop": 6e25}, COVERED),
        (_name, {"training_flop": 1e25, "finetune_flop": above(1e26)}, COVERED),
        # Revenue is informational: it never changes the outcome.
        (_name, {"training_flop": 1e26, "revenue_usd": 1e12}, NOT_COVERED),
        (_name, {"training_flop": above(1e26), "revenue_usd": 0.0}, COVERED),
    ]


@pytest.mark.parametrize(("name", "overrides", "expected"), CASES)
def test_boundaries(name: str, overrides: dict[str, object], expected: Outcome) -> None:
    evaluation = run(name, **overrides)
    assert evaluation.outcome is expected
    assert evaluation.missing == []


@pytest.mark.parametrize("name", ["ca-sb-53", "ny-raise"])
@pytest.mark.parametrize(
    ("revenue", "expected"),
    [(5e8, "false"), (below(5e8), "false"), (above(5e8), "true"), (500_000_001, "true")],
)
def test_large_frontier_developer_is_traced_not_decisive(
    name: str, revenue: float, expected: str
) -> None:
    for compute, outcome in ((1e26, NOT_COVERED), (2e26, COVERED)):
        evaluation = run(name, training_flop=compute, revenue_usd=revenue)
        assert evaluation.outcome is outcome
        assert result_of(evaluation, "frontier-model") == (
            "true" if outcome is COVERED else "false"
        )
        assert result_of(evaluation, "large-frontier-developer") == expected
        (info,) = [e for e in evaluation.trace if e.informational]
        assert info.citation.endswith('"large frontier developer"')


@pytest.mark.parametrize("name", ["ca-sb-53", "ny-raise"])
def test_missing_revenue_never_makes_the_outcome_indeterminate(name: str) -> None:
    evaluation = evaluate(preset(name), {"training_flop": 2e26})
    assert evaluation.outcome is COVERED
    assert evaluation.missing == []
    assert result_of(evaluation, "large-frontier-developer") == "unknown"


_ORDER: dict[Op, Callable[[float, float], bool]] = {
    Op.GT: operator.gt,
    Op.GTE: operator.ge,
    Op.LT: operator.lt,
    Op.LTE: operator.le,
    Op.EQ: operator.eq,
    Op.NE: operator.ne,
}


def _numeric_leaves() -> list[tuple[Policy, Compare]]:
    return [
        (policy, rule)
        for policy in load_presets()
        for rule, _, _ in policy.nodes()
        if isinstance(rule, Compare) and not isinstance(rule.threshold, (bool, str))
    ]


@pytest.mark.parametrize(
    ("policy", "leaf"),
    _numeric_leaves(),
    ids=lambda v: v.name if isinstance(v, Policy) else v.id,
)
def test_every_numeric_threshold_of_every_preset(policy: Policy, leaf: Compare) -> None:
    """Whatever thresholds a preset carries, each leaf flips exactly at its boundary."""
    threshold = leaf.threshold
    assert isinstance(threshold, (int, float))
    probes = [below(threshold), float(threshold), above(threshold)]
    if isinstance(threshold, int):
        probes += [threshold - 1, threshold, threshold + 1]
    for probe in probes:
        facts = {**BASE, **dict.fromkeys(leaf.facts, 0), leaf.facts[0]: probe}
        expected = _ORDER[leaf.op](probe, threshold)
        assert result_of(evaluate(policy, facts), leaf.id) == str(expected).lower(), probe


def test_every_preset_is_cited_and_round_trips() -> None:
    presets = load_presets()
    assert {p.name for p in presets} == {
        "covered-frontier-model",
        "eo-14110",
        "ca-sb-53",
        "ny-raise",
        "eu-ai-act-gpai-systemic",
    }
    for policy in presets:
        assert policy.version >= 1
        ids = [rule.id for rule, _, _ in policy.nodes()]
        assert len(ids) == len(set(ids))
        assert all(rule.citation.strip() for rule, _, _ in policy.nodes())
        assert all(p.description for p in policy.parameters.values())
        assert parse_policy(policy.source_text, policy.source) == policy
        assert len(policy.sha256) == 64


def test_the_default_preset_says_why_it_is_the_default() -> None:
    policy = default_preset()
    assert policy.name == "covered-frontier-model"
    assert policy.default is True
    assert "default" in policy.description
    assert "agreed with developers" in policy.description
    assert [p.name for p in load_presets() if p.default] == ["covered-frontier-model"]
    assert {name: p.default for name, p in policy.parameters.items()} == {
        "compute_flop": 1e26,
        "bio_compute_flop": 1e23,
        "cyber_score": 0.5,
    }


def test_eo_14110_records_its_revocation() -> None:
    assert "Executive Order 14148" in preset("eo-14110").description


def test_preset_lookup() -> None:
    assert preset("eo-14110", version=1).version == 1
    with pytest.raises(NotFound, match="known presets: ca-sb-53"):
        preset("eo-14111")
    with pytest.raises(NotFound, match="no version 99"):
        preset("eo-14110", version=99)
