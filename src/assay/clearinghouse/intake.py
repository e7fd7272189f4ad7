"""Intake: a file in, findings placed into canonical vulnerabilities, one transaction.

The file is parsed as a stream (SARIF) or whole (OSV, CSAF, CVE 5), validated against its
official schema, and every finding is placed as it arrives (``clustering``). A file that is
wrong anywhere is rejected whole: the transaction rolls back, and only a rejection record,
naming the file, the JSON pointer and what was expected, is written in a second one. The
raw bytes go to the content-addressed blob store once the parse has succeeded.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from assay.clearinghouse import prepare
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

DETECT_BYTES = 64 * 1024
SQLITE_CACHE_KIB = 32 * 1024


@dataclass(frozen=True)
class IntakeLimits:
    max_bytes: int
    near_threshold: float
    near_band: float
    # Parse large SARIF logs in a second process while this one stores (`prepare`).
    parallel: bool = True


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
        with db.transaction(write=True) as session, _sqlite_cache(session):
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
            if limits.parallel and prepare.use_parallel(path, fmt):
                for prepared in prepare.prepared_batches(path, source_name, limits.max_bytes):
                    clusterer.add(prepared)
            else:
                for batch in prepare.batches(_findings(path, source_name, fmt, limits.max_bytes)):
                    clusterer.add(batch)
            clusterer.finish()
            with path.open("rb") as raw:
                submission.blob_sha256 = blobs.put_stream(raw)
            submission.findings = clusterer.findings
            submission.new = clusterer.new
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


@contextmanager
def _sqlite_cache(session: Session) -> Iterator[None]:
    """A larger SQLite page cache for the intake's connection while it lasts.

    An intake inserts into five indexes keyed by random UUIDs and digests; with SQLite's
    default 2 MiB cache most inserts miss it once the tables pass a few hundred MB. The
    size is put back afterwards (shrinking frees the pages), because pooled connections
    serve every other request too.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    previous = int(connection.exec_driver_sql("PRAGMA cache_size").scalar() or 0)
    connection.exec_driver_sql(f"PRAGMA cache_size = {-SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {previous}")


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


def _report(submission: Submission, clusterer: Clusterer) -> IntakeOut:
    duplicates: list[DuplicateOut] = []
    possible: list[DuplicateOut] = []
    joined = {clusterer.public_id(vuln): None for vuln in clusterer.vulnerabilities}
    for p in clusterer.placed:
        public_id = clusterer.public_id(p.vulnerability_id)
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
