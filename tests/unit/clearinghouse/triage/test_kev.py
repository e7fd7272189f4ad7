"""The KEV catalog parser: the real catalog in both forms, and bad input named by place."""

from __future__ import annotations

from datetime import date
from importlib import resources
from typing import Any

import orjson
import pytest

from assay.clearinghouse.triage.kev import KevCatalog, parse_kev, parse_kev_csv, parse_kev_json
from assay.core.errors import FieldError, InvalidInput
from tests.shared_data import shared

JSON_NAME = "known_exploited_vulnerabilities.json"
CSV_NAME = "known_exploited_vulnerabilities.csv"


@pytest.fixture(scope="module")
def real_json(kev_json: bytes) -> bytes:
    return kev_json


@pytest.fixture(scope="module")
def real_csv(kev_csv: bytes) -> bytes:
    return kev_csv


@pytest.fixture(scope="module")
def from_json(real_json: bytes) -> KevCatalog:
    return parse_kev_json(real_json, source_name=JSON_NAME)


def _document(real_json: bytes) -> dict[str, Any]:
    loaded: dict[str, Any] = orjson.loads(real_json)
    return loaded


def _errors(data: bytes, name: str = JSON_NAME) -> tuple[InvalidInput, list[FieldError]]:
    with pytest.raises(InvalidInput) as caught:
        parse_kev(data, source_name=name)
    return caught.value, caught.value.errors


def test_the_real_json_catalog_parses_fully(from_json: KevCatalog) -> None:
    assert len(from_json.entries) == 1404
    assert from_json.version == "2025.08.25"
    assert from_json.released == "2025-08-25T17:04:19.9796Z"
    assert from_json.format == "json"
    git = from_json.entries[0]
    assert git.cve_id == "CVE-2025-48384"
    assert (git.vendor, git.product) == ("Git", "Git")
    assert git.name == "Git Link Following Vulnerability"
    assert (git.date_added, git.due_date) == (date(2025, 8, 25), date(2025, 9, 15))
    assert git.known_ransomware is None
    assert git.cwes == ("CWE-59", "CWE-436")
    assert git.notes.startswith("This vulnerability affects a common open-source component")
    assert git.required_action.startswith("Apply mitigations per vendor instructions")
    ransomware = [e for e in from_json.entries if e.known_ransomware]
    assert len(ransomware) == 293
    assert sum(1 for e in from_json.entries if not e.cwes) == 152


def test_the_real_csv_catalog_parses_to_the_same_entries(
    real_csv: bytes, from_json: KevCatalog
) -> None:
    from_csv = parse_kev(real_csv, source_name=CSV_NAME)
    assert from_csv.format == "csv"
    assert len(from_csv.entries) == 1404
    assert from_csv.entries == from_json.entries
    assert from_csv.version == from_json.version  # the newest dateAdded, as CISA numbers
    assert from_csv.released is None


def test_the_shipped_schema_is_the_shared_copy() -> None:
    shipped = resources.files("assay.clearinghouse.triage").joinpath("data")
    assert (
        shipped.joinpath("kev.schema.json").read_bytes()
        == shared("schemas", "kev.schema.json").read_bytes()
    )
    assert (
        shipped.joinpath("LICENSE-kev-data.txt").read_bytes()
        == shared("kev", "LICENSE").read_bytes()
    )


def test_a_schema_violation_deep_in_the_file_has_a_pointer(real_json: bytes) -> None:
    document = _document(real_json)
    document["vulnerabilities"][1203]["dateAdded"] = "2021/11/03"
    del document["vulnerabilities"][1377]["requiredAction"]
    document["vulnerabilities"][1400]["cveID"] = "CVE-21-1"
    error, errors = _errors(orjson.dumps(document))
    fields = [e.field for e in errors]
    assert f"{JSON_NAME}#/vulnerabilities/1203/dateAdded" in fields
    assert f"{JSON_NAME}#/vulnerabilities/1377" in fields
    assert f"{JSON_NAME}#/vulnerabilities/1400/cveID" in fields
    by_field = {e.field: e.message for e in errors}
    assert by_field[f"{JSON_NAME}#/vulnerabilities/1203/dateAdded"].startswith("a date")
    assert (
        "'requiredAction' is a required property" in by_field[f"{JSON_NAME}#/vulnerabilities/1377"]
    )
    assert "^CVE-[0-9]{4}-[0-9]{4,19}$" in by_field[f"{JSON_NAME}#/vulnerabilities/1400/cveID"]
    assert error.detail.startswith(f"{JSON_NAME} is not a valid KEV catalog: {JSON_NAME}#/")
    assert "(and 2 more problems)" in error.detail


def test_a_wrong_type_is_reported_briefly(real_json: bytes) -> None:
    document = _document(real_json)
    document["vulnerabilities"] = {"not": "a list"}
    _, errors = _errors(orjson.dumps(document))
    assert errors == [FieldError(f"{JSON_NAME}#/vulnerabilities", "a value of type array")]


def test_malformed_json_is_named() -> None:
    error, errors = _errors(b'{"catalogVersion": "x",, }')
    assert len(errors) == 1
    assert errors[0].field == JSON_NAME
    assert errors[0].message.startswith("JSON (")
    assert "line 1 column" in errors[0].message
    assert JSON_NAME in error.detail


