"""Intake of real files: one transaction, deduplication as reports arrive, clear rejections."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.clearinghouse import intake, vulns
from assay.clearinghouse.models import (
    MergeLevel,
    ReportedFinding,
    Submission,
    SubmissionStatus,
    Vulnerability,
)
from assay.core.errors import Forbidden, InvalidInput
from tests.unit.clearinghouse.conftest import OSV, SARIF, People, Submit, need


def count(session: Session, model: type) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_real_sarif_file_is_taken_in_and_a_resubmission_is_all_duplicates(
    session: Session, people: People, submit: Submit
) -> None:
    path = need(SARIF / "bash-report.sarif")
    first = submit(people.reporter, path)
    assert first.format == "sarif" and first.findings > 0
    assert first.new + first.duplicates == first.findings
    assert first.vulnerabilities and all(v.startswith("ASSAY-2026-") for v in first.vulnerabilities)
    again = submit(people.other_reporter, path)
    assert again.new == 0 and again.duplicates == again.findings == first.findings
    assert {d.level for d in again.duplicate_details} <= {MergeLevel.EXACT}
    assert set(again.vulnerabilities) <= set(first.vulnerabilities)
    assert count(session, ReportedFinding) == 2 * first.findings


def test_the_fabricated_subset_joins_the_clusters_of_the_full_report(
    people: People, submit: Submit
) -> None:
    full = submit(people.reporter, need(SARIF / "bash-report-fabricated-no-internal-dupes.sarif"))
    subset = submit(
        people.other_reporter, need(SARIF / "bash-report-fabricated-no-internal-dupes-subset.sarif")
    )
    assert subset.findings > 0
    assert subset.duplicates == subset.findings
    assert set(subset.vulnerabilities) <= set(full.vulnerabilities)


def _osv_with_id(tmp_path: Path, source: Path, new_id: str, aliases: list[str]) -> Path:
    import yaml

    record = yaml.safe_load(source.read_text())
    record["id"] = new_id
    record["aliases"] = aliases
    out = tmp_path / f"{new_id}.json"
    out.write_text(json.dumps(record, default=str))
    return out


def test_aliases_merge_transitively(
    session: Session, people: People, submit: Submit, tmp_path: Path
) -> None:
    source = need(OSV / "aiohttp" / "PYSEC-2021-76.yaml")
    first = submit(people.reporter, source)
    [vuln_id] = first.vulnerabilities
    # A GHSA record naming the PYSEC id joins it; a record naming only that GHSA joins too.
    ghsa = _osv_with_id(tmp_path, source, "GHSA-v6wp-4m6f-gcjg", ["PYSEC-2021-76"])
    second = submit(people.other_reporter, ghsa)
    assert second.vulnerabilities == [vuln_id]
    assert second.duplicate_details[0].level == MergeLevel.ALIAS
    third = submit(
        people.reporter, _osv_with_id(tmp_path, source, "OSV-2021-9999", ["GHSA-v6wp-4m6f-gcjg"])
    )
    assert third.vulnerabilities == [vuln_id]
    vuln = vulns.find(session, vuln_id)
    assert vuln is not None
    assert {"PYSEC-2021-76", "GHSA-v6wp-4m6f-gcjg", "OSV-2021-9999"} <= {
        a.alias for a in vuln.aliases
    }


@pytest.mark.parametrize(
    ("content", "where"),
    [
        (b'{"version": "2.1.0", "runs": [', "truncated"),
        (b'{"id": "X", "modified": "2024-01-01T00:00:00Z"', "truncated"),
        (b'{"version": "2.1.0", "version": "2.1.0", "runs": []}', "duplicate"),
        (b'{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": NaN}}}]}', "NaN"),
        ('{"version": "2.1.0", "runs": []}'.encode("utf-16"), "encoding"),
        (b"<xml>not json</xml>", "format"),
    ],
)
def test_bad_files_are_rejected_whole_with_a_reason_and_only_a_rejection_is_stored(
    session: Session, people: People, submit: Submit, tmp_path: Path, content: bytes, where: str
) -> None:
    path = tmp_path / "bad.sarif"
    path.write_bytes(content)
    with pytest.raises(InvalidInput) as caught:
        submit(people.reporter, path)
    assert "bad.sarif" in caught.value.detail
    assert count(session, ReportedFinding) == 0 and count(session, Vulnerability) == 0
    [rejected] = session.scalars(select(Submission)).all()
    assert rejected.status == SubmissionStatus.REJECTED and rejected.error is not None
    assert rejected.blob_sha256 is None


def test_a_schema_violation_deep_inside_names_its_pointer_and_nothing_is_written(
    session: Session, people: People, submit: Submit, tmp_path: Path
) -> None:
    log = json.loads(need(SARIF / "bash-report.sarif").read_text())
    results = log["runs"][0]["results"]
    results[-1]["level"] = "catastrophic"  # the last result: earlier ones were already placed
    path = tmp_path / "deep.sarif"
    path.write_text(json.dumps(log))
    with pytest.raises(InvalidInput) as caught:
        submit(people.reporter, path)
    pointer = f"/runs/0/results/{len(results) - 1}/level"
    assert caught.value.errors[0].field == pointer
    assert count(session, ReportedFinding) == 0 and count(session, Vulnerability) == 0


def test_a_sarif_log_with_no_results_is_accepted_with_zero_findings(
    people: People, submit: Submit, tmp_path: Path
) -> None:
    path = tmp_path / "empty.sarif"
    path.write_text(json.dumps({"version": "2.1.0", "runs": [
        {"tool": {"driver": {"name": "scanner"}}, "results": []}]}))  # fmt: skip
    out = submit(people.reporter, path)
    assert out.findings == 0 and out.vulnerabilities == []


def test_a_file_over_the_limit_is_refused_before_it_is_read(
    session: Session, people: People, submit: Submit
) -> None:
    small = intake.IntakeLimits(max_bytes=1000, near_threshold=0.8, near_band=0.15)
    with pytest.raises(InvalidInput, match="at most 1000 bytes"):
        submit(people.reporter, need(SARIF / "bash-report.sarif"), limits_override=small)
    assert count(session, ReportedFinding) == 0


def test_vendors_cannot_submit(people: People, submit: Submit) -> None:
    with pytest.raises(Forbidden):
        submit(people.vendor, need(SARIF / "njsscan.sarif"))


def test_the_raw_bytes_are_kept_content_addressed(
    session: Session, people: People, submit: Submit, runtime: object
) -> None:
    import hashlib

    path = need(SARIF / "njsscan.sarif")
    out = submit(people.reporter, path)
    submission = session.get(Submission, out.submission)
    assert submission is not None
    assert submission.blob_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
