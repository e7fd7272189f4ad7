"""The coverage-policy rule language: its tree, and how the tree is read from YAML nodes.

A rule is a mapping with an ``id``, a ``citation`` (the legal source it mirrors), an
optional ``note``, and exactly one of::

    all: [rule, ...]        true when every child is true
    any: [rule, ...]        true when some child is true
    not: rule
    fact: NAME              compared with op: gt|gte|lt|lte|eq|ne|contains
    sum: [NAME, NAME, ...]  and value: a number, true/false, text or $parameter

Thresholds are checked against the fact's type when the policy is read, so a policy that
loads can always be evaluated.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar, Final, TypeAlias, TypedDict

from yaml.nodes import Node, ScalarNode

from assay.frontier.policy._nodes import NodeReader, Scalar, line_of
from assay.frontier.policy.facts import FactType, fact_spec, unknown_fact_message


class Op(StrEnum):
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    EQ = "eq"
    NE = "ne"
    CONTAINS = "contains"


SYMBOLS: Final[Mapping[Op, str]] = {
    Op.GT: ">",
    Op.GTE: ">=",
    Op.LT: "<",
    Op.LTE: "<=",
    Op.EQ: "==",
    Op.NE: "!=",
    Op.CONTAINS: "contains",
}
OPS_BY_TYPE: Final[Mapping[FactType, tuple[Op, ...]]] = {
    FactType.NUMBER: (Op.GT, Op.GTE, Op.LT, Op.LTE, Op.EQ, Op.NE),
    FactType.BOOL: (Op.EQ, Op.NE),
    FactType.STRINGS: (Op.CONTAINS,),
}


class Kind(StrEnum):
    ALL = "all"
    ANY = "any"
    NOT = "not"
    COMPARE = "compare"


@dataclass(frozen=True, kw_only=True)
class Parameter:
    """A named threshold; rules refer to it as ``$name``."""

    name: str
    default: Scalar
    description: str
    """What the threshold measures and why it has this value."""


@dataclass(frozen=True, kw_only=True)
class _Node:
    id: str
    """Unique within the policy; the trace names rules by it."""
    citation: str
    """The legal source the rule mirrors, e.g. "Executive Order 14110, sec. 4.2(b)(i)"."""
    line: int = 0
    """Where the rule starts in the policy text (0 when built in code)."""
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class Compare(_Node):
    """A fact (or a sum of facts) compared with a threshold."""

    facts: tuple[str, ...]
    """One fact, or the parts of a sum."""
    op: Op
    threshold: Scalar
    parameter: str | None = None
    """The parameter the threshold came from, if any."""
    kind: ClassVar[Kind] = Kind.COMPARE

    @property
    def subject(self) -> str:
        """How the trace names what is compared: a fact, or ``a+b`` for a sum."""
        return "+".join(self.facts)


@dataclass(frozen=True, kw_only=True)
class AllOf(_Node):
    children: tuple[Rule, ...]
    kind: ClassVar[Kind] = Kind.ALL


@dataclass(frozen=True, kw_only=True)
class AnyOf(_Node):
    children: tuple[Rule, ...]
    kind: ClassVar[Kind] = Kind.ANY


@dataclass(frozen=True, kw_only=True)
class Not(_Node):
    child: Rule
    kind: ClassVar[Kind] = Kind.NOT


Rule: TypeAlias = Compare | AllOf | AnyOf | Not


def children(rule: Rule) -> tuple[Rule, ...]:
    if isinstance(rule, (AllOf, AnyOf)):
        return rule.children
    if isinstance(rule, Not):
        return (rule.child,)
    return ()


def walk(rule: Rule, depth: int = 0) -> Iterator[tuple[Rule, int]]:
    """Every node of a rule tree in pre-order, with its depth (the root is 0)."""
    yield rule, depth
    for child in children(rule):
        yield from walk(child, depth + 1)


def rule_as_dict(rule: Rule) -> dict[str, object]:
    out: dict[str, object] = {"id": rule.id, "citation": rule.citation}
    if rule.note:
        out["note"] = rule.note
    if isinstance(rule, Compare):
        if len(rule.facts) == 1:
            out["fact"] = rule.facts[0]
        else:
            out["sum"] = list(rule.facts)
        out["op"] = rule.op.value
        out["value"] = f"${rule.parameter}" if rule.parameter else rule.threshold
        out["threshold"] = rule.threshold
    elif isinstance(rule, Not):
        out["not"] = rule_as_dict(rule.child)
    else:
        out[rule.kind.value] = [rule_as_dict(c) for c in rule.children]
    return out


@dataclass(frozen=True, kw_only=True)
class Policy:
    """One version of a coverage policy, as read from its YAML text."""

    name: str
    version: int
    title: str
    description: str
    default: bool
    """Whether this is the policy Assay applies when none is named."""
    parameters: dict[str, Parameter]
    root: Rule
    """The rule whose result is the outcome."""
    informational: tuple[Rule, ...] = ()
    """Rules evaluated and traced for the record that never change the outcome."""
    source: str = ""
    """The file name or label the text came from."""
    source_text: str = field(default="", repr=False)
    """The exact text, kept because a determination must say which text it used."""

    def __hash__(self) -> int:
        # The generated hash would fail on the parameters dict; the text identifies a policy.
        return hash((self.name, self.version, self.source_text))

    @property
    def sha256(self) -> str:
        """The SHA-256 of ``source_text``, as a determination records it."""
        return hashlib.sha256(self.source_text.encode()).hexdigest()

    def nodes(self) -> Iterator[tuple[Rule, int, bool]]:
        """Every rule node in trace order: (rule, depth, informational)."""
        for rule, depth in walk(self.root):
            yield rule, depth, False
        for top in self.informational:
            for rule, depth in walk(top):
                yield rule, depth, True

    def facts(self) -> tuple[str, ...]:
        """Every fact the policy reads, in order of first use."""
        seen: dict[str, None] = {}
        for rule, _, _ in self.nodes():
            if isinstance(rule, Compare):
                seen.update(dict.fromkeys(rule.facts))
        return tuple(seen)

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "version": self.version,
            "title": self.title,
            "description": self.description,
            "default": self.default,
            "sha256": self.sha256,
            "parameters": {
                p.name: {"default": p.default, "description": p.description}
                for p in self.parameters.values()
            },
            "facts": list(self.facts()),
            "rule": rule_as_dict(self.root),
            "informational": [rule_as_dict(r) for r in self.informational],
        }


_COMPOSITES: Final = ("all", "any", "not")
_LEAVES: Final = ("fact", "sum")
_RULE_KEYS: Final = ("id", "citation", "note", *_COMPOSITES, *_LEAVES, "op", "value")
_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*")
_MAX_DEPTH: Final = 32


class _Common(TypedDict):
    id: str
    citation: str
    line: int
    note: str


def _type_problem(value: Scalar | None, fact_type: FactType) -> str | None:
    """What a threshold for a fact of this type must be, if ``value`` is not that."""
    if fact_type is FactType.NUMBER:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "a finite number"
        return None if math.isfinite(value) else "a finite number"
    if fact_type is FactType.BOOL:
        return None if isinstance(value, bool) else "true or false"
    return None if isinstance(value, str) and value else "text"


class RuleParser:
    """Reads rule trees from YAML nodes; one parser per policy, so ids are unique in it."""

    def __init__(self, reader: NodeReader, parameters: Mapping[str, Parameter]) -> None:
        self.reader = reader
        self.parameters = parameters
        self.used: set[str] = set()
        """The parameters some rule referred to."""
        self._ids: dict[str, Node] = {}

    def parse(self, node: Node, depth: int = 0) -> Rule:
        r = self.reader
        if depth > _MAX_DEPTH:
            r.fail(node, f"rules are nested more than {_MAX_DEPTH} deep")
        entries = r.mapping(node, "a rule", allowed=_RULE_KEYS)
        heads = [k for k in (*_COMPOSITES, *_LEAVES) if k in entries]
        if len(heads) != 1:
            found = f" (found {', '.join(heads)})" if heads else ""
            r.fail(node, f"a rule needs exactly one of all, any, not, fact or sum{found}")
        head = heads[0]
        rule_id = self._id(node, entries)
        if "citation" not in entries:
            r.fail(node, f"rule '{rule_id}' has no citation; every rule must cite its source")
        citation = r.string(entries["citation"][1], f"the citation of rule '{rule_id}'")
        note = r.string(entries["note"][1], "note") if "note" in entries else ""
        common = _Common(id=rule_id, citation=citation, line=line_of(node), note=note)
        if head in _LEAVES:
            return self._compare(node, entries, head, common)
        for key in ("op", "value"):
            if key in entries:
                r.fail(entries[key][0], f"'{key}' belongs to a fact or sum, not to '{head}'")
        body = entries[head][1]
        if head == "not":
            return Not(child=self.parse(body, depth + 1), **common)
        items = r.sequence(body, f"'{head}'")
        if not items:
            r.fail(body, f"'{head}' needs at least one rule")
        kids = tuple(self.parse(item, depth + 1) for item in items)
        return AllOf(children=kids, **common) if head == "all" else AnyOf(children=kids, **common)

    def _id(self, node: Node, entries: Mapping[str, tuple[ScalarNode, Node]]) -> str:
        if "id" not in entries:
            self.reader.fail(node, "a rule needs an 'id'")
        id_node = entries["id"][1]
        rule_id = self.reader.string(id_node, "a rule id")
        if not _ID.fullmatch(rule_id):
            self.reader.fail(id_node, f"rule id {rule_id!r} may hold only letters, digits, _.:-")
        first = self._ids.get(rule_id)
        if first is id_node:
            # An alias hands back the very node it names, so the place is the anchor's.
            self.reader.fail(id_node, f"rule '{rule_id}' is repeated by a YAML alias")
        if first is not None:
            self.reader.fail(
                id_node, f"rule id '{rule_id}' is already used on line {line_of(first)}"
            )
        self._ids[rule_id] = id_node
        return rule_id

    def _compare(
        self,
        node: Node,
        entries: Mapping[str, tuple[ScalarNode, Node]],
        head: str,
        common: _Common,
    ) -> Compare:
        r = self.reader
        facts = self._subject(entries[head][1], head)
        spec = fact_spec(facts[0])
        assert spec is not None
        subject = "+".join(facts)
        allowed = OPS_BY_TYPE[spec.type]
        for key in ("op", "value"):
            if key not in entries:
                r.fail(node, f"the comparison of '{subject}' needs '{key}'")
        op_node = entries["op"][1]
        op_text = r.string(op_node, "op")
        try:
            op = Op(op_text)
        except ValueError:
            known = ", ".join(o.value for o in Op)
            r.fail(op_node, f"unknown operator '{op_text}' (known: {known})")
        if op not in allowed:
            use = ", ".join(o.value for o in allowed)
            r.fail(
                op_node, f"operator '{op}' does not apply to '{subject}', a {spec.type} (use {use})"
            )
        threshold, parameter = self._threshold(entries["value"][1], spec.type, subject)
        return Compare(facts=facts, op=op, threshold=threshold, parameter=parameter, **common)

    def _subject(self, node: Node, head: str) -> tuple[str, ...]:
        r = self.reader
        items = [node] if head == "fact" else r.sequence(node, "'sum'")
        names: list[str] = []
        for item in items:
            name = r.string(item, "a fact name")
            spec = fact_spec(name)
            if spec is None:
                r.fail(item, unknown_fact_message(name))
            if head == "sum" and not spec.nonnegative:
                r.fail(item, f"'{name}' cannot be summed: sum adds only non-negative quantities")
            if name in names:
                r.fail(item, f"'{name}' appears twice in the sum")
            names.append(name)
        if head == "sum" and len(names) < 2:
            r.fail(node, "'sum' needs at least two facts")
        return tuple(names)

    def _threshold(
        self, node: Node, fact_type: FactType, subject: str
    ) -> tuple[Scalar, str | None]:
        r = self.reader
        value = r.scalar(node)
        parameter: str | None = None
        if isinstance(value, str) and value.startswith("$"):
            parameter = value[1:]
            if parameter not in self.parameters:
                defined = ", ".join(f"${p}" for p in self.parameters) or "none"
                r.fail(node, f"unknown parameter '${parameter}' (defined: {defined})")
            self.used.add(parameter)
            value = self.parameters[parameter].default
        problem = _type_problem(value, fact_type)
        if problem is not None:
            via = f" (from parameter '${parameter}')" if parameter else ""
            r.fail(node, f"the threshold for '{subject}' must be {problem}, got {value!r}{via}")
        assert value is not None
        return value, parameter
