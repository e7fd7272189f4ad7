"""The quick check of SARIF results, and linear uniqueItems: never more permissive than
the schema, and as fast as intake needs."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import _utils as jsonschema_utils

from assay.formats import FormatError, iter_sarif, parse
from assay.formats._fastcheck import FastChecker, all_unique, canonical
from assay.formats._schemas import (
    SARIF_SCHEMA,
    load_schema,
    sarif_result_quick_check,
    sarif_validator,
)

from .support import DATA, dumps, sarif_log, sarif_run

CHECK = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# A valid result shaped like CodeQL's, which the tests below bend out of shape.
VALID: dict[str, Any] = {
    "ruleId": "py/sql-injection",
    "ruleIndex": 0,
    "rule": {"id": "py/sql-injection", "index": 0},
    "level": "error",
    "message": {"text": "This query depends on a [user-provided value](1)."},
    "locations": [
        {
            "physicalLocation": {
                "artifactLocation": {"uri": "app/db.py", "uriBaseId": "%SRCROOT%", "index": 0},
                "region": {"startLine": 12, "startColumn": 5, "endColumn": 30},
                "contextRegion": {"startLine": 10, "endLine": 14, "snippet": {"text": "x = 1\n"}},
            }
        }
    ],
    "partialFingerprints": {"primaryLocationLineHash": "abc:1"},
    "relatedLocations": [
        {
            "id": 1,
            "physicalLocation": {
                "artifactLocation": {"uri": "app/db.py"},
                "region": {"startLine": 10},
            },
            "message": {"text": "user-provided value"},
        }
    ],
    "properties": {"tags": ["security"], "anything": [1, {"a": None}]},
}

RESULT_VALIDATOR = sarif_validator("/definitions/result")
quick = sarif_result_quick_check()

# Values that sit on the edges of the schema's types and bounds.
EDGE_VALUES = st.sampled_from(
    [None, True, False, 0, -1, -2, 1, 1.0, 0.5, -1.0, 100.0, 101, "", "x", "error", "fail",
     "catastrophic", [], [1], ["a", "a"], ["a", "b"], {}, {"text": "t"}, {"id": "i"},
     {"text": 1}, {"startLine": 0}, {"startLine": 1}, {"uri": "u", "index": -2},
     "00000000-0000-4000-8000-000000000000", "not-a-guid"]
)  # fmt: skip
RESULT_KEYS = st.sampled_from(
    [*load_schema(SARIF_SCHEMA)["definitions"]["result"]["properties"], "unknownMember"]
)


def _paths(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [here]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*here, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*here, index))
    return found


@st.composite
def bent_results(draw: st.DrawFn) -> Any:
    """The valid result with a few of its values replaced, deleted, or members added."""
    result = copy.deepcopy(VALID)

    def edge() -> Any:
        return copy.deepcopy(draw(EDGE_VALUES))  # the samples themselves stay untouched

    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(result)
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if not path:
            if action == "add":
                result[draw(RESULT_KEYS)] = edge()
            continue
        parent = result
        for token in path[:-1]:
            parent = parent[token]
        last = path[-1]
        if action == "replace":
            parent[last] = edge()
        elif action == "delete":
            del parent[last]
        elif isinstance(parent[last], dict):
            parent[last][draw(st.text(max_size=12) | RESULT_KEYS)] = edge()
        elif isinstance(parent[last], list):
            parent[last].append(copy.deepcopy(draw(st.sampled_from([*parent[last], 1, "a"]))))
    return result


@CHECK
@given(bent_results())
def test_the_quick_check_never_passes_what_the_schema_refuses(result: Any) -> None:
    if quick(result):
        assert RESULT_VALIDATOR.is_valid(result), result


def test_the_quick_check_passes_real_results() -> None:
    assert quick(copy.deepcopy(VALID))
    checked = passed = 0
    for path in sorted((DATA / "sarif").glob("*.sarif")):
        try:
            log = json.loads(path.read_text("utf-8"))
        except (ValueError, UnicodeDecodeError):
            continue
        for run in log.get("runs") or []:
            for result in run.get("results") or []:
                valid = RESULT_VALIDATOR.is_valid(result)
                checked += valid
                passed += valid and quick(result)
                assert not quick(result) or valid
    if not checked:
        pytest.skip("shared public data not present")
    # Every valid result of the real logs (CodeQL, Semgrep, Flawfinder, ...) takes the
    # quick path; only invalid ones go on to the full validators.
    assert passed == checked


def test_keywords_it_does_not_implement_make_it_unsure() -> None:
    checker = FastChecker({"definitions": {}})
    for schema in (
        {"type": "string", "minLength": 2},
        {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        {"type": ["string", "null"]},
        {"type": "integer", "exclusiveMinimum": True, "minimum": 1},
        {"type": "array", "items": [{"type": "string"}]},
        {"$ref": "#/definitions/x", "type": "string"},
        {"minimum": 1},
    ):
        check = checker.compile(schema)
        assert not any(check(value) for value in ("ab", 1, 2, None, [], ["a"], {})), schema
    assert checker.compile({"description": "anything"})(object())
    # Draft 4 integers are ints, never floats such as 1.0.
    assert not checker.compile({"type": "integer"})(1.0)
    assert not checker.compile({"type": "integer"})(True)
    assert checker.compile({"type": "number", "maximum": 1})(1.0)


# --- uniqueItems ------------------------------------------------------------------------------

SMALL_JSON = st.recursive(
    st.sampled_from([None, True, False, 0, 1, 1.0, -0.0, 0.0, 2, "1", "a", "True"]),
    lambda children: (
        st.lists(children, max_size=2)
        | st.dictionaries(st.sampled_from(["a", "b"]), children, max_size=2)
    ),
    max_leaves=6,
)


@CHECK
@given(st.lists(SMALL_JSON, max_size=5))
def test_all_unique_agrees_with_jsonschema(items: list[Any]) -> None:
    assert all_unique(items) == jsonschema_utils.uniq(items)


def test_canonical_keeps_booleans_apart_from_numbers() -> None:
    assert canonical(1) == canonical(1.0) and canonical(0) == canonical(-0.0)
    assert canonical(True) != canonical(1) and canonical("1") != canonical(1)
    assert canonical([1]) != canonical({"1": 1})
    with pytest.raises(TypeError):
        canonical(object())


def _artifacts_log(count: int, repeat: bool = False) -> bytes:
    artifacts = [{"location": {"uri": f"src/file{i}.py"}} for i in range(count)]
    if repeat:
        artifacts.append({"location": {"uri": "src/file7.py"}})
    run = sarif_run([{"message": {"text": "x"}}], artifacts=artifacts)
    return dumps(sarif_log(run))


def test_a_large_artifacts_table_validates_in_linear_time() -> None:
    # jsonschema's own uniqueItems compared every pair: 20,000 artifacts took minutes.
    started = time.perf_counter()
    with iter_sarif(_artifacts_log(20_000)) as stream:
        assert stream.header.result_count == 1
    assert time.perf_counter() - started < 10


def test_a_repeated_artifact_is_still_refused_precisely() -> None:
    with pytest.raises(FormatError) as caught:
        parse(_artifacts_log(50, repeat=True), "sarif")
    assert caught.value.pointer == "/runs/0/artifacts"
    assert caught.value.expected == "unique items"
