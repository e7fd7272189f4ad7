"""CVSS vectors: known scores, every vector in the shared real data, clear errors."""

from __future__ import annotations

import itertools
import re
from typing import Any

import orjson
import pytest

from assay.clearinghouse.triage.scores import (
    CvssScore,
    CvssVersion,
    InvalidCvssVector,
    best_score,
    parse_cvss,
)
from tests.shared_data import shared

V31_CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
V40_CRITICAL = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"


@pytest.mark.parametrize(
    ("vector", "version", "base", "severity"),
    [
        (V31_CRITICAL, "3.1", 9.8, "Critical"),
        ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "3.0", 9.8, "Critical"),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", "3.1", 10.0, "Critical"),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", "3.1", 6.1, "Medium"),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", "3.1", 0.0, "None"),
        (V40_CRITICAL, "4.0", 9.3, "Critical"),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H",
            "4.0",
            10.0,
            "Critical",
        ),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N", "4.0", 0.0, "None"),
    ],
)
def test_known_scores(vector: str, version: str, base: float, severity: str) -> None:
    score = parse_cvss(vector)
    assert (score.version, score.base_score, score.severity) == (version, base, severity)
    assert score.vector == vector
    assert score.score == base  # base metrics only


def test_the_base_score_ignores_threat_and_environmental_metrics() -> None:
    v31 = parse_cvss(V31_CRITICAL + "/E:U/RL:O/RC:C")
    assert v31.base_score == 9.8
    assert v31.score < 9.8
    v40 = parse_cvss(V40_CRITICAL + "/E:U")
    assert (v40.base_score, v40.severity) == (9.3, "Critical")
    assert v40.score < 9.3
    assert v40.vector == V40_CRITICAL + "/E:U"


def test_the_vector_is_normalized() -> None:
    reordered = "CVSS:3.1/A:H/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H"
    assert parse_cvss(f"  {reordered}\n").vector == V31_CRITICAL
    assert parse_cvss(V40_CRITICAL + "/E:X/MAV:X").vector == V40_CRITICAL


def test_a_vector_without_prefix_takes_the_version_given() -> None:
    bare = V31_CRITICAL.removeprefix("CVSS:3.1/")
    assert parse_cvss(bare, assume_version="3.1").vector == V31_CRITICAL
    assert parse_cvss(bare, assume_version="3.0").version == "3.0"
    # A vector's own prefix wins: CycloneDX labels 3.0 and 3.1 vectors alike "CVSSv3".
    assert parse_cvss(V31_CRITICAL, assume_version="3.0").version == "3.1"
    with pytest.raises(InvalidCvssVector, match=r"expected it to start with CVSS:3\.0/"):
        parse_cvss(bare)


