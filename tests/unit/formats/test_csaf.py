"""CSAF 2.0: the specification's examples, DefectDojo's documents, and synthetic cases."""

from __future__ import annotations

import copy
import json
import socket
from pathlib import Path
from typing import Any

import pytest

from assay.formats import FormatError, Package, detect_format, parse
from tests.unit.formats.support import data_dir, data_files

EXAMPLES = data_files("csaf", "csaf", pattern="**/*.json")
DEFECTDOJO = [
    path
    for path in data_files("csaf", "defectdojo")
    if path.name != "csaf_unsupported_version.json"
]
# Provider metadata, aggregator and ROLIE feed examples live beside the advisories; they are
# CSAF infrastructure documents, not advisories, and must not be taken for one.
NOT_ADVISORIES = (
    data_files("csaf", "ROLIE")
    + data_files("csaf", "aggregator")
    + data_files("csaf", "provider-metadata")
)
VULNERABILITIES = {
    "bsi-2022-0001.json": 1,
    "cisco-sa-20180328-smi2.json": 1,
    "2022-evd-uc-02-na-001.json": 19,
    "2022-evd-uc-03-ms-001.json": 19,
    "2022-evd-uc-08-001.json": 2,
    "2022-evd-uc-09-001.json": 2,
    "sec-vex-2022-0001.json": 3,
    "rhsa-2019_1862.json": 0,
    "rhsa-2021_5186.json": 2,
    "csaf_many_vuln.json": 2,
    "csaf_no_vuln.json": 0,
}


@pytest.mark.parametrize("path", EXAMPLES + DEFECTDOJO, ids=lambda path: path.name)
def test_real_documents(path: Path) -> None:
    raw = json.loads(path.read_bytes())
    assert detect_format(path.read_bytes()[:65536]) == "csaf"
    parsed = parse(path)
    assert parsed.format == "csaf"
    assert len(parsed.findings) == len(raw.get("vulnerabilities", []))
    assert len(parsed.findings) == VULNERABILITIES.get(path.name, 1)
    for index, (finding, vulnerability) in enumerate(
        zip(parsed.findings, raw.get("vulnerabilities", []), strict=True)
    ):
        assert finding.source_ref == f"/vulnerabilities/{index}"
        if "cve" in vulnerability:
            assert finding.aliases[0] == vulnerability["cve"]
        assert finding.modified == raw["document"]["tracking"]["current_release_date"]


@pytest.mark.parametrize("path", NOT_ADVISORIES, ids=lambda path: path.name)
def test_csaf_infrastructure_documents_are_not_advisories(path: Path) -> None:
    with pytest.raises(FormatError) as caught:
        parse(path)
    assert caught.value.pointer == ""
    assert caught.value.expected.startswith("a SARIF 2.1.0 log, an OSV record")
    with pytest.raises(FormatError) as forced:
        parse(path, "csaf")
    assert forced.value.expected == "the property 'document'"


def test_unsupported_version_is_rejected_clearly() -> None:
    path = data_dir("csaf", "defectdojo") / "csaf_unsupported_version.json"
    with pytest.raises(FormatError) as caught:
        parse(path)
    assert str(caught.value) == (
        "csaf_unsupported_version.json at /document/csaf_version: "
        "expected '2.0' (only CSAF 2.0 is supported), found '1.2'"
    )
    with pytest.raises(FormatError):
        parse(path, strict=False)  # a version problem is not a tolerable schema violation


def test_red_hat_advisory_is_normalized() -> None:
    finding = parse(data_dir("csaf", "csaf") / "rhsa-2021_5186.json").findings[0]
    assert finding.aliases == (
        "CVE-2021-4104",
        "https://bugzilla.redhat.com/show_bug.cgi?id=2031667",
    )
    assert finding.cwe_ids == ("CWE-20",)
    assert finding.severity == "Moderate"  # Red Hat's rating, from the impact threat
    assert finding.published == "2021-12-10T00:00:00Z"


