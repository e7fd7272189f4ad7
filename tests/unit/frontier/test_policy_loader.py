"""Reading policy texts: a good one, and every fault named with its file and line."""

from __future__ import annotations

import textwrap

import pytest

from assay.core.errors import InvalidInput
from assay.frontier.policy import AnyOf, Compare, Not, PolicyError, parse_policy

GOOD = textwrap.dedent(
    """\
    name: demo
    version: 2
    title: Demo policy
    description: For tests.
    default: false
    parameters:
      compute_flop:
        default: 1e26
        description: Training compute threshold.
      users:
        default: 10_000
        description: Business users.
    rule:
      id: top
      citation: Somewhere, sec. 1
      any:
        - id: compute
          citation: Somewhere, sec. 1(a)
          sum: [training_flop, finetune_flop]
          op: gt
          value: $compute_flop
        - id: users
          citation: Somewhere, sec. 1(b)
          fact: eu_business_users
          op: gte
          value: $users
        - id: not-text
          citation: Somewhere, sec. 1(c)
          note: An example of not.
          not:
            id: text
            citation: Somewhere, sec. 1(d)
            fact: modalities
            op: contains
            value: text
    """
)


def line_of(text: str, marker: str, *, last: bool = False) -> int:
    """The 1-based line of the first (or last) line holding ``marker``."""
    found = [i for i, line in enumerate(text.splitlines(), 1) if marker in line]
    return found[-1] if last else found[0]


def fault(text: str, source: str = "policy.yaml") -> PolicyError:
    with pytest.raises(PolicyError) as info:
        parse_policy(text, source)
    return info.value


def assert_fault(text: str, marker: str, *words: str, last: bool = False) -> None:
    error = fault(text)
    line = line_of(text, marker, last=last)
    assert error.source == "policy.yaml"
    assert error.line == line, error.detail
    assert error.detail.startswith(f"policy.yaml, line {line}: "), error.detail
    for word in words:
        assert word in error.detail


def test_a_good_policy() -> None:
    policy = parse_policy(GOOD, "demo.yaml")
    assert (policy.name, policy.version, policy.title, policy.default) == (
        "demo",
        2,
        "Demo policy",
        False,
    )
    assert policy.source == "demo.yaml"
    assert policy.source_text == GOOD
    assert policy.parameters["compute_flop"].default == 1e26
    assert policy.parameters["users"].default == 10_000
    assert isinstance(policy.root, AnyOf)
    compute, users, negation = policy.root.children
    assert isinstance(compute, Compare) and compute.facts == ("training_flop", "finetune_flop")
    assert compute.threshold == 1e26 and compute.parameter == "compute_flop"
    assert compute.line == line_of(GOOD, "- id: compute")
    assert isinstance(users, Compare) and users.threshold == 10_000
    assert isinstance(negation, Not) and negation.note == "An example of not."
    assert policy.facts() == ("training_flop", "finetune_flop", "eu_business_users", "modalities")
    data = policy.as_dict()
    rule = data["rule"]
    assert isinstance(rule, dict)
    assert rule["any"][0] == {
        "id": "compute",
        "citation": "Somewhere, sec. 1(a)",
        "sum": ["training_flop", "finetune_flop"],
        "op": "gt",
        "value": "$compute_flop",
        "threshold": 1e26,
    }
    assert data["parameters"] == {
        "compute_flop": {"default": 1e26, "description": "Training compute threshold."},
        "users": {"default": 10_000, "description": "Business users."},
    }


def test_policy_error_is_invalid_input_with_source_and_line() -> None:
    error = fault(GOOD.replace("fact: eu_business_users", "fact: trainig_flop"), "x.yaml")
    assert isinstance(error, InvalidInput)
    assert error.status == 422
    assert error.source == "x.yaml"
    assert error.line == line_of(GOOD, "fact: eu_business_users")
    assert error.detail == (
        f"x.yaml, line {error.line}: unknown fact 'trainig_flop' (known: training_flop, "
        "finetune_flop, parameters, bio_sequence_data, revenue_usd, eu_business_users, "
        "modalities, benchmark.<name>); did you mean 'training_flop'?"
    )


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("name: demo\nversion: 1\ntitle: [unclosed\ndescription: x\n", 4),
        ("name: demo\nversion: 1\n  title: bad indent\n", 3),
        ("name: demo\n\tversion: 1\n", 2),
        ("name: demo\nname: again\n---\nname: second document\n", 3),
        ("name: demo\nversion: \x07\n", 2),
    ],
)
def test_a_yaml_syntax_error_names_the_file_and_line(text: str, line: int) -> None:
    error = fault(text, "broken.yaml")
    assert error.line == line, error.detail
    assert error.detail.startswith(f"broken.yaml, line {line}: not valid YAML: ")


