"""Preparing findings in a second process: the same batches as in this one, the same
rejections, and intake through it still one transaction."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.clearinghouse import prepare
from assay.clearinghouse.models import ReportedFinding, Submission, SubmissionStatus
from assay.core.errors import InvalidInput
from assay.formats import FormatError, iter_sarif
from tests.unit.clearinghouse.conftest import SARIF, People, Submit, need

MAX_BYTES = 50 * 1024 * 1024


def in_process(path: Path) -> list[prepare.Prepared]:
    seen = prepare.Seen()
    with iter_sarif(path, path.name) as stream:
        return [prepare.prepare(batch, seen) for batch in prepare.batches(stream, 500)]


def flatten(batches: list[prepare.Prepared]) -> list[tuple[object, ...]]:
    return [
        item
        for batch in batches
        for item in zip(
            batch.findings,
            batch.keys,
            batch.aliases,
            batch.scopes,
            batch.signatures or [],
            strict=True,
        )
    ]


@pytest.mark.parametrize(
    ("name", "count", "signed"),
    [("semgrepowasp-benchmark-sample.sarif", 1768, 0), ("bash-report.sarif", 27, 12)],
)
def test_the_second_process_prepares_what_this_one_would(
    name: str, count: int, signed: int
) -> None:
    # Semgrep's log spans batches; the bash report has a repository, so scopes and
    # signatures (one per distinct finding: the others share an earlier one's key).
    path = need(SARIF / name)
    there = flatten(list(prepare.prepared_batches(path, path.name, MAX_BYTES)))
    here = flatten(in_process(path))
    assert len(there) == len(here) == count
    assert there == here
    assert sum(item[-1] is not None for item in there) == signed


def test_a_finding_placed_by_an_earlier_key_gets_no_signature() -> None:
    path = need(SARIF / "bash-report.sarif")
    [batch] = in_process(path)
    assert batch.signatures is not None
    seen: set[str] = set()
    for keys, sig in zip(batch.keys, batch.signatures, strict=True):
        values = {key.value for key in keys}
        if values & seen:
            assert sig is None
        seen |= values


def _deep_violation(tmp_path: Path) -> Path:
    log = json.loads(need(SARIF / "bash-report.sarif").read_text())
    log["runs"][0]["results"][-1]["level"] = "catastrophic"
    path = tmp_path / "deep.sarif"
    path.write_text(json.dumps(log))
    return path


def test_a_bad_log_fails_the_same_way_in_the_second_process(tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.sarif"
    truncated.write_bytes(need(SARIF / "bash-report.sarif").read_bytes()[:20_000])
    duplicated = tmp_path / "dup.sarif"
    duplicated.write_bytes(
        b'{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "a"}}, "results": '
        b'[{"message": {"text": "x"}}, {"message": {"text": "x", "text": "y"}}]}]}'
    )
    for path in (_deep_violation(tmp_path), truncated, duplicated, tmp_path / "missing.sarif"):
        with pytest.raises(FormatError) as here:
            in_process(path)
        with pytest.raises(FormatError) as there:
            list(prepare.prepared_batches(path, path.name, MAX_BYTES))
        assert (there.value.file, there.value.pointer, there.value.expected) == (
            here.value.file,
            here.value.pointer,
            here.value.expected,
        )


def test_any_file_name_reaches_the_second_process_and_its_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.sarif"
    path.write_bytes(b'{"version": "2.1.0", "runs": [{"tool": {}}]}')
    name = "r\u00e9sum\u00e9 \x00 \ud800 -x.sarif"  # accents, a NUL, a lone surrogate, a dash
    with pytest.raises(FormatError) as caught:
        list(prepare.prepared_batches(path, name, MAX_BYTES))
    assert caught.value.file == name


def test_stopping_early_ends_the_second_process() -> None:
    path = need(SARIF / "semgrepowasp-benchmark-sample.sarif")
    batches = prepare.prepared_batches(path, path.name, MAX_BYTES)
    assert next(batches).findings
    batches.close()  # the generator's cleanup kills and reaps the child


def test_only_large_sarif_logs_go_to_a_second_process(tmp_path: Path) -> None:
    path = tmp_path / "small.sarif"
    path.write_bytes(b"{}")
    assert not prepare.use_parallel(path, "sarif")
    with path.open("r+b") as file:
        file.truncate(prepare.PARALLEL_MIN_BYTES)
    assert prepare.use_parallel(path, "sarif") or len(__import__("os").sched_getaffinity(0)) < 2
    assert not prepare.use_parallel(path, "osv")


# --- intake through the second process -----------------------------------------------------


def count(session: Session, model: type) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_intake_through_the_second_process_places_findings_as_in_one(
    session: Session,
    people: People,
    submit: Submit,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = need(SARIF / "bash-report.sarif")
    monkeypatch.setattr(prepare, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(prepare, "use_parallel", lambda path, fmt: fmt == "sarif")
    first = submit(people.reporter, path)
    again = submit(people.other_reporter, path)
    monkeypatch.undo()
    serial = submit(people.reporter, path)
    assert (first.findings, first.new, first.duplicates) == (27, 12, 15)
    assert again.new == 0 and again.duplicates == 27
    assert serial.new == 0 and serial.duplicates == 27
    assert set(again.vulnerabilities) == set(first.vulnerabilities) == set(serial.vulnerabilities)


def test_a_bad_file_through_the_second_process_is_rejected_whole(
    session: Session,
    people: People,
    submit: Submit,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(prepare, "use_parallel", lambda path, fmt: fmt == "sarif")
    path = _deep_violation(tmp_path)
    with pytest.raises(InvalidInput) as caught:
        submit(people.reporter, path)
    pointer = f"/runs/0/results/{27 - 1}/level"
    assert caught.value.errors[0].field == pointer
    assert count(session, ReportedFinding) == 0
    [rejected] = session.scalars(select(Submission)).all()
    assert rejected.status == SubmissionStatus.REJECTED
