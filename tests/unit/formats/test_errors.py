"""Bad input of every kind: each is a FormatError that says where and what was expected."""

from __future__ import annotations

import io
import json
import pickle
from pathlib import Path
from typing import Any

import pytest

from assay.formats import FormatError, parse
from tests.unit.formats.support import dumps, result, sarif_log, sarif_run

GOOD_SARIF = sarif_log(sarif_run([result(0), result(1)]))
OSV = {"id": "GHSA-2222-3333-4444", "modified": "2024-01-01T00:00:00Z"}
FORMATS = ("sarif", "osv", "csaf", "cve5")


def error_of(data: object, fmt: str = "auto", **kwargs: object) -> FormatError:
    with pytest.raises(FormatError) as caught:
        parse(data, fmt, **kwargs)  # type: ignore[arg-type]
    return caught.value


def test_message_shape() -> None:
    error = FormatError(
        "semgrep.sarif",
        "/runs/0/results/17/level",
        "one of 'none', 'note', 'warning', 'error'",
    )
    assert str(error) == (
        "semgrep.sarif at /runs/0/results/17/level: "
        "expected one of 'none', 'note', 'warning', 'error'"
    )
    assert str(FormatError("x.json", "", "a JSON document", found="an empty document")) == (
        "x.json: expected a JSON document, found an empty document"
    )
    assert str(FormatError("x.json", "", "valid JSON", line=3, column=7)) == (
        "x.json (line 3, column 7): expected valid JSON"
    )
    copy = pickle.loads(pickle.dumps(FormatError("f", "/a", "b", found="c", line=1)))
    assert (copy.file, copy.pointer, copy.expected, copy.found, copy.line) == (
        "f",
        "/a",
        "b",
        "c",
        1,
    )


def test_pointer_tokens_are_escaped() -> None:
    document = dumps(sarif_log(sarif_run([result(0, properties={"a/b~c": 1})]), **{"x/y": 1}))
    error = error_of(document)
    assert error.pointer == "/x~1y"


def test_deep_sarif_violation_has_exact_pointer() -> None:
    results = [result(index) for index in range(20)]
    results[17]["locations"] = [
        {"physicalLocation": {"artifactLocation": {"uri": "a.py"}, "region": {"startLine": 0}}}
    ]
    error = error_of(dumps(sarif_log(sarif_run(results))), source_name="semgrep.sarif")
    assert str(error) == (
        "semgrep.sarif at /runs/0/results/17/locations/0/physicalLocation/region/startLine: "
        "expected a number >= 1, found 0"
    )
    results[17] = result(17, level="critical")
    error = error_of(dumps(sarif_log(sarif_run(results))), source_name="semgrep.sarif")
    assert str(error) == (
        "semgrep.sarif at /runs/0/results/17/level: "
        "expected one of 'none', 'note', 'warning', 'error', found 'critical'"
    )


def test_sarif_envelope_violation() -> None:
    run = sarif_run([result(0)])
    run["tool"]["driver"]["rules"] = [{"id": "R0", "defaultConfiguration": {"level": "fatal"}}]
    error = error_of(dumps(sarif_log(run)))
    assert error.pointer == "/runs/0/tool/driver/rules/0/defaultConfiguration/level"


