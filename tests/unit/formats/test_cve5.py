"""CVE JSON 5.x records.

The shared data holds no CVE JSON 5 record (only the schema), so these records are
fixtures written for this test: fictitious ids in the year 2099, valid against the bundled
CVE Record Format schema (which the parser validates them against).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from assay.formats import FormatError, Package, detect_format, parse
from assay.formats._schemas import cve5_validator

ORG = "00000000-0000-4000-8000-000000000000"
V4_VECTOR = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"

PUBLISHED: dict[str, Any] = {
    "dataType": "CVE_RECORD",
    "dataVersion": "5.1",
    "cveMetadata": {
        "cveId": "CVE-2099-0001",
        "assignerOrgId": ORG,
        "assignerShortName": "assay-test",
        "state": "PUBLISHED",
        "datePublished": "2099-01-02T03:04:05.000Z",
        "dateUpdated": "2099-01-03T00:00:00.000Z",
    },
    "containers": {
        "cna": {
            "providerMetadata": {"orgId": ORG},
            "title": "SQL injection in examplepkg query builder",
            "descriptions": [
                {"lang": "en", "value": "examplepkg before 1.2.3 builds SQL from user input."}
            ],
            "affected": [
                {
                    "vendor": "Example",
                    "product": "examplepkg",
                    "collectionURL": "https://pypi.org",
                    "packageName": "Example_Pkg",
                    "repo": "https://github.com/example/examplepkg",
                    "versions": [
                        {
                            "version": "0",
                            "lessThan": "1.2.3",
                            "status": "affected",
                            "versionType": "python",
                        }
                    ],
                    "defaultStatus": "unaffected",
                },
                {"vendor": "Example", "product": "Example Server", "defaultStatus": "affected"},
            ],
            "problemTypes": [
                {
                    "descriptions": [
                        {
                            "lang": "en",
                            "description": "CWE-89 SQL Injection",
                            "cweId": "CWE-89",
                            "type": "CWE",
                        }
                    ]
                }
            ],
            "metrics": [
                {
                    "cvssV4_0": {
                        "version": "4.0",
                        "vectorString": V4_VECTOR,
                        "baseScore": 9.3,
                        "baseSeverity": "CRITICAL",
                    }
                },
                {
                    "cvssV3_1": {
                        "version": "3.1",
                        "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                        "baseScore": 9.8,
                        "baseSeverity": "CRITICAL",
                    }
                },
            ],
            "references": [{"url": "https://example.com/advisory"}],
        },
        "adp": [
            {
                "providerMetadata": {"orgId": ORG},
                "problemTypes": [
                    {"descriptions": [{"lang": "en", "description": "CWE-20", "cweId": "CWE-20"}]}
                ],
            }
        ],
    },
}

REJECTED: dict[str, Any] = {
    "dataType": "CVE_RECORD",
    "dataVersion": "5.1",
    "cveMetadata": {
        "cveId": "CVE-2099-0002",
        "assignerOrgId": ORG,
        "state": "REJECTED",
        "dateRejected": "2099-02-01T00:00:00.000Z",
    },
    "containers": {
        "cna": {
            "providerMetadata": {"orgId": ORG},
            "rejectedReasons": [{"lang": "en", "value": "Duplicate of CVE-2099-0001."}],
        }
    },
}


def test_fixtures_are_valid_against_the_bundled_schema() -> None:
    validator = cve5_validator()
    assert list(validator.iter_errors(PUBLISHED)) == []
    assert list(validator.iter_errors(REJECTED)) == []


def test_published_record() -> None:
    data = json.dumps(PUBLISHED).encode()
    assert detect_format(data) == "cve5"
    (finding,) = parse(data).findings
    assert finding.source_format == "cve5"
    assert finding.aliases == ("CVE-2099-0001",)
    assert finding.title == "SQL injection in examplepkg query builder"
    assert finding.description == "examplepkg before 1.2.3 builds SQL from user input."
    assert finding.cwe_ids == ("CWE-20", "CWE-89")  # the CNA's and the ADP's
    assert finding.severity == "CRITICAL"
    assert [vector[:8] for vector in finding.cvss_vectors] == ["CVSS:4.0", "CVSS:3.1"]
    assert finding.packages == (
        Package("PyPI", "Example_Pkg", "pkg:pypi/example-pkg"),
        Package(None, "Example Server", None),
    )
    assert finding.repository == "https://github.com/example/examplepkg"
    assert (finding.published, finding.modified) == (
        "2099-01-02T03:04:05.000Z",
        "2099-01-03T00:00:00.000Z",
    )
    assert finding.withdrawn is None


def test_rejected_record() -> None:
    (finding,) = parse(json.dumps(REJECTED).encode(), "cve5").findings
    assert finding.aliases == ("CVE-2099-0002",)
    assert finding.description == "Duplicate of CVE-2099-0001."
    assert finding.withdrawn == "2099-02-01T00:00:00.000Z"


def test_schema_violation_deep_in_a_record() -> None:
    broken = copy.deepcopy(PUBLISHED)
    broken["containers"]["cna"]["problemTypes"][0]["descriptions"][0]["cweId"] = "CWE-089x"
    with pytest.raises(FormatError) as caught:
        parse(json.dumps(broken).encode(), source_name="cve.json")
    assert caught.value.pointer == "/containers/cna/problemTypes/0/descriptions/0/cweId"
    assert caught.value.expected.startswith("a string matching")
    lenient = parse(json.dumps(broken).encode(), strict=False)
    assert lenient.problem_count >= 1
    assert lenient.findings[0].cwe_ids == ("CWE-20", "CWE-89")


def test_missing_required_container_field() -> None:
    broken = copy.deepcopy(PUBLISHED)
    del broken["containers"]["cna"]["references"]
    with pytest.raises(FormatError) as caught:
        parse(json.dumps(broken).encode())
    # A published record fails the "Published" branch of the schema's oneOf; the rejected
    # branch fails on more counts, so the error points into the published one.
    assert caught.value.pointer == "/containers/cna"
    assert caught.value.expected == "the property 'references'"
