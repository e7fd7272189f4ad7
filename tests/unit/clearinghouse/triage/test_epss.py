"""The EPSS file parser: FIRST's CSV form, gzip, and bad input named by line."""

from __future__ import annotations

import gzip
from datetime import date

import pytest

from assay.clearinghouse.triage.epss import parse_epss_csv
from assay.clearinghouse.triage.kev import parse_kev
from assay.core.errors import FieldError, InvalidInput
from tests.shared_data import shared
from tests.unit.clearinghouse.triage.support import EPSS_FIXTURE

NAME = "epss_scores-2025-08-25.csv"
HEADER = b"#model_version:v2025.03.14,score_date:2025-08-25T00:00:00+0000\ncve,epss,percentile\n"


def _errors(data: bytes) -> list[FieldError]:
    with pytest.raises(InvalidInput) as caught:
        parse_epss_csv(data, source_name=NAME)
    assert NAME in caught.value.detail
    return caught.value.errors


def test_the_fixture_parses() -> None:
    parsed = parse_epss_csv(EPSS_FIXTURE, source_name=NAME)
    assert parsed.model_version == "v2025.03.14"
    assert parsed.score_date == date(2025, 8, 25)
    assert len(parsed.scores) == 8
    log4shell = parsed.scores[0]
    assert (log4shell.cve_id, log4shell.epss, log4shell.percentile) == (
        "CVE-2021-44228",
        0.94358,
        0.99994,
    )
    assert all(s.score_date == date(2025, 8, 25) for s in parsed.scores)


def test_the_fixture_uses_real_kev_cve_ids() -> None:
    kev = {
        e.cve_id
        for e in parse_kev(
            shared("kev", "known_exploited_vulnerabilities.json").read_bytes(),
            source_name="kev.json",
        ).entries
    }
    parsed = parse_epss_csv(EPSS_FIXTURE, source_name=NAME)
    assert {s.cve_id for s in parsed.scores} <= kev


def test_gzip_crlf_and_a_byte_order_mark_are_accepted() -> None:
    assert parse_epss_csv(gzip.compress(EPSS_FIXTURE), source_name=NAME).scores == (
        parse_epss_csv(EPSS_FIXTURE, source_name=NAME).scores
    )
    crlf = b"\xef\xbb\xbf" + EPSS_FIXTURE.replace(b"\n", b"\r\n")
    assert len(parse_epss_csv(crlf, source_name=NAME).scores) == 8
    errors = _errors(b"\x1f\x8b" + b"not really gzip")
    assert errors[0].message.startswith("a readable gzip file")


def test_a_date_column_stands_in_for_the_comment_line() -> None:
    data = b"cve,epss,percentile,date\nCVE-2021-44228,0.9,0.99,2025-08-24\n"
    data += b"CVE-2024-3400,0.9,0.99,2025-08-25\n"
    parsed = parse_epss_csv(data, source_name=NAME)
    assert parsed.model_version is None
    assert parsed.score_date == date(2025, 8, 25)
    assert [s.score_date for s in parsed.scores] == [date(2025, 8, 24), date(2025, 8, 25)]


def test_values_out_of_range_or_not_numbers_are_named_by_line() -> None:
    data = HEADER + b"CVE-2021-44228,1.2,0.99\nCVE-2024-3400,0.5,-0.1\n"
    data += b"CVE-2023-4966,nan,0.5\nCVE-2017-0144,high,0.5\nCVE-17-1,0.1,0.1\n"
    data += b"CVE-2013-1347,0.1\n"
    assert _errors(data) == [
        FieldError(f"{NAME}:3:epss", "a number in [0, 1], not 1.2"),
        FieldError(f"{NAME}:4:percentile", "a number in [0, 1], not -0.1"),
        FieldError(f"{NAME}:5:epss", "a number in [0, 1], not nan"),
        FieldError(f"{NAME}:6:epss", "a number in [0, 1], not 'high'"),
        FieldError(f"{NAME}:7:cve", "a CVE id such as CVE-2024-3400"),
        FieldError(f"{NAME}:8", "3 cells, not 2"),
    ]


def test_a_duplicate_after_a_good_row_is_named() -> None:
    data = HEADER + b"CVE-2021-44228,0.1,0.5\nCVE-2021-44228,0.2,0.6\n"
    assert _errors(data) == [
        FieldError(f"{NAME}:4:cve", "a CVE listed once (CVE-2021-44228 is also on line 3)")
    ]


def test_missing_columns_dates_and_rows_are_refused() -> None:
    assert _errors(b"#model_version:v1,score_date:2025-08-25\ncve,score\n") == [
        FieldError(f"{NAME}:2", "the columns epss, percentile")
    ]
    assert _errors(b"cve,epss,percentile\nCVE-2021-44228,0.1,0.5\n") == [
        FieldError(
            f"{NAME}:1", "a first line #model_version:...,score_date:YYYY-MM-DD, or a date column"
        )
    ]
    assert _errors(b"#model_version:v1,score_date:yesterday\ncve,epss,percentile\n") == [
        FieldError(f"{NAME}:1", "a comment line with score_date:YYYY-MM-DD (FIRST's form)")
    ]
    assert _errors(HEADER) == [FieldError(f"{NAME}:3", "at least one score after the header")]
    assert _errors(b"")[0].field == f"{NAME}:1"


def test_a_model_version_must_fit_its_column() -> None:
    data = b"#model_version:" + b"v" * 41 + b",score_date:2025-08-25\n" + HEADER.split(b"\n")[1]
    assert _errors(data + b"\nCVE-2021-44228,0.1,0.5\n") == [
        FieldError(f"{NAME}:1", "a model_version of at most 40 characters")
    ]