def test_unknown_fact_in_a_sum() -> None:
    text = GOOD.replace("sum: [training_flop, finetune_flop]", "sum: [training_flop, fine]")
    assert_fault(text, "sum: [training_flop, fine]", "unknown fact 'fine'")


def test_unknown_benchmark_spelling() -> None:
    text = GOOD.replace("fact: eu_business_users", "fact: benchmark.")
    assert_fault(text, "fact: benchmark.", "unknown fact 'benchmark.'")


def test_unknown_operator() -> None:
    text = GOOD.replace("op: gte", "op: greater")
    assert_fault(text, "op: greater", "unknown operator 'greater'", "gt, gte, lt")


def test_operator_that_does_not_fit_the_fact() -> None:
    text = GOOD.replace("op: contains", "op: gt")
    assert_fault(text, "op: gt", "operator 'gt' does not apply to 'modalities'", last=True)


@pytest.mark.parametrize(
    "rule_id", ["compute", "not-text", "top"], ids=["leaf", "not", "composite root"]
)
def test_a_rule_without_citation(rule_id: str) -> None:
    lines = GOOD.splitlines(keepends=True)
    start = line_of(GOOD, f"id: {rule_id}")
    citation = next(i for i in range(start, len(lines)) if "citation:" in lines[i])
    text = "".join(lines[:citation] + lines[citation + 1 :])
    assert_fault(text, f"id: {rule_id}", f"rule '{rule_id}' has no citation")


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("lots", "must be a finite number, got 'lots'"),
        ('"1e26"', "must be a finite number, got '1e26'"),
        ("true", "must be a finite number, got True"),
        (".inf", "must be a finite number, got inf"),
        ("[1, 2]", "expected a single value"),
    ],
)
def test_a_non_numeric_threshold(value: str, words: str) -> None:
    text = GOOD.replace("value: $users", f"value: {value}")
    assert_fault(text, f"value: {value}", words)


def test_a_bool_fact_needs_a_bool_threshold() -> None:
    text = (
        GOOD.replace("fact: eu_business_users", "fact: bio_sequence_data")
        .replace("op: gte", "op: eq")
        .replace("value: $users", "value: 1")
    )
    assert_fault(text, "value: 1", "'bio_sequence_data' must be true or false, got 1")


def test_an_unknown_parameter() -> None:
    text = GOOD.replace("value: $users", "value: $user")
    assert_fault(text, "value: $user", "unknown parameter '$user'", "$compute_flop, $users")


def test_a_parameter_of_the_wrong_type() -> None:
    text = GOOD.replace("default: 10_000", "default: many")
    assert_fault(text, "value: $users", "got 'many' (from parameter '$users')")


def test_an_unused_parameter() -> None:
    text = GOOD.replace(
        "parameters:\n", "parameters:\n  spare:\n    default: 1\n    description: Unused.\n"
    )
    assert_fault(text, "spare:", "parameter 'spare' is defined but no rule uses it")


