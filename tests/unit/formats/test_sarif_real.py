"""Every SARIF file in the shared public data, parsed strictly and leniently.

Six of the 22 files violate the strict SARIF 2.1.0 schema. Strict parsing rejects each at
the exact place; lenient parsing (strict=False) reads them and lists the violations.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assay.formats import FormatError, detect_format, iter_sarif, parse
from tests.unit.formats.support import data_dir, data_files

SARIF_FILES = data_files("sarif", pattern="*.sarif") + data_files("sarif", pattern="*.json")

# file -> number of results
RESULTS = {
    "DefectDojo_django-DefectDojo__2020-12-11_13_42_10__export.sarif": 510,
    "SuppressionTestCurrent.sarif": 4,
    "appendix_k.sarif": 1,
    "appendix_k1.sarif": 0,
    "appendix_k1_double.sarif": 0,
    "appendix_k2.sarif": 1,
    "appendix_k3.sarif": 1,
    "appendix_k4.sarif": 1,
    "bash-report-fabricated-no-internal-dupes-subset.sarif": 4,
    "bash-report-fabricated-no-internal-dupes.sarif": 5,
    "bash-report-subset-same-hash-code-same-unique-id.sarif": 4,
    "bash-report.sarif": 27,
    "blackduck_nested_fingerprints.sarif": 5,
    "codeQL-output.sarif": 72,
    "dockle_0_3_15.sarif": 4,
    "flawfinder.sarif": 54,
    "issue_10191.json": 77,
    "mobsfscan.json": 9,
    "njsscan.sarif": 2,
    "no_runs.sarif": 0,
    "semgrepowasp-benchmark-sample.sarif": 1768,
    "suppression_test.sarif": 5,
}

# file -> (pointer of the first violation strict parsing reports, what was expected there,
# number of violations lenient parsing lists)
INVALID = {
    # LGTM.com (Semmle) export: run.newlineSequences lists "" twice; the schema wants unique
    # items.
    "DefectDojo_django-DefectDojo__2020-12-11_13_42_10__export.sarif": (
        "/runs/0/newlineSequences",
        "unique items",
        1,
    ),
    # The spec's appendix K examples predate 2.1.0's final schema (automationId, fileName,
    # address.offset, exception.message as an object...).
    "appendix_k.sarif": (
        "/runs/0/invocations/0/toolExecutionNotifications/1/exception/stack/frames/1"
        "/location/physicalLocation/address/offset",
        "no property of that name here (the schema does not define it)",
        14,
    ),
    "appendix_k3.sarif": (
        "/runs/0/artifact",
        "no property of that name here (the schema does not define it)",
        1,
    ),
    "appendix_k4.sarif": (
        "/runs/0/invocations/0/toolExecutionNotifications/1/exception/stack/frames/1"
        "/location/physicalLocation/address/offset",
        "no property of that name here (the schema does not define it)",
        11,
    ),
    # Black Duck: fingerprints nested as {"value": ...} and fixes without artifactChanges.
    "blackduck_nested_fingerprints.sarif": (
        "/runs/0/results/0/fixes/0",
        "the property 'artifactChanges'",
        10,
    ),
    # Flawfinder 2.0.19: a result of kind "pass" without the required message.
    "flawfinder.sarif": ("/runs/0/results/52", "the property 'message'", 1),
}


def test_every_file_is_covered() -> None:
    data_dir("sarif")
    assert {path.name for path in SARIF_FILES} == set(RESULTS)


@pytest.mark.parametrize("path", SARIF_FILES, ids=lambda path: path.name)
def test_real_file_strict(path: Path) -> None:
    assert detect_format(path.read_bytes()[:65536]) == "sarif"
    if path.name in INVALID:
        pointer, expected, _ = INVALID[path.name]
        with pytest.raises(FormatError) as caught:
            parse(path)
        assert caught.value.pointer == pointer
        assert caught.value.expected == expected
        assert caught.value.file == path.name
        return
    parsed = parse(path)
    assert parsed.format == "sarif"
    assert parsed.problems == ()
    assert len(parsed.findings) == RESULTS[path.name]
    assert parsed.sarif is not None
    assert parsed.sarif.result_count == RESULTS[path.name]
    for index, finding in enumerate(parsed.findings):
        assert finding.source_format == "sarif"
        assert finding.source_ref.startswith("/runs/")
        assert finding.severity in {"none", "note", "warning", "error"}
        if path.name != "appendix_k1_double.sarif":
            assert finding.source_ref.endswith(f"/results/{index}")


@pytest.mark.parametrize("path", SARIF_FILES, ids=lambda path: path.name)
def test_real_file_lenient(path: Path) -> None:
    parsed = parse(path, strict=False)
    assert len(parsed.findings) == RESULTS[path.name]
    expected_problems = INVALID[path.name][2] if path.name in INVALID else 0
    assert parsed.problem_count == expected_problems
    if path.name in INVALID:
        assert parsed.problems[0].file == path.name


def test_codeql_result_is_normalized() -> None:
    path = data_dir("sarif") / "codeQL-output.sarif"
    finding = parse(path).findings[0]
    assert finding.tool == "CodeQL 2.5.4"
    assert finding.rule_id == "py/empty-except"
    assert finding.title == "Empty except"
    assert finding.cwe_ids == ("CWE-390",)  # from the rule's "external/cwe/cwe-390" tag
    assert finding.severity == "note"  # the rule's default level: the result has none
    assert finding.path == "good/db_init.py"
    assert (finding.start_line, finding.end_line) == (39, 39)
    assert finding.snippet is not None and "os.remove" in finding.snippet  # contextRegion
    assert finding.partial_fingerprints["primaryLocationLineHash"] == "9cbc869fbfffeb60:1"
    assert finding.kind == "fail" and not finding.suppressed


def test_flawfinder_cwes_come_from_rule_relationships() -> None:
    findings = parse(data_dir("sarif") / "flawfinder.sarif", strict=False).findings
    assert findings[0].cwe_ids == ("CWE-327",)
    assert findings[0].fingerprints["contextHash/v1"].startswith("e6c1ad2b")
    assert findings[52].kind == "pass"


def test_blackduck_lenient_reads_nested_fingerprints_and_cve_aliases() -> None:
    findings = parse(
        data_dir("sarif") / "blackduck_nested_fingerprints.sarif", strict=False
    ).findings
    assert findings[0].fingerprints == {"csvRowSha256": "a" * 64}
    assert findings[0].aliases == ("CVE-2020-11022",)
    assert findings[0].cwe_ids == ("CWE-79",)


def test_suppressions_and_repository() -> None:
    suppressed = parse(data_dir("sarif") / "suppression_test.sarif").findings
    # external, external, inSource, none, an empty list
    assert [finding.suppressed for finding in suppressed] == [True, True, True, False, False]
    bash = parse(data_dir("sarif") / "bash-report.sarif").findings[0]
    assert bash.repository == "https://github.com/damiencarol/django-DefectDojo"


def test_two_runs_keep_their_tools() -> None:
    with iter_sarif(
        data_dir("sarif") / "DefectDojo_django-DefectDojo__2020-12-11_13_42_10__export.sarif",
        strict=False,
    ) as stream:
        header = stream.header
        findings = list(stream)
    assert [run.result_count for run in header.runs] == [58, 452]
    assert findings[58].source_ref == "/runs/1/results/0"
    assert header.tools == [findings[0].tool, findings[-1].tool]


def test_no_runs_is_zero_findings() -> None:
    parsed = parse(data_dir("sarif") / "no_runs.sarif")
    assert parsed.findings == ()
    assert parsed.sarif is not None and parsed.sarif.runs == []