def test_count_must_match_and_a_cve_is_listed_once(real_json: bytes) -> None:
    document = _document(real_json)
    document["vulnerabilities"][7] = dict(document["vulnerabilities"][2])
    document["count"] = 1405
    _, errors = _errors(orjson.dumps(document))
    assert errors == [
        FieldError(f"{JSON_NAME}#/count", "the number of vulnerabilities listed (1404), not 1405"),
        FieldError(
            f"{JSON_NAME}#/vulnerabilities/7/cveID",
            "a CVE listed once (CVE-2024-8069 is also entry 3)",
        ),
    ]


def test_impossible_dates_and_unknown_ransomware_values_are_refused(real_json: bytes) -> None:
    document = _document(real_json)
    document["vulnerabilities"][0]["dueDate"] = "2025-02-30"
    _, errors = _errors(orjson.dumps(document))
    assert [e.field for e in errors] == [f"{JSON_NAME}#/vulnerabilities/0/dueDate"]
    document = _document(real_json)
    document["vulnerabilities"][1]["knownRansomwareCampaignUse"] = "Maybe"
    _, errors = _errors(orjson.dumps(document))
    assert errors == [
        FieldError(f"{JSON_NAME}#/vulnerabilities/1/knownRansomwareCampaignUse", "Known or Unknown")
    ]


def test_a_byte_order_mark_is_accepted(real_json: bytes, real_csv: bytes) -> None:
    assert len(parse_kev(b"\xef\xbb\xbf" + real_json, source_name="x").entries) == 1404
    assert len(parse_kev(b"\xef\xbb\xbf" + real_csv, source_name="x").entries) == 1404


# -- CSV ---------------------------------------------------------------------------------


def test_a_csv_missing_columns_is_refused(real_csv: bytes) -> None:
    header, _, rest = real_csv.partition(b"\n")
    header = header.replace(b"dateAdded,", b"").replace(b"dueDate,", b"")
    _, errors = _errors(header + b"\n" + rest, CSV_NAME)
    assert errors == [FieldError(f"{CSV_NAME}:1", "the columns dateAdded, dueDate")]


def test_csv_errors_name_the_line_where_the_record_starts(real_csv: bytes) -> None:
    lines = real_csv.decode("utf-8").splitlines()
    assert lines[2].startswith("CVE-2024-8068,")
    lines[2] = lines[2].replace("2025-08-25", "25/08/2025", 1)
    lines[4] += ",extra"  # one cell too many
    # A quoted cell spanning lines, then a bad CVE id on the record after it.
    lines.insert(5, 'CVE-2099-0001,V,P,"multi\nline",2025-01-01,d,a,2025-01-02,Unknown,"",')
    lines.insert(6, "CVE-99-1,V,P,N,2025-01-01,d,a,2025-01-02,Unknown,,")
    _, errors = _errors("\n".join(lines).encode(), CSV_NAME)
    assert errors == [
        FieldError(f"{CSV_NAME}:3:dateAdded", "a date written YYYY-MM-DD"),
        FieldError(f"{CSV_NAME}:5", "11 cells, not 12"),
        FieldError(f"{CSV_NAME}:8:cveID", "a CVE id such as CVE-2024-3400"),
    ]


def test_csv_cwes_are_split_and_checked() -> None:
    header = (
        "cveID,vendorProject,product,vulnerabilityName,dateAdded,shortDescription,"
        "requiredAction,dueDate,knownRansomwareCampaignUse,notes,cwes\n"
    )
    good = header + 'CVE-2025-0001,V,P,N,2025-01-01,d,a,2025-01-22,Known,,"CWE-79, CWE-89"\n'
    catalog = parse_kev_csv(good.encode(), source_name=CSV_NAME)
    assert catalog.entries[0].cwes == ("CWE-79", "CWE-89")
    assert catalog.entries[0].known_ransomware is True
    assert catalog.version == "2025.01.01"
    bad = header + "CVE-2025-0001,V,P,N,2025-01-01,d,a,2025-01-22,Known,,XSS\n"
    _, errors = _errors(bad.encode(), CSV_NAME)
    assert errors == [FieldError(f"{CSV_NAME}:2:cwes", "CWE ids such as CWE-79, not XSS")]


def test_empty_and_undecodable_csv_files_are_refused() -> None:
    _, errors = _errors(b"", CSV_NAME)
    assert errors[0].field == f"{CSV_NAME}:1"
    header_only = b"cveID,vendorProject,product,vulnerabilityName,dateAdded,shortDescription,"
    header_only += b"requiredAction,dueDate\n"
    _, errors = _errors(header_only, CSV_NAME)
    assert errors == [FieldError(f"{CSV_NAME}:2", "at least one entry after the header")]
    _, errors = _errors(header_only + b"\xff\xfe", CSV_NAME)
    assert errors[0].message == "UTF-8 text"


def test_at_most_twenty_errors_are_listed(real_csv: bytes) -> None:
    text = real_csv.decode("utf-8").replace(",2025-08-", ",2025/08/")
    error, errors = _errors(text.encode(), CSV_NAME)
    assert len(errors) == 20
    assert "more problems" in error.detail


def test_a_catalog_version_must_fit_its_column(real_json: bytes) -> None:
    document = _document(real_json)
    document["catalogVersion"] = "v" * 41
    _, errors = _errors(orjson.dumps(document))
    assert errors == [FieldError(f"{JSON_NAME}#/catalogVersion", "a version of 1 to 40 characters")]
