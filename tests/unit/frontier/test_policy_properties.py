"""Properties of evaluation over arbitrary rule trees and arbitrary facts of the right types."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator

from hypothesis import given, settings
from hypothesis import strategies as st

from assay.frontier.policy import (
    FACTS,
    AllOf,
    AnyOf,
    Compare,
    FactType,
    Not,
    Op,
    Outcome,
    Policy,
    Rule,
    evaluate,
    load_presets,
)
from assay.frontier.policy.language import OPS_BY_TYPE, children

BENCHMARKS = ("benchmark.cybench", "benchmark.swe-bench")
NAMES = (*FACTS, *BENCHMARKS)
SUMMABLE = tuple(name for name, spec in FACTS.items() if spec.nonnegative)
# Values at and beside the presets' thresholds, so boundaries are hit often.
EDGES = (0.0, 0.5, 1.0, 9_999, 10_000, 1e23, 1e25, 1e26, 5e8, 5e25)


def _type(name: str) -> FactType:
    return FactType.NUMBER if name in BENCHMARKS else FACTS[name].type


def value_of(name: str) -> st.SearchStrategy[object]:
    fact_type = _type(name)
    if fact_type is FactType.BOOL:
        return st.booleans()
    if fact_type is FactType.STRINGS:
        return st.lists(st.sampled_from(["text", "image", "audio", "Video"]), max_size=3)
    low = None if name in BENCHMARKS else 0
    numbers = st.floats(min_value=low, max_value=1e30, allow_nan=False, allow_infinity=False)
    ints = st.integers(min_value=low, max_value=10**27)
    return st.one_of(st.sampled_from(EDGES), numbers, ints)


def facts_strategy() -> st.SearchStrategy[dict[str, object]]:
    """Any subset of the facts, each absent, None, or a value of its type."""
    optional = {name: st.one_of(st.none(), value_of(name)) for name in NAMES}
    return st.fixed_dictionaries({}, optional=optional)


@st.composite
def leaves(draw: st.DrawFn) -> Compare:
    if draw(st.booleans()):
        facts = tuple(
            draw(st.lists(st.sampled_from(SUMMABLE), min_size=2, max_size=3, unique=True))
        )
        fact_type = FactType.NUMBER
    else:
        facts = (draw(st.sampled_from(NAMES)),)
        fact_type = _type(facts[0])
    op = draw(st.sampled_from(OPS_BY_TYPE[fact_type]))
    threshold: bool | int | float | str
    if fact_type is FactType.BOOL:
        threshold = draw(st.booleans())
    elif fact_type is FactType.STRINGS:
        threshold = draw(st.sampled_from(["text", "image", "video"]))
    else:
        threshold = draw(
            st.one_of(st.sampled_from(EDGES), st.floats(-10, 1e30), st.integers(-5, 10**27))
        )
    return Compare(id="x", citation="c", facts=facts, op=op, threshold=threshold)


def _composites(inner: st.SearchStrategy[Rule]) -> st.SearchStrategy[Rule]:
    kids = st.lists(inner, min_size=1, max_size=4).map(tuple)
    return st.one_of(
        kids.map(lambda c: AllOf(id="x", citation="c", children=c)),
        kids.map(lambda c: AnyOf(id="x", citation="c", children=c)),
        inner.map(lambda c: Not(id="x", citation="c", child=c)),
    )


def _relabel(rule: Rule, counter: Iterator[int]) -> Rule:
    rule = dataclasses.replace(rule, id=f"r{next(counter)}")
    if isinstance(rule, (AllOf, AnyOf)):
        return dataclasses.replace(
            rule, children=tuple(_relabel(c, counter) for c in rule.children)
        )
    if isinstance(rule, Not):
        return dataclasses.replace(rule, child=_relabel(rule.child, counter))
    return rule


def _policy(root: Rule) -> Policy:
    return Policy(
        name="random",
        version=1,
        title="Random",
        description="Generated.",
        default=False,
        parameters={},
        root=_relabel(root, itertools.count()),
    )


POLICIES = st.one_of(
    st.sampled_from(load_presets()),
    st.recursive(leaves(), _composites, max_leaves=12).map(_policy),
)


def _absent(policy: Policy, facts: dict[str, object]) -> list[str]:
    return [name for name in policy.facts() if facts.get(name) is None]


@given(POLICIES, facts_strategy())
def test_evaluate_never_raises_and_traces_every_node(
    policy: Policy, facts: dict[str, object]
) -> None:
    evaluation = evaluate(policy, facts)
    nodes = list(policy.nodes())
    assert len(evaluation.trace) == len(nodes)
    assert [e.rule for e in evaluation.trace] == [rule.id for rule, _, _ in nodes]
    assert [e.depth for e in evaluation.trace] == [depth for _, depth, _ in nodes]
    root_result = evaluation.trace[0].result.value
    expected = {"true": Outcome.COVERED, "false": Outcome.NOT_COVERED}
    assert evaluation.outcome is expected.get(root_result, Outcome.INDETERMINATE)
    assert bool(evaluation.missing) == (evaluation.outcome is Outcome.INDETERMINATE)
    assert set(evaluation.missing) <= set(_absent(policy, facts))
    assert len(evaluation.missing) == len(set(evaluation.missing))
    evaluation.as_dict()


@given(POLICIES, facts_strategy(), st.data())
def test_filling_in_missing_facts(
    policy: Policy, facts: dict[str, object], data: st.DataObject
) -> None:
    before = evaluate(policy, facts)
    fill = {name: data.draw(value_of(name), label=name) for name in _absent(policy, facts)}

    # Facts that ``missing`` leaves out cannot decide an indeterminate outcome.
    unnamed = {k: v for k, v in fill.items() if k not in before.missing}
    partly = evaluate(policy, {**facts, **unnamed})
    assert partly.outcome is before.outcome
    assert partly.missing == before.missing

    # With every fact known the outcome is determinate, and Kleene logic is monotone: a
    # node known before keeps its result, so a determinate outcome never flips.
    after = evaluate(policy, {**facts, **fill})
    assert after.outcome is not Outcome.INDETERMINATE
    assert after.missing == []
    if before.outcome is not Outcome.INDETERMINATE:
        assert after.outcome is before.outcome
    for old, new in zip(before.trace, after.trace, strict=True):
        if old.result.value != "unknown":
            assert new.result is old.result, old.rule


def test_generated_trees_use_every_kind() -> None:
    """The strategy reaches all node kinds and every operator, so the properties cover them."""
    seen_ops: set[Op] = set()
    seen_kinds: set[str] = set()

    @settings(max_examples=200, derandomize=True, database=None)
    @given(st.recursive(leaves(), _composites, max_leaves=12))
    def collect(rule: Rule) -> None:
        stack = [rule]
        while stack:
            node = stack.pop()
            seen_kinds.add(node.kind.value)
            if isinstance(node, Compare):
                seen_ops.add(node.op)
            stack.extend(children(node))

    collect()
    assert seen_kinds == {"all", "any", "not", "compare"}
    assert seen_ops == set(Op)
