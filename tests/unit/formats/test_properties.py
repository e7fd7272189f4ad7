"""Property tests: whatever the input, the parsers answer with findings or a FormatError."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assay.formats import FormatError, parse

FORMATS = ("auto", "sarif", "osv", "csaf", "cve5")

# Text includes unpaired surrogates: json.dumps writes them as "\\udc00" escapes.
TEXT = st.text(st.characters(codec=None, categories=None), max_size=20) | st.text(max_size=20)
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=20,
)
# Keys the parsers look for, so that generated objects reach deep into the normalizers.
KEYS = st.sampled_from(
    [
        "version",
        "runs",
        "results",
        "tool",
        "driver",
        "rules",
        "ruleId",
        "ruleIndex",
        "rule",
        "message",
        "text",
        "locations",
        "physicalLocation",
        "artifactLocation",
        "uri",
        "region",
        "startLine",
        "properties",
        "tags",
        "cwe",
        "fingerprints",
        "partialFingerprints",
        "level",
        "kind",
        "taxa",
        "toolComponent",
        "index",
        "id",
        "modified",
        "aliases",
        "affected",
        "package",
        "severity",
        "database_specific",
        "cwe_ids",
        "document",
        "csaf_version",
        "vulnerabilities",
        "product_tree",
        "product_status",
        "scores",
        "cvss_v3",
        "dataType",
        "cveMetadata",
        "containers",
        "cna",
        "metrics",
        "problemTypes",
        "descriptions",
    ]
)
SHAPED = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=25,
)

CHECK = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _parse_all(data: bytes) -> None:
    for fmt in FORMATS:
        for strict in (True, False):
            try:
                parsed = parse(data, fmt, strict=strict)
            except FormatError as error:
                str(error).encode("utf-8")  # always printable and storable
                continue
            for finding in parsed.findings:
                # Every string a finding carries can be stored as UTF-8.
                json.dumps(dataclasses.asdict(finding), ensure_ascii=False).encode("utf-8")


@CHECK
@given(st.binary(max_size=200))
def test_arbitrary_bytes(data: bytes) -> None:
    _parse_all(data)


@CHECK
@given(JSON_VALUES)
def test_arbitrary_json_values(value: Any) -> None:
    _parse_all(json.dumps(value).encode())


@CHECK
@given(SHAPED)
def test_format_shaped_objects(value: Any) -> None:
    _parse_all(json.dumps(value).encode())


@CHECK
@given(result=SHAPED, run_extra=st.dictionaries(KEYS, SHAPED, max_size=3))
def test_arbitrary_results_and_run_members(result: Any, run_extra: dict[str, Any]) -> None:
    """Inside an otherwise valid log: lenient parsing must normalize whatever it finds."""
    run = {"tool": {"driver": {"name": "T"}}, **run_extra, "results": [result]}
    _parse_all(json.dumps({"version": "2.1.0", "runs": [run]}).encode())


@CHECK
@given(
    record=st.fixed_dictionaries(
        {"id": st.text(max_size=10), "modified": st.text(max_size=10)},
        optional={
            "aliases": SHAPED,
            "affected": SHAPED,
            "severity": SHAPED,
            "database_specific": SHAPED,
            "summary": SHAPED,
            "details": SHAPED,
        },
    )
)
def test_arbitrary_osv_members(record: dict[str, Any]) -> None:
    _parse_all(json.dumps(record).encode())


@CHECK
@given(st.binary(max_size=120), st.binary(max_size=120))
def test_arbitrary_bytes_inside_a_sarif_log(prefix: bytes, suffix: bytes) -> None:
    body = b'{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "T"}}, "results": ['
    _parse_all(body + prefix + b'{"message": {"text": "x"}}' + suffix)
