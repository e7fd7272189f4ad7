"""Format detection from the first kilobytes, and the identifier helpers."""

from __future__ import annotations

import dataclasses
import json
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assay.formats import Finding, FormatError, Package, detect_format, normalize_cwe
from assay.formats.model import (
    cvss_vector,
    cwes_in_tags,
    package_from_purl,
    short_title,
    vulnerability_ids,
)
from tests.unit.formats.support import data_files, dumps, sarif_log, sarif_run


@pytest.mark.parametrize(
    ("document", "fmt"),
    [
        (sarif_log(sarif_run([])), "sarif"),
        ({"runs": [], "version": "2.1.0"}, "sarif"),
        ({"$schema": "https://json.schemastore.org/sarif-2.1.0.json"}, "sarif"),
        ({"id": "GHSA-1", "modified": "2024-01-01T00:00:00Z"}, "osv"),
        ([{"id": "GHSA-1", "modified": "2024-01-01T00:00:00Z"}], "osv"),
        ({"document": {"csaf_version": "2.0"}}, "csaf"),
        ({"dataType": "CVE_RECORD", "dataVersion": "5.1"}, "cve5"),
        ({"cveMetadata": {"cveId": "CVE-2024-1"}}, "cve5"),
    ],
)
def test_detect_json(document: object, fmt: str) -> None:
    assert detect_format(dumps(document)) == fmt


def test_detect_looks_only_at_top_level_keys() -> None:
    # "runs" and "document" nested inside an OSV record do not make it SARIF or CSAF.
    record = {"id": "X", "database_specific": {"runs": [], "document": {}}, "modified": "m"}
    assert detect_format(dumps(record)) == "osv"


def test_detect_from_a_truncated_head() -> None:
    data = dumps(sarif_log(sarif_run([{"message": {"text": "x" * 100_000}}])))
    assert detect_format(data[:65536]) == "sarif"


def test_detect_yaml_osv() -> None:
    assert detect_format(b"id: PYSEC-2020-1\nmodified: 2024-01-01T00:00:00Z\n") == "osv"
    with pytest.raises(FormatError):
        detect_format(b"runs: []\nversion: 2.1.0\n")  # SARIF is never YAML


@pytest.mark.parametrize("path", data_files("osv", "pypa", pattern="a*/*.yaml")[:20], ids=str)
def test_detect_real_yaml(path: object) -> None:
    assert detect_format(path.read_bytes()) == "osv"  # type: ignore[attr-defined]


def test_detect_failures_say_what_was_found() -> None:
    with pytest.raises(FormatError) as caught:
        detect_format(b"", "x.json")
    assert str(caught.value) == (
        "x.json: expected a SARIF 2.1.0 log, an OSV record, a CSAF 2.0 document or a CVE JSON 5 "
        "record, found an empty document"
    )
    with pytest.raises(FormatError, match="UTF-16"):
        detect_format(json.dumps({"runs": []}).encode("utf-16"))
    with pytest.raises(FormatError, match="nested at most"):
        detect_format(b"[" * 1000)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("external/cwe/cwe-089", "CWE-89"),
        ("external/cwe/cwe-89", "CWE-89"),
        ("CWE-089", "CWE-89"),
        ("cwe-89", "CWE-89"),
        ("CWE:89", "CWE-89"),
        ("CWE 89", "CWE-89"),
        ("CWE-79: Improper Neutralization of Input", "CWE-79"),
        ("CWE-200 Information Exposure", "CWE-200"),
        ("89", "CWE-89"),
        (89, "CWE-89"),
        ("NVD-CWE-Other", None),
        ("NVD-CWE-noinfo", None),
        ("CWE-0", None),
        ("cwe", None),
        ("owasp-a1", None),
        ("precwe-12", None),
        (True, None),
        (None, None),
        (0, None),
    ],
)
def test_normalize_cwe(value: object, expected: str | None) -> None:
    assert normalize_cwe(value) == expected


