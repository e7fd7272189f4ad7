"""The clearinghouse from the command line, against the issue's CLI contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.clearinghouse.conftest import OSV, SARIF, need
from tests.unit.clearinghouse.triage.support import EPSS_FIXTURE, KEV_JSON
from tests.unit.cli.test_cli import instance, run  # noqa: F401 - the fixture is used by name

PASSWORD = "a reporter password of some length"


def ok(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    body = json.loads(out)
    assert isinstance(body, dict)
    return body


@pytest.fixture
def reporter(instance: str, capsys: pytest.CaptureFixture[str]) -> str:  # noqa: F811
    assert run(capsys, "org", "create", "Bug Hunters", "--kind", "reporter")[0] == 0
    email = "hunter@bugs.example"
    code, _, err = run(capsys, "user", "create", email, "--org", "Bug Hunters", "--password",
                       PASSWORD)  # fmt: skip
    assert code == 0, err
    return email


def test_intake_submit_prints_the_contract_and_a_resubmission_is_duplicates(
    reporter: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(need(SARIF / "njsscan.sarif"))
    first = ok(capsys, "--as", reporter, "intake", "submit", path, "--json")
    assert {"submission", "format", "findings", "new", "duplicates", "vulnerabilities"} <= set(
        first
    )
    assert first["format"] == "sarif" and first["new"] == first["findings"]
    again = ok(capsys, "intake", "submit", path, "--discovery-method", "automated", "--json")
    assert again["new"] == 0 and again["duplicates"] == first["findings"]

    listed = ok(capsys, "vulns", "list", "--json")
    assert {"items", "total"} <= set(listed)
    assert listed["total"] == len(first["vulnerabilities"])  # type: ignore[arg-type]
    item = listed["items"][0]  # type: ignore[index]
    assert {"id", "status", "aliases", "findings"} <= set(item)
    assert item["findings"] == 2 and item["status"] == "new"

    shown = ok(capsys, "vulns", "show", item["id"], "--json")
    assert len(shown["cluster"]) == 2  # type: ignore[arg-type]
    levels = {f["level"] for f in shown["cluster"]}  # type: ignore[attr-defined]
    assert levels == {"new", "exact"}
    history = shown["reporter_history"]
    assert isinstance(history, dict) and len(history) == 2


def test_a_rejected_file_exits_non_zero_and_writes_only_its_rejection(
    reporter: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "broken.sarif"
    bad.write_text('{"version": "2.1.0", "runs": [{"tool": {"driver": {}}, "results": [}]}')
    code, out, err = run(capsys, "--as", reporter, "intake", "submit", str(bad), "--json")
    assert code == 1 and out == ""
    assert "broken.sarif" in err and err.count("\n") == 1
    assert ok(capsys, "vulns", "list", "--json")["total"] == 0


def test_osv_records_join_by_alias_and_the_queue_follows_kev_and_epss(
    reporter: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import yaml

    # Log4Shell as an OSV record: the same id the KEV catalog and the EPSS fixture use.
    record = yaml.safe_load(need(OSV / "aiohttp" / "PYSEC-2021-76.yaml").read_text())
    record.update(id="GHSA-jfh8-c2jp-5v3q", aliases=["CVE-2021-44228"])
    record.pop("withdrawn", None)
    log4shell = tmp_path / "log4shell.json"
    log4shell.write_text(json.dumps(record, default=str))
    ok(capsys, "--as", reporter, "intake", "submit", str(need(SARIF / "njsscan.sarif")),
       "--json")  # fmt: skip
    taken = ok(capsys, "--as", reporter, "intake", "submit", str(log4shell), "--json")
    [target] = taken["vulnerabilities"]  # type: ignore[misc]

    loaded = ok(capsys, "kev", "load", str(need(KEV_JSON)), "--json")
    assert loaded["total"] == 1404 and loaded["vulnerabilities_rescored"] == 1
    epss = tmp_path / "epss.csv"
    epss.write_bytes(EPSS_FIXTURE)
    ok(capsys, "epss", "load", str(epss), "--json")
    queue = ok(capsys, "vulns", "list", "--json")["items"]
    first = queue[0]  # type: ignore[index]
    assert first["id"] == target and first["in_kev"] is True and first["epss"] == 0.94358


def test_an_analyst_merges_and_splits_from_the_command_line(
    reporter: str, capsys: pytest.CaptureFixture[str]
) -> None:
    a = ok(capsys, "--as", reporter, "intake", "submit", str(need(SARIF / "njsscan.sarif")),
           "--json")["vulnerabilities"][0]  # type: ignore[index]  # fmt: skip
    b = ok(capsys, "--as", reporter, "intake", "submit", str(need(SARIF / "dockle_0_3_15.sarif")),
           "--json")["vulnerabilities"][0]  # type: ignore[index]  # fmt: skip
    code, _, err = run(capsys, "--as", reporter, "vulns", "merge", a, b, "--reason", "same")
    assert code == 1 and "may not" in err
    merged = ok(capsys, "vulns", "merge", a, b, "--reason", "same root cause", "--json")
    moved = [f for f in merged["cluster"] if f["level"] == "manual"]  # type: ignore[attr-defined]
    assert moved
    split = ok(capsys, "vulns", "split", moved[0]["id"], "--reason", "not the same", "--json")
    assert split["id"] not in (a, b)