@pytest.mark.parametrize("fmt", ["auto", *FORMATS])
def test_truncated_json(fmt: str) -> None:
    documents = {
        "sarif": dumps(GOOD_SARIF),
        "osv": dumps(OSV),
        "csaf": b'{"document": {"csaf_version": "2.0", "title": "x"',
        "cve5": b'{"dataType": "CVE_RECORD", "cveMetadata": {"cveId": "CVE',
    }
    for name, data in documents.items():
        if fmt not in ("auto", name):
            continue
        cut = data if name in ("csaf", "cve5") else data[: len(data) // 2]
        error = error_of(cut, fmt)
        assert "truncated" in error.expected, (name, str(error))


def test_truncated_sarif_points_into_results() -> None:
    data = dumps(GOOD_SARIF)
    error = error_of(data[: data.index(b'"message 1"')])
    assert error.pointer == "/runs/0/results"
    assert error.expected == "more JSON: the document ends early (truncated)"


def test_truncated_whole_document_has_a_line() -> None:
    error = error_of(b'{\n  "id": "X",\n  "modified": "2024-', "osv")
    assert error.line == 3


@pytest.mark.parametrize(
    ("data", "fmt", "found"),
    [
        (dumps(OSV), "sarif", "an OSV record"),
        (dumps(GOOD_SARIF), "osv", "a SARIF log"),
        (dumps(GOOD_SARIF), "csaf", "a SARIF log"),
        (dumps(GOOD_SARIF), "cve5", "a SARIF log"),
        (dumps(OSV), "csaf", "an OSV record"),
        (dumps({"document": {"csaf_version": "2.0"}}), "osv", "a CSAF document"),
        (dumps({"dataType": "CVE_RECORD", "cveMetadata": {}}), "sarif", "a CVE JSON 5 record"),
    ],
)
def test_valid_json_in_the_wrong_format(data: bytes, fmt: str, found: str) -> None:
    error = error_of(data, fmt)
    assert error.pointer == ""
    assert error.found == found


def test_osv_given_as_sarif_message() -> None:
    error = error_of(dumps(OSV), "sarif", source_name="osv.json")
    assert str(error) == (
        "osv.json: expected a SARIF log: missing '$schema'/'version' 2.1.0 and 'runs', "
        "found an OSV record"
    )


def test_unknown_json_is_not_detected() -> None:
    error = error_of(b'{"hello": "world"}')
    assert error.expected.startswith("a SARIF 2.1.0 log, an OSV record")
    assert error.found == "JSON with the top-level keys 'hello'"


@pytest.mark.parametrize(
    ("data", "fmt", "pointer"),
    [
        (b'{"version": "2.1.0", "version": "2.1.0", "runs": []}', "sarif", "/version"),
        (
            b'{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "a", "name": "b"}}}]}',
            "sarif",
            "/runs/0/tool/driver/name",
        ),
        (
            b'{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "a"}}, "results": [],'
            b' "results": []}]}',
            "sarif",
            "/runs/0/results",
        ),
        (
            b'{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "a"}}, "results": '
            b'[{"message": {"text": "x"}}, {"message": {"text": "x", "text": "y"}}]}]}',
            "sarif",
            "/runs/0/results/1/message/text",
        ),
        (
            b'{"id": "A", "modified": "x", "affected": [{"package": {"name": 1, "name": 2}}]}',
            "osv",
            "/affected/0/package/name",
        ),
        (b'{"id": "A", "id": "B", "modified": "x"}', "osv", "/id"),
    ],
)
def test_duplicate_keys_are_refused(data: bytes, fmt: str, pointer: str) -> None:
    for strict in (True, False):
        error = error_of(data, fmt, strict=strict)
        assert error.pointer == pointer
        assert error.expected == "each member name once per object"


@pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_non_finite_numbers_are_refused(token: bytes) -> None:
    osv = (
        b'{"id": "A", "modified": "2024-01-01T00:00:00Z", "database_specific": {"x": ['
        + token
        + b"]}}"
    )
    error = error_of(osv, "osv")
    assert error.pointer == "/database_specific/x/0"
    assert error.expected == "a finite JSON number (NaN and Infinity are not JSON)"
    sarif = dumps(sarif_log(sarif_run([result(0, rank=0.5)]))).replace(b"0.5", token)
    error = error_of(sarif)
    assert error.pointer == "/runs/0/results"
    assert "number" in error.expected


def test_latin1_is_refused() -> None:
    text = json.dumps({**OSV, "summary": "café"}, ensure_ascii=False)
    error = error_of(text.encode("latin-1"))
    assert error.expected == "UTF-8 encoded text"
    assert error.found is not None and "0xe9" in error.found
    sarif = json.dumps(
        sarif_log(sarif_run([result(0, message={"text": "café"})])), ensure_ascii=False
    )
    error = error_of(sarif.encode("latin-1"))
    assert (error.pointer, error.expected) == ("/runs/0/results", "UTF-8 encoded text")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
@pytest.mark.parametrize("fmt", ["auto", *FORMATS])
def test_utf16_and_utf32_are_refused(encoding: str, fmt: str) -> None:
    error = error_of(json.dumps(GOOD_SARIF).encode(encoding), fmt)
    assert error.expected == "UTF-8 encoded text"
    assert error.found is not None and ("UTF-16" in error.found or "UTF-32" in error.found)


@pytest.mark.parametrize("fmt", ["auto", "sarif"])
def test_utf8_bom_is_accepted(fmt: str) -> None:
    assert len(parse(b"\xef\xbb\xbf" + dumps(GOOD_SARIF), fmt).findings) == 2
    assert parse(b"\xef\xbb\xbf" + dumps(OSV)).format == "osv"


def test_over_limit_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.sarif"
    path.write_bytes(dumps(GOOD_SARIF))
    for fmt in ("auto", "sarif"):
        error = error_of(path, fmt, max_bytes=100)
        assert error.expected == "at most 100 bytes"
        assert error.found == f"{path.stat().st_size:,} bytes"
    assert error_of(dumps(OSV), "osv", max_bytes=10).expected == "at most 10 bytes"


def test_over_limit_stream_is_refused() -> None:
    class Pipe(io.RawIOBase):
        """Endless and not seekable: must be refused without being read to its end."""

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            buffer[:] = b" " * len(buffer)
            return len(buffer)

    for fmt in ("auto", "sarif", "osv"):
        assert error_of(io.BufferedReader(Pipe()), fmt, max_bytes=10_000).expected == (
            "at most 10,000 bytes"
        )


def test_too_deep_nesting_is_refused() -> None:
    deep = b"[" * 5000 + b"]" * 5000
    sarif = dumps(sarif_log(sarif_run([result(0, properties={"x": 0})]))).replace(
        b'"x": 0', b'"x": ' + deep
    )
    for data, fmt in (
        (sarif, "sarif"),
        (sarif, "auto"),
        (deep, "osv"),
        (b'{"id": ' + deep + b"}", "osv"),
    ):
        assert error_of(data, fmt).expected == "JSON nested at most 64 levels deep"


def test_trailing_data_is_refused() -> None:
    for fmt, document in (("sarif", GOOD_SARIF), ("osv", OSV)):
        error = error_of(dumps(document) + b" {}", fmt)
        assert "nothing after" in error.expected or "Extra data" in error.expected


def test_empty_and_blank_input() -> None:
    for data in (b"", b"  \n"):
        assert error_of(data).found == "an empty document"
        for fmt in FORMATS:
            assert error_of(data, fmt).found in {"an empty document", "an empty file"}


def test_missing_file_is_a_format_error(tmp_path: Path) -> None:
    error = error_of(tmp_path / "absent.sarif", "sarif")
    assert (error.file, error.found) == ("absent.sarif", "FileNotFoundError")


def test_sarif_wrong_version_and_shapes() -> None:
    assert error_of(dumps({**GOOD_SARIF, "version": "2.0.0"})).pointer == "/version"
    assert error_of(b"[1, 2]", "sarif").found == "an array"
    results_null = sarif_log(sarif_run())
    results_null["runs"][0]["results"] = None
    error = error_of(dumps(results_null))
    assert (error.pointer, error.expected) == ("/runs/0/results", "a value of type 'array'")
    error = error_of(dumps(sarif_log(sarif_run([result(0), 42]))))
    assert (error.pointer, error.found) == ("/runs/0/results/1", "42")


def test_unknown_format_name_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown format"):
        parse(b"{}", "xml")


@pytest.mark.parametrize(
    ("data", "fmt", "pointer"),
    [
        (b'{"id": "A", "modified": "x\\ud800"}', "osv", "/modified"),
        (b'{"id": "A", "modified": "x", "s": {"k\\udc00": 1}}', "osv", "/s/k\\udc00"),
        (
            b'{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "T"}}, '
            b'"results": [{"message": {"text": "\\udc00"}}]}]}',
            "sarif",
            "/runs/0/results",
        ),
        (
            b'{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "\\udc00"}}}]}',
            "sarif",
            "/runs/0/tool",
        ),
    ],
)
def test_unpaired_surrogate_escapes_are_refused(data: bytes, fmt: str, pointer: str) -> None:
    """They decode to strings that cannot be stored as UTF-8; the pointer itself stays
    printable."""
    error = error_of(data, fmt)
    assert (error.pointer, error.expected) == (
        pointer,
        "strings without unpaired UTF-16 surrogate escapes",
    )
    str(error).encode("utf-8")


def test_paired_surrogate_escapes_are_text() -> None:
    record = b'{"id": "OSV-1", "modified": "2024-01-01T00:00:00Z", "summary": "\\ud83d\\ude00"}'
    assert parse(record).findings[0].title == "\U0001f600"