def test_cvss_scores_resolve_first_schemas_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CSAF schema refers to FIRST's CVSS schemas by URL: validation must use the
    bundled copies, so it works with the network cut off."""

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    path = data_dir("csaf", "csaf") / "bsi-2022-0001.json"
    finding = parse(path).findings[0]
    assert finding.cvss_vectors == ("CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:N/A:L/E:F/RL:O/RC:C",)
    assert finding.severity == "MEDIUM"
    document = json.loads(path.read_bytes())
    document["vulnerabilities"][0]["scores"][0]["cvss_v3"]["attackVector"] = "SPACE"
    with pytest.raises(FormatError) as caught:
        parse(json.dumps(document).encode())
    assert caught.value.pointer == "/vulnerabilities/0/scores/0/cvss_v3/attackVector"
    assert caught.value.expected.startswith("one of 'NETWORK'")


def _document(vulnerabilities: list[dict[str, Any]], tree: dict[str, Any]) -> dict[str, Any]:
    return {
        "document": {
            "category": "csaf_security_advisory",
            "csaf_version": "2.0",
            "title": "Example advisory",
            "publisher": {
                "category": "vendor",
                "name": "Example",
                "namespace": "https://example.com",
            },
            "tracking": {
                "id": "EX-1",
                "status": "final",
                "version": "1",
                "initial_release_date": "2024-01-01T00:00:00Z",
                "current_release_date": "2024-01-02T00:00:00Z",
                "revision_history": [
                    {"date": "2024-01-01T00:00:00Z", "number": "1", "summary": "Initial"}
                ],
            },
        },
        "product_tree": tree,
        "vulnerabilities": vulnerabilities,
    }


def test_affected_products_become_packages_with_purls() -> None:
    tree = {
        "branches": [
            {
                "category": "vendor",
                "name": "Example",
                "branches": [
                    {
                        "category": "product_version",
                        "name": "lib 1.0",
                        "product": {
                            "name": "Example lib 1.0",
                            "product_id": "LIB-1",
                            "product_identification_helper": {"purl": "pkg:pypi/example-lib@1.0"},
                        },
                    },
                    {
                        "category": "product_version",
                        "name": "app 2.0",
                        "product": {"name": "Example app 2.0", "product_id": "APP-2"},
                    },
                ],
            }
        ],
        "relationships": [
            {
                "category": "default_component_of",
                "product_reference": "LIB-1",
                "relates_to_product_reference": "APP-2",
                "full_product_name": {"name": "lib 1.0 in app 2.0", "product_id": "APP-2:LIB-1"},
            }
        ],
    }
    vulnerability = {
        "cve": "CVE-2024-1234",
        "ids": [{"system_name": "Example tracker", "text": "EX-BUG-1"}],
        "cwe": {"id": "CWE-502", "name": "Deserialization of Untrusted Data"},
        "notes": [{"category": "description", "text": "Unsafe deserialization."}],
        "product_status": {"known_affected": ["APP-2:LIB-1", "APP-2"], "fixed": ["LIB-1"]},
    }
    finding = parse(json.dumps(_document([vulnerability], tree)).encode()).findings[0]
    assert finding.aliases == ("CVE-2024-1234", "EX-BUG-1")
    assert finding.cwe_ids == ("CWE-502",)
    assert finding.description == "Unsafe deserialization."
    assert finding.title == "Example advisory"
    assert finding.packages == (
        Package("PyPI", "example-lib", "pkg:pypi/example-lib@1.0"),
        Package(None, "Example app 2.0", None),
    )


def test_deep_schema_violation_points_at_it() -> None:
    document = _document([{"cve": "CVE-2024-1234"}], {})
    broken = copy.deepcopy(document)
    broken["document"]["tracking"]["revision_history"][0]["date"] = 20240101
    with pytest.raises(FormatError) as caught:
        parse(json.dumps(broken).encode())
    assert caught.value.pointer == "/document/tracking/revision_history/0/date"
    assert caught.value.expected == "a value of type 'string'"
    assert caught.value.found == "20240101"