@pytest.mark.parametrize(
    ("vector", "reason"),
    [
        ("", "the vector is empty"),
        ("   ", "the vector is empty"),
        ("AV:N/AC:L/Au:N/C:P/I:P/A:P", "CVSS v2 vectors are not supported"),
        ("9.8", "expected it to start with CVSS:3.0/, CVSS:3.1/ or CVSS:4.0/"),
        (V31_CRITICAL.lower(), "expected it to start with CVSS:3.0/"),
        ("CVSS:3.2/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSS version 3.2 is not supported"),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", 'Missing mandatory metrics "A"'),
        ("CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 'Unknown value "Q" in field "AV:Q"'),
        (V31_CRITICAL + "/", 'trailing "/"'),
        (V31_CRITICAL + "/AV:N", 'Duplicate metric "AV"'),
        (V31_CRITICAL + "/ZZ:1", 'Unknown metric "ZZ"'),
        (V40_CRITICAL.removesuffix("/SA:N"), 'Missing mandatory metrics "SA"'),
        (V40_CRITICAL + "/E:Q", 'Invalid metric value in CVSS4 vector "E:Q"'),
    ],
)
def test_a_malformed_vector_says_what_is_wrong(vector: str, reason: str) -> None:
    with pytest.raises(InvalidCvssVector) as caught:
        parse_cvss(vector)
    assert isinstance(caught.value, ValueError)
    assert reason in str(caught.value)
    assert repr(vector) in str(caught.value)
    assert caught.value.vector == vector


# -- every vector in the shared real data -------------------------------------------------


def _walk(node: Any) -> Any:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _csaf_scores() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in sorted(shared("csaf").rglob("*.json")):
        for node in _walk(orjson.loads(path.read_bytes())):
            if isinstance(node, dict) and isinstance(node.get("cvss_v3"), dict):
                found.append(node["cvss_v3"])
    return found


def test_every_csaf_vector_parses_to_the_score_the_advisory_states() -> None:
    scores = _csaf_scores()
    assert len(scores) >= 15
    for cvss in scores:
        parsed = parse_cvss(cvss["vectorString"])
        assert parsed.version == cvss["version"]
        assert parsed.base_score == cvss["baseScore"], cvss["vectorString"]
        assert parsed.severity.upper() == cvss["baseSeverity"]


def test_every_osv_pypa_severity_vector_parses() -> None:
    pattern = re.compile(r"^\s*score:\s*['\"]?(CVSS:[^\s'\"]+)", re.MULTILINE)
    vectors = {
        match
        for path in shared("osv", "pypa").rglob("*.yaml")
        for match in pattern.findall(path.read_text("utf-8"))
    }
    assert len(vectors) >= 50
    for vector in sorted(vectors):
        assert parse_cvss(vector).vector.startswith(("CVSS:3.", "CVSS:4.0/"))


_CYCLONEDX_VERSIONS: dict[str, CvssVersion] = {"CVSSv3": "3.0", "CVSSv31": "3.1", "CVSSv4": "4.0"}


def _cyclonedx_ratings() -> list[dict[str, Any]]:
    ratings = []
    for path in sorted(shared("sbom").rglob("*.json")):
        data = path.read_bytes()
        if b'"vector"' not in data:
            continue
        for node in _walk(orjson.loads(data)):
            if isinstance(node, dict) and "vector" in node and "method" in node:
                ratings.append(node)
    return ratings


def test_every_cyclonedx_rating_vector_parses_and_v2_is_refused_by_name() -> None:
    ratings = _cyclonedx_ratings()
    v3 = [r for r in ratings if r["method"] in _CYCLONEDX_VERSIONS]
    v2 = [r for r in ratings if r["method"] == "CVSSv2"]
    # CISA's VEX use-case examples misspell a metric ("AAV:N"): real bad input.
    typos = [r for r in v3 if r["vector"].startswith("AAV:")]
    assert len(v3) >= 50 and v2 and typos
    for rating in typos:
        with pytest.raises(InvalidCvssVector, match='Unknown metric "AAV"'):
            parse_cvss(rating["vector"], assume_version=_CYCLONEDX_VERSIONS[rating["method"]])
    for rating in v3:
        if rating in typos:
            continue
        # (Not compared with the rating's "score": these examples pair vectors with scores
        # from elsewhere, such as 8.2 for .../C:N/I:H/A:N, which is 7.5.)
        parsed = parse_cvss(rating["vector"], assume_version=_CYCLONEDX_VERSIONS[rating["method"]])
        assert 0.0 <= parsed.base_score <= 10.0
    for rating in v2:
        with pytest.raises(InvalidCvssVector, match="CVSS v2 vectors are not supported"):
            parse_cvss(rating["vector"])


# -- the best of several -------------------------------------------------------------------

V31_LOW = "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"
V40_MEDIUM = "CVSS:4.0/AV:N/AC:H/AT:P/PR:L/UI:A/VC:L/VI:L/VA:N/SC:N/SI:N/SA:N"


def test_the_newest_version_wins_over_a_higher_older_score() -> None:
    best = best_score([V31_CRITICAL, V40_MEDIUM, "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"])
    assert best is not None
    assert best.version == "4.0"
    assert best.base_score < 9.8


def test_the_highest_score_of_the_newest_version_wins_whatever_the_order() -> None:
    vectors = [V31_LOW, V31_CRITICAL, "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"]
    for order in itertools.permutations(vectors):
        best = best_score(order)
        assert best is not None and best.vector == V31_CRITICAL


def test_equal_scores_pick_one_vector_whatever_the_order() -> None:
    # Both are 9.8: the choice must not depend on the order they come in.
    a = V31_CRITICAL
    b = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U"
    assert best_score([a, b]) == best_score([b, a])


def test_best_of_nothing_is_none_and_parsed_scores_are_accepted() -> None:
    assert best_score([]) is None
    parsed = parse_cvss(V31_LOW)
    assert best_score([parsed]) is parsed
    assert isinstance(best_score([parsed, V40_CRITICAL]), CvssScore)


def test_an_invalid_vector_raises_unless_skipped() -> None:
    with pytest.raises(InvalidCvssVector):
        best_score([V31_CRITICAL, "CVSS:3.1/nonsense"])
    best = best_score([V31_CRITICAL, "CVSS:3.1/nonsense"], skip_invalid=True)
    assert best is not None and best.vector == V31_CRITICAL
    assert best_score(["garbage"], skip_invalid=True) is None


def test_the_shared_data_is_where_the_tests_expect_it() -> None:
    assert shared("SOURCES.md").is_file()
