"""SARIF streaming throughput: parse, validate and normalize a generated log of N results.

Run: .venv/bin/python bench/bench_parse.py [--results N] [--repeat R] [--keep PATH]
The log copies the shape of real CodeQL output (rules with CWE tags, one location with a
region and a context snippet, partial fingerprints). Prints a table of the best of R runs;
record the figures in docs/benchmarks.md with the machine and command.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import ijson  # type: ignore[import-untyped]

from assay.formats import _schemas, iter_sarif, parse

SNIPPET = "    try:\n        run(x)\n    except E:\n        pass\n"


def _rules(count: int) -> list[dict[str, object]]:
    return [
        {
            "id": f"py/rule-{index}",
            "name": f"rule-{index}",
            "shortDescription": {"text": f"Rule {index} finds a security problem."},
            "fullDescription": {"text": "A longer description of what the rule looks for. " * 4},
            "defaultConfiguration": {"level": "warning"},
            "properties": {
                "tags": ["security", f"external/cwe/cwe-{20 + index:03d}"],
                "precision": "high",
            },
        }
        for index in range(count)
    ]


def write_log(out: IO[str], results: int, rules: int = 50) -> None:
    out.write('{"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0",')
    out.write(' "runs": [{"tool": ')
    json.dump(
        {"driver": {"name": "CodeQL", "semanticVersion": "2.5.4", "rules": _rules(rules)}}, out
    )
    out.write(', "results": [')
    for index in range(results):
        if index:
            out.write(",")
        line = index % 500 + 1
        json.dump(
            {
                "ruleId": f"py/rule-{index % rules}",
                "ruleIndex": index % rules,
                "level": "error",
                "message": {"text": f"User input flows to a sensitive sink here ({index})."},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {
                                "uri": f"src/package/module{index % 977}.py",
                                "uriBaseId": "%SRCROOT%",
                            },
                            "region": {"startLine": line, "startColumn": 5, "endColumn": 30},
                            "contextRegion": {
                                "startLine": line,
                                "endLine": line + 3,
                                "snippet": {"text": SNIPPET},
                            },
                        }
                    }
                ],
                "partialFingerprints": {
                    "primaryLocationLineHash": f"{index:016x}:1",
                    "primaryLocationStartColumnFingerprint": "0",
                },
            },
            out,
        )
    out.write('], "columnKind": "utf16CodeUnits"}]}')


def _best(repeat: int, step: Callable[[], None]) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - started)
    return best


def run(path: Path, results: int, repeat: int) -> list[tuple[str, float, float]]:
    # Build the cached validators first: their one-off cost is not throughput.
    parse(b'{"version": "2.1.0", "runs": []}')
    _schemas.sarif_result_checker()
    _schemas.sarif_result_quick_check()

    def tokenize_only() -> None:
        with path.open("rb") as handle:
            for _ in ijson.items(handle, "runs.item.results.item", use_float=True):
                pass

    def envelope_pass() -> None:
        with iter_sarif(path) as stream:
            assert stream.header.result_count == results

    def full() -> None:
        with iter_sarif(path) as stream:
            assert sum(1 for _ in stream) == results

    def validate_only() -> None:
        checker = _schemas.sarif_result_checker()
        with path.open("rb") as handle:
            for item in ijson.items(handle, "runs.item.results.item", use_float=True):
                checker(item)

    def quick_only() -> None:
        quick = _schemas.sarif_result_quick_check()
        with path.open("rb") as handle:
            for item in ijson.items(handle, "runs.item.results.item", use_float=True):
                quick(item)

    rows = [
        ("ijson items only (reference)", tokenize_only),
        ("ijson items + compiled validation (reference)", validate_only),
        ("ijson items + quick check (what intake runs first)", quick_only),
        ("envelope pass (pass 1)", envelope_pass),
        ("stream: parse + validate + normalize", full),
    ]
    table = []
    for label, step in rows:
        seconds = _best(repeat, step)
        table.append((label, seconds, results / seconds))
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="write the generated log here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        path = args.keep or Path(scratch) / "bench.sarif"
        started = time.perf_counter()
        with path.open("w", encoding="utf-8") as out:
            write_log(out, args.results)
        size = path.stat().st_size
        print(
            f"generated {args.results:,} results, {size / 1e6:.1f} MB"
            f" in {time.perf_counter() - started:.1f} s"
        )
        table = run(path, args.results, args.repeat)
    width = max(len(label) for label, _, _ in table)
    print(f"{'step':<{width}}  {'seconds':>8}  {'results/s':>10}  {'MB/s':>7}")
    for label, seconds, rate in table:
        print(f"{label:<{width}}  {seconds:8.2f}  {rate:10,.0f}  {size / 1e6 / seconds:7.1f}")


if __name__ == "__main__":
    main()
