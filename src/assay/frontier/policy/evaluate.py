"""Applying a policy to a model's facts: a pure function with three-valued logic.

Every rule is true, false or unknown (``None``). A comparison is unknown when a fact it
reads is missing; ``any``, ``all`` and ``not`` follow Kleene's logic, so a result that the
known facts already decide never changes when the missing ones arrive. That is what lets
``missing`` name only the facts that could still change the outcome.

Numbers compare as the decimals they are written as (see ``_exact``), so a boundary is
exactly where the policy text puts it.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Final

from assay.frontier.policy._nodes import Scalar
from assay.frontier.policy.facts import FactValue, read_fact
from assay.frontier.policy.language import (
    SYMBOLS,
    AllOf,
    AnyOf,
    Compare,
    Kind,
    Not,
    Op,
    Policy,
    Rule,
    children,
)

Truth = bool | None


class Outcome(StrEnum):
    COVERED = "covered"
    NOT_COVERED = "not_covered"
    INDETERMINATE = "indeterminate"


class Result(StrEnum):
    TRUE = "true"
    FALSE = "false"
    UNKNOWN = "unknown"

    @classmethod
    def of(cls, truth: Truth) -> Result:
        return cls.UNKNOWN if truth is None else cls.TRUE if truth else cls.FALSE


@dataclass(frozen=True, kw_only=True)
class TraceEntry:
    """What one rule node found; the trace holds one per node, in pre-order."""

    rule: str
    """The rule's id."""
    kind: Kind
    depth: int
    """0 for a top rule, one more for each level below, so a trace can be indented."""
    fact: str | None
    """The fact compared, ``a+b`` for a sum, ``None`` for all/any/not."""
    value: FactValue | None
    """The value compared (the total for a sum), ``None`` if missing or not a comparison."""
    op: Op | None
    threshold: Scalar | None
    parameter: str | None
    """The policy parameter the threshold came from, if any."""
    result: Result
    citation: str
    missing: tuple[str, ...]
    """The facts this comparison lacked (for a sum: the parts that were missing)."""
    informational: bool
    """Traced for the record; never changes the outcome."""
    note: str
    """Why the result is what it is, in words."""

    def as_dict(self) -> dict[str, object]:
        """A JSON-safe dict (enum values as strings, tuples as lists)."""
        return {
            "rule": self.rule,
            "kind": self.kind.value,
            "depth": self.depth,
            "fact": self.fact,
            "value": _json(self.value),
            "op": None if self.op is None else self.op.value,
            "threshold": _json(self.threshold),
            "parameter": self.parameter,
            "result": self.result.value,
            "citation": self.citation,
            "missing": list(self.missing),
            "informational": self.informational,
            "note": self.note,
        }


@dataclass(frozen=True, kw_only=True)
class Evaluation:
    outcome: Outcome
    trace: list[TraceEntry]
    missing: list[str]
    """The missing facts that could change the outcome; empty when it is determinate."""

    def as_dict(self) -> dict[str, object]:
        return {
            "outcome": self.outcome.value,
            "missing": list(self.missing),
            "trace": [entry.as_dict() for entry in self.trace],
        }


def evaluate(policy: Policy, facts: Mapping[str, object]) -> Evaluation:
    """Apply ``policy`` to ``facts``; raises ``FactError`` only for a value of the wrong kind."""
    root = _evaluate(policy.root, facts, depth=0, informational=False)
    trace = _flatten(root)
    for rule in policy.informational:
        trace.extend(_flatten(_evaluate(rule, facts, depth=0, informational=True)))
    deciding: dict[str, None] = {}
    _collect_deciding(root, deciding)
    outcome = {
        True: Outcome.COVERED,
        False: Outcome.NOT_COVERED,
        None: Outcome.INDETERMINATE,
    }[root.truth]
    return Evaluation(outcome=outcome, trace=trace, missing=list(deciding))


@dataclass(frozen=True)
class _Node:
    entry: TraceEntry
    truth: Truth
    kids: tuple[_Node, ...]


def _evaluate(rule: Rule, facts: Mapping[str, object], *, depth: int, informational: bool) -> _Node:
    kids = tuple(
        _evaluate(c, facts, depth=depth + 1, informational=informational) for c in children(rule)
    )
    if isinstance(rule, Compare):
        truth, value, missing, note = _compare(rule, facts)
    else:
        truth, note = _combine(rule, tuple(k.truth for k in kids))
        value, missing = None, ()
    entry = TraceEntry(
        rule=rule.id,
        kind=rule.kind,
        depth=depth,
        fact=rule.subject if isinstance(rule, Compare) else None,
        value=value,
        op=rule.op if isinstance(rule, Compare) else None,
        threshold=rule.threshold if isinstance(rule, Compare) else None,
        parameter=rule.parameter if isinstance(rule, Compare) else None,
        result=Result.of(truth),
        citation=rule.citation,
        missing=missing,
        informational=informational,
        note=note,
    )
    return _Node(entry, truth, kids)