@pytest.mark.parametrize(
    ("old", "new", "marker", "words"),
    [
        ("default: false", "default: false\ndefault: true", "default: true", "key 'default' twice"),
        ("default: false", "default: false\nowner: me", "owner: me", "unknown key 'owner'"),
        ("version: 2", "version: 0", "version: 0", "whole number from 1"),
        ("version: 2", "version: two", "version: two", "whole number from 1"),
        ("name: demo", "name: Demo Policy", "name: Demo", "may hold only a-z"),
        ("default: false", "default: maybe", "default: maybe", "true or false"),
        ("  citation: Somewhere, sec. 1\n", "  citation: ''\n", "citation: ''", "non-empty"),
        ("      op: gte\n", "", "- id: users", "needs 'op'"),
        ("      op: gte\n", "      op: gte\n      all: []\n", "- id: users", "exactly one of"),
        (
            "fact: eu_business_users",
            "fact: eu_business_users\n      weight: 2",
            "weight: 2",
            "unknown key 'weight' in a rule",
        ),
        (
            "sum: [training_flop, finetune_flop]",
            "sum: [training_flop, benchmark.x]",
            "sum: [training_flop, benchmark.x]",
            "'benchmark.x' cannot be summed",
        ),
        (
            "sum: [training_flop, finetune_flop]",
            "sum: [training_flop]",
            "sum: [training_flop]",
            "at least two facts",
        ),
        (
            "sum: [training_flop, finetune_flop]",
            "sum: [training_flop, training_flop]",
            "sum: [training_flop, training_flop]",
            "appears twice",
        ),
        ("  any:\n", "  any: []\n  x:\n", "  x:", "unknown key 'x'"),
    ],
)
def test_other_faults_name_their_line(old: str, new: str, marker: str, words: str) -> None:
    assert old in GOOD
    assert_fault(GOOD.replace(old, new, 1), marker, words)


MINIMAL = "name: m\nversion: 1\ntitle: t\ndescription: d\ndefault: false\nrule:\n"


def test_an_empty_composite() -> None:
    text = MINIMAL + "  id: top\n  citation: c\n  any: []\n"
    assert_fault(text, "any: []", "'any' needs at least one rule")


def test_a_missing_rule_and_a_rule_without_id() -> None:
    assert_fault(MINIMAL.replace("rule:\n", ""), "name: m", "the policy needs rule")
    text = MINIMAL + "  citation: c\n  fact: parameters\n  op: gt\n  value: 1\n"
    assert_fault(text, "citation: c", "a rule needs an 'id'")


def test_an_empty_text_and_a_text_that_is_not_a_mapping() -> None:
    assert fault("").detail == "policy.yaml, line 1: the policy is empty"
    assert_fault("- a\n- b\n", "- a", "the policy must be a mapping")


def test_a_self_referencing_alias_is_refused_not_recursed() -> None:
    text = GOOD.replace("    - id: users\n", "    - &loop\n      id: users\n").replace(
        "        value: text\n", "        value: text\n    - *loop\n"
    )
    assert_fault(text, "id: users", "rule 'users' is repeated by a YAML alias")


def test_python_tags_are_not_constructed() -> None:
    text = GOOD.replace("title: Demo policy", "title: !!python/object/apply:os.getcwd []")
    assert_fault(text, "title:", "expected a single value")
    text = GOOD.replace("title: Demo policy", "title: !!python/name:os.system")
    assert_fault(text, "title:", "unreadable value")


def test_numbers_in_exponent_form_without_a_dot_are_numbers() -> None:
    for written in ("1e26", "1.0e26", "1.0e+26", "100_000_000_000_000_000_000_000_000"):
        policy = parse_policy(GOOD.replace("default: 1e26", f"default: {written}"), "p.yaml")
        default = policy.parameters["compute_flop"].default
        assert isinstance(default, (int, float)) and float(default) == 1e26


def test_a_duplicate_rule_id() -> None:
    text = GOOD.replace("- id: users", "- id: compute")
    first = line_of(text, "id: compute")
    assert_fault(
        text, "id: compute", f"rule id 'compute' is already used on line {first}", last=True
    )


def test_a_duplicate_rule_id_on_one_line() -> None:
    leaf = "{id: a, citation: c, fact: parameters, op: gt, value: 1}"
    text = MINIMAL + f"  id: top\n  citation: c\n  any: [{leaf}, {leaf}]\n"
    assert_fault(text, "any: [", "rule id 'a' is already used on line 9")


def test_policies_are_hashable_by_their_text() -> None:
    one, again, elsewhere = (parse_policy(GOOD, name) for name in ("a.yaml", "a.yaml", "b.yaml"))
    assert {one, again} == {one}
    assert len({one, elsewhere}) == 2  # equal text, but read from another file
