"""The streaming SARIF reader: large files, run attribution, inputs of every kind."""

from __future__ import annotations

import io
import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from assay.formats import Finding, FormatError, iter_sarif, parse
from tests.unit.formats.support import dumps, result, sarif_log, sarif_run

RULES = [
    {
        "id": f"py/rule-{index}",
        "name": f"Rule {index}",
        "shortDescription": {"text": f"Rule {index} finds things."},
        "defaultConfiguration": {"level": "warning"},
        "properties": {"tags": ["security", f"external/cwe/cwe-{80 + index:03d}"]},
    }
    for index in range(10)
]


def write_sarif(path: Path, count: int) -> None:
    """A CodeQL-shaped log with `count` results, written incrementally."""
    with path.open("w", encoding="utf-8") as out:
        out.write('{"version": "2.1.0", "runs": [{"tool": ')
        json.dump({"driver": {"name": "CodeQL", "semanticVersion": "2.5.4", "rules": RULES}}, out)
        out.write(', "results": [')
        for index in range(count):
            if index:
                out.write(",")
            json.dump(
                {
                    "ruleId": f"py/rule-{index % 10}",
                    "ruleIndex": index % 10,
                    "message": {"text": f"Flow from user input to sink number {index}."},
                    "locations": [
                        {
                            "physicalLocation": {
                                "artifactLocation": {"uri": f"src/mod{index % 97}.py"},
                                "region": {"startLine": index % 500 + 1, "startColumn": 5},
                            }
                        }
                    ],
                    "partialFingerprints": {"primaryLocationLineHash": f"{index:016x}:1"},
                },
                out,
            )
        out.write("]}]}")


def test_twenty_thousand_results_stream_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "large.sarif"
    write_sarif(path, 20_000)
    with iter_sarif(path) as stream:
        assert stream.header.result_count == 20_000  # known before the first finding
        count = 0
        last: Finding | None = None
        for finding in stream:
            count += 1
            last = finding
    assert count == 20_000
    assert last is not None and last.source_ref == "/runs/0/results/19999"
    assert last.cwe_ids == ("CWE-89",)  # rule 9: external/cwe/cwe-089
    assert last.severity == "warning"  # the rule's default level


def _traced_peak(path: Path) -> int:
    tracemalloc.start()
    try:
        assert sum(1 for _ in iter_sarif(path)) > 0
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_number_of_results(tmp_path: Path) -> None:
    """For information, with a loose check: tracing slows parsing tenfold, so it is run on
    two small logs, one four times the other; a reader that held results would peak in
    proportion to their number."""
    parse(dumps(sarif_log(sarif_run([result(0)]))))  # compile validators outside the trace
    small, large = tmp_path / "small.sarif", tmp_path / "large.sarif"
    write_sarif(small, 250)
    write_sarif(large, 1000)
    peak_small, peak_large = _traced_peak(small), _traced_peak(large)
    print(
        f"\npeak traced memory: {peak_small / 1e6:.2f} MB for {small.stat().st_size / 1e6:.2f} MB"
        f" of SARIF, {peak_large / 1e6:.2f} MB for {large.stat().st_size / 1e6:.2f} MB"
    )
    assert peak_large < 2 * peak_small


def test_results_before_tool_and_several_runs() -> None:
    log = {
        "runs": [
            {"results": [result(0)], "tool": {"driver": {"name": "A", "rules": [{"id": "R0"}]}}},
            sarif_run([], name="B"),
            {"tool": {"driver": {"name": "C"}}},
            sarif_run([result(1), result(2)], name="D"),
        ],
        "version": "2.1.0",
    }
    with iter_sarif(dumps(log)) as stream:
        findings = list(stream)
        runs = stream.header.runs
    assert [(f.source_ref, f.tool) for f in findings] == [
        ("/runs/0/results/0", "A"),
        ("/runs/3/results/0", "D 1.0"),
        ("/runs/3/results/1", "D 1.0"),
    ]
    assert [(run.tool, run.result_count) for run in runs] == [
        ("A", 1),
        ("B 1.0", 0),
        ("C", 0),
        ("D 1.0", 2),
    ]


def test_zero_results() -> None:
    parsed = parse(dumps(sarif_log(sarif_run([]))))
    assert parsed.findings == ()
    assert parsed.sarif is not None and parsed.sarif.tools == ["Scanner 1.0"]
    assert parse(dumps(sarif_log())).findings == ()
    assert parse(dumps({"version": "2.1.0", "runs": None})).findings == ()


def _inputs(data: bytes, tmp_path: Path) -> list[Any]:
    path = tmp_path / "in.sarif"
    path.write_bytes(data)

    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            chunk = self._data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    return [data, path, str(path), io.BytesIO(data), io.BufferedReader(Pipe())]


def test_every_kind_of_input(tmp_path: Path) -> None:
    data = dumps(sarif_log(sarif_run([result(0), result(1)])))
    for source in _inputs(data, tmp_path):
        with iter_sarif(source) as stream:
            assert [f.source_ref for f in stream] == ["/runs/0/results/0", "/runs/0/results/1"]
        assert len(parse(source if not hasattr(source, "seek") else io.BytesIO(data)).findings) == 2