def _flatten(node: _Node) -> list[TraceEntry]:
    out = [node.entry]
    for kid in node.kids:
        out.extend(_flatten(kid))
    return out


def _collect_deciding(node: _Node, out: dict[str, None]) -> None:
    """The missing facts under unknown nodes reached from an unknown root through unknown
    nodes only: a known node stays known whatever the missing facts turn out to be."""
    if node.truth is not None:
        return
    out.update(dict.fromkeys(node.entry.missing))
    for kid in node.kids:
        _collect_deciding(kid, out)


def _combine(rule: AllOf | AnyOf | Not, truths: tuple[Truth, ...]) -> tuple[Truth, str]:
    if isinstance(rule, Not):
        (inner,) = truths
        flipped = None if inner is None else not inner
        return flipped, f"the rule below is {Result.of(inner)}"
    counts = f"{truths.count(True)} true, {truths.count(False)} false, {truths.count(None)} unknown"
    decisive = isinstance(rule, AnyOf)  # the child value that settles the rule on its own
    if decisive in truths:
        return decisive, counts
    if None in truths:
        return None, counts
    return not decisive, counts


def _compare(
    rule: Compare, facts: Mapping[str, object]
) -> tuple[Truth, FactValue | None, tuple[str, ...], str]:
    values = [read_fact(facts, name) for name in rule.facts]
    missing = tuple(name for name, v in zip(rule.facts, values, strict=True) if v is None)
    test = f"{SYMBOLS[rule.op]} {_show(rule.threshold)}"
    if len(values) == 1:
        (value,) = values
        if value is None:
            return None, None, missing, f"{rule.subject} is missing"
        truth = _apply(rule.op, value, rule.threshold)
        return truth, value, (), f"{rule.subject} is {_show(value)}; rule: {test}"
    numbers = [v for v in values if isinstance(v, (int, float))]
    exact = sum((_exact(v) for v in numbers), Fraction(0))
    known = int(exact) if all(isinstance(v, int) for v in numbers) else float(exact)
    if not missing:
        truth = _apply(rule.op, exact, rule.threshold)
        return truth, known, (), f"{rule.subject} is {_show(known)}; rule: {test}"
    bounded = _bounded(rule.op, exact, rule.threshold)
    gaps = ", ".join(missing)
    if bounded is None:
        note = f"the known parts total {_show(known)}; {gaps} missing, so {test} is open"
    else:
        note = f"the known parts alone total {_show(known)}, which settles {test} ({gaps} missing)"
    return bounded, None, missing, note


def _bounded(op: Op, lower: Fraction, threshold: Scalar) -> Truth:
    """A sum of non-negative parts with some missing is at least ``lower`` and may be any
    larger value, so only a comparison that the lower bound already settles is known."""
    assert isinstance(threshold, (int, float))
    bound = _exact(threshold)
    if lower > bound:
        return {Op.GT: True, Op.GTE: True, Op.NE: True}.get(op, False)
    if lower == bound:
        return {Op.GTE: True, Op.LT: False}.get(op)
    return None


_ORDER: Final[Mapping[Op, Callable[[Fraction, Fraction], bool]]] = {
    Op.GT: operator.gt,
    Op.GTE: operator.ge,
    Op.LT: operator.lt,
    Op.LTE: operator.le,
    Op.EQ: operator.eq,
    Op.NE: operator.ne,
}


def _apply(op: Op, value: FactValue | Fraction, threshold: Scalar) -> bool:
    if op is Op.CONTAINS:
        assert isinstance(value, tuple) and isinstance(threshold, str)
        # Modalities are self-reported words: "Image" and "image" are the same modality.
        return threshold.casefold() in {v.casefold() for v in value}
    if isinstance(value, bool) or isinstance(threshold, bool):
        return (value == threshold) is (op is Op.EQ)
    assert isinstance(value, (int, float, Fraction)) and isinstance(threshold, (int, float))
    return _ORDER[op](_exact(value), _exact(threshold))


def _exact(number: int | float | Fraction) -> Fraction:
    """The number a float prints as, exactly: ``1e26`` is 10^26, not the nearest double
    (10^26 + 4764729344), so a fact and a threshold both written 1e26 are equal, a sum is
    never rounded onto or off a boundary, and an integer count compares exactly."""
    return Fraction(repr(number)) if isinstance(number, float) else Fraction(number)


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(value) + "]"
    return repr(value)


def _json(value: object) -> object:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return value