@given(
    number=st.integers(min_value=1, max_value=999_999),
    zeros=st.integers(min_value=0, max_value=3),
    prefix=st.sampled_from(["CWE-", "cwe-", "Cwe-", "external/cwe/cwe-", "CWE:", "CWE_", "cwe "]),
)
def test_normalize_cwe_spellings(number: int, zeros: int, prefix: str) -> None:
    assert normalize_cwe(f"{prefix}{'0' * zeros}{number}") == f"CWE-{number}"


@given(st.text(max_size=40))
def test_normalize_cwe_total(text: str) -> None:
    result = normalize_cwe(text)
    assert result is None or (result.startswith("CWE-") and int(result[4:]) > 0)


def test_cwes_in_tags() -> None:
    tags = ["security", "external/cwe/cwe-079", "CWE-119!/CWE-120", "89", 5, "cwe"]
    assert cwes_in_tags(tags) == ["CWE-79", "CWE-119", "CWE-120"]
    assert cwes_in_tags("CWE-1") == []


def test_vulnerability_ids() -> None:
    assert vulnerability_ids("BDSA-2020-1001 (CVE-2020-11022)") == ["CVE-2020-11022"]
    assert vulnerability_ids("ghsa-2222-3333-4444/pysec-2021-9") == [
        "GHSA-2222-3333-4444",
        "PYSEC-2021-9",
    ]
    assert vulnerability_ids("py/sql-injection") == []
    assert vulnerability_ids(None) == []


def test_cvss_vector() -> None:
    assert cvss_vector("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H") is not None
    assert cvss_vector("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N")
    assert cvss_vector("AV:N/AC:L/Au:N/C:P/I:P/A:P") is None  # v2: no version prefix
    assert cvss_vector("9.8") is None
    assert cvss_vector(9.8) is None


@pytest.mark.parametrize(
    ("purl", "package"),
    [
        ("pkg:pypi/django@4.2", Package("PyPI", "django", "pkg:pypi/django@4.2")),
        (
            "pkg:npm/%40babel/core@7.0.0",
            Package("npm", "@babel/core", "pkg:npm/%40babel/core@7.0.0"),
        ),
        (
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
            Package(
                "Maven",
                "org.apache.logging.log4j:log4j-core",
                "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
            ),
        ),
        (
            "pkg:golang/github.com/gin-gonic/gin",
            Package("Go", "github.com/gin-gonic/gin", "pkg:golang/github.com/gin-gonic/gin"),
        ),
        (
            "pkg:deb/debian/openssl@1.1?arch=amd64",
            Package("Debian", "openssl", "pkg:deb/debian/openssl@1.1?arch=amd64"),
        ),
        ("pkg:generic/thing", Package("generic", "thing", "pkg:generic/thing")),
        ("not a purl", None),
    ],
)
def test_package_from_purl(purl: str, package: Package | None) -> None:
    assert package_from_purl(purl) == package


def test_short_title() -> None:
    wrapped = (
        "Using CBC with PKCS5Padding is susceptible to padding oracle attacks. A malicious"
        " actor\ncould discern."
    )
    assert (
        short_title(wrapped)
        == "Using CBC with PKCS5Padding is susceptible to padding oracle attacks."
    )
    assert short_title("x" * 500, limit=10) == "x" * 9 + "…"
    assert short_title("  \n ") is None


def test_findings_are_immutable_hashable_and_picklable() -> None:
    finding = Finding(
        source_format="sarif",
        source_ref="/runs/0/results/0",
        cwe_ids=("CWE-89",),
        partial_fingerprints={"primaryLocationLineHash": "abc:1"},
        packages=(Package("PyPI", "x", None),),
    )
    copy = pickle.loads(pickle.dumps(finding))
    assert copy == finding and hash(copy) == hash(finding)
    assert {finding, copy} == {finding}
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.title = "changed"  # type: ignore[misc]