def test_a_callers_stream_is_read_from_its_position_and_not_closed() -> None:
    data = dumps(sarif_log(sarif_run([result(0)])))
    handle = io.BytesIO(b"JUNK" + data)
    handle.seek(4)
    assert len(list(iter_sarif(handle))) == 1
    assert not handle.closed


def test_abandoning_a_stream_closes_its_file(tmp_path: Path) -> None:
    path = tmp_path / "x.sarif"
    write_sarif(path, 100)
    stream = iter_sarif(path)
    next(stream)
    stream.close()
    with pytest.raises(StopIteration):
        next(stream)


def test_rule_resolution_messages_and_levels() -> None:
    run = sarif_run(
        [
            {"ruleIndex": 0, "message": {"id": "default", "arguments": ["x", "y"]}},
            {"rule": {"id": "EXT1", "toolComponent": {"index": 0}}, "message": {"text": "ext"}},
            {"ruleId": "R1", "kind": "pass", "message": {"text": "fine"}},
            {
                "ruleId": "R1",
                "message": {"text": "t"},
                "taxa": [{"toolComponent": {"index": 0}, "index": 1}],
            },
            {
                "ruleId": "CVE-2021-44228",
                "message": {"text": "log4shell"},
                "properties": {
                    "cvss": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
                    "cwe": ["CWE-502"],
                },
                "suppressions": [{"kind": "external", "status": "rejected"}],
            },
        ]
    )
    run["tool"]["driver"]["rules"] = [
        {
            "id": "R0",
            "messageStrings": {"default": {"text": "{0} flows to {1}"}},
            "defaultConfiguration": {"level": "error"},
        },
        {"id": "R1", "name": "Rule one"},
    ]
    run["tool"]["extensions"] = [
        {"name": "pack", "rules": [{"id": "EXT1", "shortDescription": {"text": "From a pack"}}]}
    ]
    run["taxonomies"] = [{"name": "CWE", "taxa": [{"id": "79"}, {"id": "89"}]}]
    run["versionControlProvenance"] = [{"repositoryUri": "https://example.com/repo.git"}]
    findings = parse(dumps(sarif_log(run))).findings
    assert (findings[0].rule_id, findings[0].description, findings[0].severity) == (
        "R0",
        "x flows to y",
        "error",
    )
    assert (findings[1].rule_id, findings[1].title) == ("EXT1", "From a pack")
    assert (findings[2].kind, findings[2].severity, findings[2].title) == (
        "pass",
        "none",
        "Rule one",
    )
    assert findings[3].cwe_ids == ("CWE-89",)
    assert findings[4].aliases == ("CVE-2021-44228",)
    assert findings[4].cwe_ids == ("CWE-502",)
    assert findings[4].cvss_vectors == ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",)
    assert not findings[4].suppressed  # the suppression was rejected
    assert {finding.repository for finding in findings} == {"https://example.com/repo.git"}


def test_locations_resolve_artifact_index_and_default_end_line() -> None:
    run = sarif_run(
        [
            result(
                0,
                locations=[
                    {
                        "physicalLocation": {
                            "artifactLocation": {"index": 1},
                            "region": {"startLine": 7, "snippet": {"text": "eval(x)"}},
                        }
                    }
                ],
            )
        ],
        artifacts=[{"location": {"uri": "a.py"}}, {"location": {"uri": "b.py"}}],
    )
    (finding,) = parse(dumps(sarif_log(run))).findings
    assert (finding.path, finding.start_line, finding.end_line, finding.snippet) == (
        "b.py",
        7,
        7,
        "eval(x)",
    )


def test_lenient_mode_keeps_going_and_counts_problems() -> None:
    results: list[Any] = [result(index) for index in range(5)]
    results[1]["level"] = "fatal"
    results[3]["locations"] = [{"physicalLocation": {"region": {"startLine": 0}}}]
    parsed = parse(dumps(sarif_log(sarif_run(results))), strict=False)
    assert len(parsed.findings) == 5
    assert [problem.pointer for problem in parsed.problems] == [
        "/runs/0/results/1/level",
        "/runs/0/results/3/locations/0/physicalLocation",
        "/runs/0/results/3/locations/0/physicalLocation/region/startLine",
    ]
    assert parsed.findings[1].severity == "fatal"  # reported as given
    with pytest.raises(FormatError):
        parse(dumps(sarif_log(sarif_run(results))))


def test_a_rejected_stream_stays_rejected() -> None:
    data = dumps(sarif_log(sarif_run([result(0), result(1, level="fatal"), result(2)])))
    stream = iter_sarif(data)
    assert next(stream).source_ref == "/runs/0/results/0"
    with pytest.raises(FormatError) as first:
        next(stream)
    with pytest.raises(FormatError) as again:
        next(stream)
    assert again.value is first.value
    broken = iter_sarif(b'{"version": "2.1.0", "runs": [')
    for _ in range(2):
        with pytest.raises(FormatError, match="truncated"):
            _ = broken.header
