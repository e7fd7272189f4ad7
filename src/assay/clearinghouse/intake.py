"""Intake: a file in, findings placed into canonical vulnerabilities, one transaction.

The file is parsed as a stream (SARIF) or whole (OSV, CSAF, CVE 5), validated against its
official schema, and every finding is placed as it arrives (``clustering``). A file that is
wrong anywhere is rejected whole: the transaction rolls back, and only a rejection record,
naming the file, the JSON pointer and what was expected, is written in a second one. The
raw bytes go to the content-addressed blob store once the parse has succeeded.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from assay.clearinghouse.clustering import Clusterer
from assay.clearinghouse.events import ClearinghouseEvent
from assay.clearinghouse.models import MergeLevel, Submission, SubmissionStatus
from assay.clearinghouse.schemas import DuplicateOut, IntakeOut, SubmissionMeta
from assay.core.audit import record_event
from assay.core.authz import Actor, Permission, authorize
from assay.core.blobs import BlobStore
from assay.core.clock import Clock
from assay.core.db import Database
from assay.core.errors import FieldError, InvalidInput
from assay.formats import Finding, FormatError, detect_format, iter_sarif, parse

BATCH = 2_000
DETECT_BYTES = 64 * 1024


@dataclass(frozen=True)
class IntakeLimits:
    max_bytes: int
    near_threshold: float
    near_band: float


def submit_file(
    db: Database,
    *,
    actor: Actor,
    clock: Clock,
    blobs: BlobStore,
    path: Path,
    source_name: str,
    meta: SubmissionMeta,
    limits: IntakeLimits,
) -> IntakeOut:
    """Take in one file. Raises InvalidInput (after recording the rejection) if it is bad."""
    authorize(actor, Permission.SUBMISSION_CREATE)
    size = path.stat().st_size
    try:
        if size > limits.max_bytes:
            raise FormatError(
                source_name, "", f"a file of at most {limits.max_bytes} bytes", found=f"{size}"
            )
        with db.transaction(write=True) as session:
            fmt = _format(path, source_name, meta.format)
            submission = Submission(
                id=uuid.uuid4(),
                org_id=actor.org_id,
                submitted_by=actor.user_id,
                status=SubmissionStatus.ACCEPTED,
                format=fmt,
                source_name=source_name[:500],
                size=size,
                tlp=meta.tlp,
                discovery_method=meta.discovery_method,
                discovery_tool=meta.discovery_tool,
                created_at=clock.now(),
            )
            session.add(submission)
            session.flush()
            clusterer = Clusterer(
                session,
                now=clock.now(),
                org_id=actor.org_id,
                submission_id=submission.id,
                tlp=meta.tlp,
                near_threshold=limits.near_threshold,
                near_band=limits.near_band,
            )
            for batch in _batches(_findings(path, source_name, fmt, limits.max_bytes)):
                clusterer.add(batch)
            clusterer.finish()
            with path.open("rb") as raw:
                submission.blob_sha256 = blobs.put_stream(raw)
            placed = clusterer.placed
            submission.findings = len(placed)
            submission.new = sum(p.level == MergeLevel.NEW for p in placed)
            submission.duplicates = submission.findings - submission.new
            record_event(
                session,
                clock=clock,
                actor=actor,
                action=ClearinghouseEvent.SUBMISSION_ACCEPTED,
                object_type="submission",
                object_id=submission.id,
                details={
                    "format": fmt,
                    "findings": submission.findings,
                    "new": submission.new,
                    "duplicates": submission.duplicates,
                    "tlp": meta.tlp.value,
                    "sha256": submission.blob_sha256,
                },
            )
            return _report(submission, clusterer)
    except FormatError as exc:
        _reject(
            db, actor=actor, clock=clock, source_name=source_name, size=size, meta=meta, error=exc
        )
        raise InvalidInput(
            str(exc), errors=[FieldError(exc.pointer or "/", f"expected {exc.expected}")]
        ) from None


def _format(path: Path, source_name: str, declared: str) -> str:
    if declared != "auto":
        return declared
    with path.open("rb") as file:
        return detect_format(file.read(DETECT_BYTES), source_name)


def _findings(path: Path, source_name: str, fmt: str, max_bytes: int) -> Iterator[Finding]:
    if fmt == "sarif":
        with iter_sarif(path, source_name, max_bytes=max_bytes) as stream:
            yield from stream
        return
    yield from parse(path, fmt, source_name=source_name, max_bytes=max_bytes).findings


def _batches(findings: Iterator[Finding]) -> Iterator[list[Finding]]:
    while batch := list(itertools.islice(findings, BATCH)):
        yield batch


def _report(submission: Submission, clusterer: Clusterer) -> IntakeOut:
    duplicates: list[DuplicateOut] = []
    possible: list[DuplicateOut] = []
    joined: dict[str, None] = {}
    for p in clusterer.placed:
        public_id = clusterer.public_id(p.vulnerability_id)
        joined[public_id] = None
        if p.level != MergeLevel.NEW:
            duplicates.append(
                DuplicateOut(
                    finding=p.finding_id,
                    source_ref=p.source_ref,
                    vulnerability=public_id,
                    level=p.level,
                    reason=p.reason,
                )
            )
        elif p.possible_duplicate_of is not None:
            possible.append(
                DuplicateOut(
                    finding=p.finding_id,
                    source_ref=p.source_ref,
                    vulnerability=clusterer.public_id(p.possible_duplicate_of),
                    level=MergeLevel.NEAR,
                    reason="possible duplicate, for an analyst to decide",
                )
            )
    return IntakeOut(
        submission=submission.id,
        format=submission.format or "",
        findings=submission.findings,
        new=submission.new,
        duplicates=submission.duplicates,
        vulnerabilities=list(joined),
        duplicate_details=duplicates,
        possible_duplicates=possible,
    )


def _reject(
    db: Database,
    *,
    actor: Actor,
    clock: Clock,
    source_name: str,
    size: int,
    meta: SubmissionMeta,
    error: FormatError,
) -> None:
    with db.transaction(write=True) as session:
        submission = Submission(
            id=uuid.uuid4(),
            org_id=actor.org_id,
            submitted_by=actor.user_id,
            status=SubmissionStatus.REJECTED,
            format=None if meta.format == "auto" else meta.format,
            source_name=source_name[:500],
            size=size,
            tlp=meta.tlp,
            discovery_method=meta.discovery_method,
            discovery_tool=meta.discovery_tool,
            error={
                "file": error.file,
                "pointer": error.pointer,
                "expected": error.expected,
                "found": error.found,
                "line": error.line,
            },
            created_at=clock.now(),
        )
        session.add(submission)
        record_event(
            session,
            clock=clock,
            actor=actor,
            action=ClearinghouseEvent.SUBMISSION_REJECTED,
            object_type="submission",
            object_id=submission.id,
            details={"file": error.file, "pointer": error.pointer, "expected": error.expected},
        )
