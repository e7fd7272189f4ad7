"""OSV records: the pypa advisory database (YAML) and synthetic JSON records."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from assay.formats import FormatError, Package, detect_format, parse
from tests.unit.formats.support import data_dir, data_files

ALL_PYPA = data_files("osv", "pypa", pattern="*/*.yaml")
SAMPLE = sorted(random.Random(20241001).sample(ALL_PYPA, min(200, len(ALL_PYPA))))
FOLDERS = data_files("osv", "pypa", pattern="django/*.yaml") + data_files(
    "osv", "pypa", pattern="aiohttp/*.yaml"
)

# pypa records that the current OSV schema rejects: a GIT range event must be a full commit
# hash, and these carry short hashes or ".patch" suffixes (data problems upstream).
INVALID = {
    "PYSEC-2017-27.yaml": "b27f38a67573f4c989710c9bfb726dd4c1eeb929.patch",
    "PYSEC-2019-155.yaml": "4e7d0df9093",
    "PYSEC-2021-371.yaml": "195caac172690456dcdc8cc7a6ca50e05abf8182.patch",
    "PYSEC-2021-424.yaml": "cb35df940a",
    "PYSEC-2021-425.yaml": "cb35df940a",
    "PYSEC-2021-436.yaml": "91f2bd090",
    "PYSEC-2023-80.yaml": "02339dfda0f3caabad142060d511d10bfe93c520.",
}


def _check(path: Path) -> None:
    if path.name in INVALID:
        with pytest.raises(FormatError) as caught:
            parse(path)
        assert caught.value.pointer == "/affected/0/ranges/0/events/1/fixed"
        assert caught.value.found == repr(INVALID[path.name])
        return
    parsed = parse(path)
    assert parsed.format == "osv"
    (finding,) = parsed.findings
    assert finding.source_format == "osv"
    assert finding.aliases[0] == path.stem
    assert finding.modified is not None and finding.modified.endswith("Z")
    assert all(package.ecosystem == "PyPI" for package in finding.packages)
    assert finding.description


@pytest.mark.parametrize(
    "path", SAMPLE + FOLDERS, ids=lambda path: f"{path.parent.name}/{path.name}"
)
def test_pypa_records(path: Path) -> None:
    _check(path)


@pytest.mark.parametrize("name", sorted(INVALID))
def test_known_invalid_pypa_records(name: str) -> None:
    matches = [path for path in ALL_PYPA if path.name == name]
    if not matches:
        data_dir("osv", "pypa")
        pytest.fail(f"{name} is missing from the pypa data")
    _check(matches[0])
    assert parse(matches[0], strict=False).problem_count == 1


def test_pypa_record_is_normalized() -> None:
    path = data_dir("osv", "pypa") / "apache-skywalking" / "PYSEC-2020-342.yaml"
    assert detect_format(path.read_bytes()) == "osv"
    finding = parse(path).findings[0]
    assert finding.aliases == ("PYSEC-2020-342", "CVE-2020-13921")
    assert finding.cvss_vectors == ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",)
    assert finding.packages == (Package("PyPI", "apache-skywalking", "pkg:pypi/apache-skywalking"),)
    assert finding.published == "2020-08-05T14:15:00Z"
    assert finding.modified == "2023-11-07T20:24:23.946863Z"


def test_yaml_timestamps_become_rfc3339_utc() -> None:
    text = b"""id: PYSEC-0000-1
modified: 2021-02-03 04:05:06.5+02:00
published: 2021-01-01T00:00:00Z
details: x
affected: []
"""
    finding = parse(text).findings[0]
    assert finding.modified == "2021-02-03T02:05:06.500000Z"
    assert finding.published == "2021-01-01T00:00:00Z"


def _record(**extra: object) -> dict[str, object]:
    return {"id": "GHSA-2222-3333-4444", "modified": "2024-01-01T00:00:00Z", **extra}


def test_json_record_with_cwes_and_cvss_v4() -> None:
    record = _record(
        aliases=["CVE-2024-0001", "GHSA-2222-3333-4444"],
        summary="Path traversal in thing",
        details="Long text.",
        severity=[
            {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"},
            {
                "type": "CVSS_V4",
                "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N",
            },
        ],
        affected=[{"package": {"ecosystem": "npm", "name": "thing", "purl": "pkg:npm/thing"}}],
        database_specific={"cwe_ids": ["CWE-22", "CWE-022"], "severity": "HIGH"},
    )
    finding = parse(json.dumps(record).encode()).findings[0]
    assert finding.title == "Path traversal in thing"
    assert finding.aliases == ("GHSA-2222-3333-4444", "CVE-2024-0001")
    assert finding.cwe_ids == ("CWE-22",)
    assert finding.severity == "HIGH"
    assert [vector[:8] for vector in finding.cvss_vectors] == ["CVSS:3.1", "CVSS:4.0"]
    assert finding.packages == (Package("npm", "thing", "pkg:npm/thing"),)


def test_json_array_of_records() -> None:
    records = [_record(id="OSV-1"), _record(id="OSV-2", withdrawn="2024-02-01T00:00:00Z")]
    findings = parse(json.dumps(records).encode(), "osv").findings
    assert [(f.source_ref, f.aliases, f.withdrawn) for f in findings] == [
        ("/0", ("OSV-1",), None),
        ("/1", ("OSV-2",), "2024-02-01T00:00:00Z"),
    ]


def test_yaml_duplicate_key_is_refused() -> None:
    with pytest.raises(FormatError) as caught:
        parse(b"id: A\nmodified: 2024-01-01T00:00:00Z\nid: B\n", "osv")
    assert caught.value.expected == "each mapping key once"
    assert (caught.value.line, caught.value.found) == (3, "a second 'id'")


def test_yaml_aliases_are_refused() -> None:
    text = b"id: A\nmodified: 2024-01-01T00:00:00Z\naffected: &x [1]\nreferences: *x\n"
    with pytest.raises(FormatError, match="no YAML anchors or aliases") as caught:
        parse(text, "osv")
    assert caught.value.pointer == "/references"


def test_yaml_only_types_are_refused() -> None:
    with pytest.raises(FormatError) as caught:
        parse(b"id: A\nmodified: 2024-01-01T00:00:00Z\ndetails: !!binary aGk=\n", "osv")
    assert caught.value.pointer == "/details"
    with pytest.raises(FormatError, match="string keys"):
        parse(b"id: A\nmodified: 2024-01-01T00:00:00Z\n1: x\n", "osv")
    with pytest.raises(FormatError, match="a finite number"):
        parse(b"id: A\nmodified: 2024-01-01T00:00:00Z\nx: .nan\n", "osv")


def test_invalid_yaml_reports_its_line() -> None:
    with pytest.raises(FormatError) as caught:
        parse(b"id: A\nmodified: [unclosed\n", "osv")
    assert caught.value.line is not None
    assert caught.value.expected.startswith("valid YAML")
