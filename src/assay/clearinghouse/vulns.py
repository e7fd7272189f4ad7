"""Canonical vulnerabilities: the triage queue, one vulnerability with its cluster, and an
analyst's merges and splits.

An analyst (a member of the clearinghouse) sees everything. A reporter sees the
vulnerabilities its findings joined, with its own findings only: it is credited and told
which id it duplicates, never shown another reporter's details.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import case, exists, func, select, update
from sqlalchemy.orm import Session

from assay.clearinghouse.clustering import allocate_ids, merge_vulnerabilities
from assay.clearinghouse.events import ClearinghouseEvent
from assay.clearinghouse.models import (
    ClusterChange,
    MergeLevel,
    ReportedFinding,
    Submission,
    Vulnerability,
    VulnStatus,
)
from assay.core.audit import record_event
from assay.core.authz import Actor, OrgKind, OwnerColumns, Permission, authorize, visible_filter
from assay.core.clock import Clock
from assay.core.errors import Conflict, NotFound
from assay.core.pagination import Page, paginate


def _reported_by(org_id: uuid.UUID) -> Any:
    return exists().where(
        ReportedFinding.vulnerability_id == Vulnerability.id, ReportedFinding.org_id == org_id
    )


VULN_COLUMNS = OwnerColumns(org=Vulnerability.id, shared_with=_reported_by)
SUBMISSION_COLUMNS = OwnerColumns(org=Submission.org_id)


def sees_everything(actor: Actor) -> bool:
    return actor.is_instance_admin or actor.org_kind == OrgKind.CLEARINGHOUSE


def list_queue(
    session: Session,
    *,
    actor: Actor,
    limit: int,
    offset: int,
    status: VulnStatus | None = None,
) -> Page[Vulnerability]:
    """The triage queue: by SSVC outcome, then KEV, then EPSS, then CVSS (``priority_rank``).

    Vulnerabilities merged into another are left out unless their status is asked for."""
    stmt = select(Vulnerability).where(visible_filter(actor, Permission.VULN_READ, VULN_COLUMNS))
    if status is not None:
        stmt = stmt.where(Vulnerability.status == status)
    else:
        stmt = stmt.where(Vulnerability.merged_into_id.is_(None))
    stmt = stmt.order_by(
        Vulnerability.priority_rank.desc(), Vulnerability.created_at, Vulnerability.public_id
    )
    return paginate(session, stmt, limit=limit, offset=offset)


def reporters(session: Session, vuln_ids: list[uuid.UUID]) -> dict[uuid.UUID, set[uuid.UUID]]:
    found: dict[uuid.UUID, set[uuid.UUID]] = {v: set() for v in vuln_ids}
    if vuln_ids:
        stmt = (
            select(ReportedFinding.vulnerability_id, ReportedFinding.org_id)
            .where(ReportedFinding.vulnerability_id.in_(vuln_ids))
            .distinct()
        )
        for vuln_id, org_id in session.execute(stmt):
            found[vuln_id].add(org_id)
    return found


def find(session: Session, ref: str) -> Vulnerability | None:
    try:
        return session.get(Vulnerability, uuid.UUID(ref))
    except ValueError:
        return session.scalar(select(Vulnerability).where(Vulnerability.public_id == ref.upper()))


def get_vuln(
    session: Session, *, actor: Actor, ref: str, permission: Permission = Permission.VULN_READ
) -> Vulnerability:
    vuln = find(session, ref.strip())
    if vuln is None:
        raise NotFound(f"no vulnerability {ref!r}")
    vuln.set_reporters(frozenset(reporters(session, [vuln.id])[vuln.id]))
    authorize(actor, permission, vuln)
    return vuln


def cluster(session: Session, *, actor: Actor, vuln: Vulnerability) -> list[ReportedFinding]:
    """The vulnerability's findings that ``actor`` may see, each with its merge reason."""
    stmt = select(ReportedFinding).where(ReportedFinding.vulnerability_id == vuln.id)
    if not sees_everything(actor):
        stmt = stmt.where(ReportedFinding.org_id == actor.org_id)
    return list(session.scalars(stmt.order_by(ReportedFinding.created_at, ReportedFinding.id)))


def merge(
    session: Session, *, actor: Actor, clock: Clock, into: str, other: str, reason: str
) -> Vulnerability:
    keep = get_vuln(session, actor=actor, ref=into, permission=Permission.VULN_MERGE)
    gone = get_vuln(session, actor=actor, ref=other, permission=Permission.VULN_MERGE)
    if keep.id == gone.id:
        raise Conflict("a vulnerability cannot be merged into itself")
    if gone.merged_into_id is not None or keep.merged_into_id is not None:
        raise Conflict("one of them was already merged into another; merge the survivor")
    now = clock.now()
    merge_vulnerabilities(
        session,
        keep=keep.id,
        other=gone.id,
        level=MergeLevel.MANUAL,
        reason=f"merged by an analyst from {gone.public_id}: {reason}",
        now=now,
    )
    session.add(
        ClusterChange(
            id=uuid.uuid4(),
            vulnerability_id=keep.id,
            action="merge",
            other_id=gone.id,
            reason=reason,
            actor_id=actor.user_id,
            created_at=now,
        )
    )
    record_event(
        session,
        clock=clock,
        actor=actor,
        action=ClearinghouseEvent.VULNERABILITIES_MERGED,
        object_type="vulnerability",
        object_id=keep.id,
        details={"kept": keep.public_id, "merged": gone.public_id, "reason": reason},
    )
    session.expire_all()
    return get_vuln(session, actor=actor, ref=str(keep.id))


def split(
    session: Session, *, actor: Actor, clock: Clock, finding_id: uuid.UUID, reason: str
) -> Vulnerability:
    """Move one wrongly merged finding out into a vulnerability of its own. Its old
    vulnerability keeps the fingerprints and aliases, which other findings share."""
    finding = session.get(ReportedFinding, finding_id)
    if finding is None:
        raise NotFound("no such finding")
    old = get_vuln(
        session, actor=actor, ref=str(finding.vulnerability_id), permission=Permission.VULN_MERGE
    )
    remaining = session.scalar(
        select(func.count(ReportedFinding.id)).where(ReportedFinding.vulnerability_id == old.id)
    )
    if (remaining or 0) < 2:
        raise Conflict("the finding is alone in its vulnerability; there is nothing to split")
    now = clock.now()
    [public_id] = allocate_ids(session, now.year, 1)
    new = Vulnerability(
        id=uuid.uuid4(),
        public_id=public_id,
        title=finding.title,
        scope=finding.scope,
        status=VulnStatus.NEW,
        cwe_ids=list(finding.cwe_ids),
        finding_count=1,
        cvss_vector=old.cvss_vector,
        cvss_version=old.cvss_version,
        cvss_score=old.cvss_score,
        priority_rank=old.priority_rank,
        created_at=now,
        updated_at=now,
    )
    session.add(new)
    session.flush()
    finding.vulnerability_id = new.id
    finding.level = MergeLevel.MANUAL
    finding.reason = f"split out of {old.public_id} by an analyst: {reason}"[:500]
    session.execute(
        update(Vulnerability)
        .where(Vulnerability.id == old.id)
        .values(finding_count=Vulnerability.finding_count - 1, updated_at=now)
    )
    session.add(
        ClusterChange(
            id=uuid.uuid4(),
            vulnerability_id=old.id,
            action="split",
            other_id=new.id,
            finding_id=finding.id,
            reason=reason,
            actor_id=actor.user_id,
            created_at=now,
        )
    )
    record_event(
        session,
        clock=clock,
        actor=actor,
        action=ClearinghouseEvent.FINDING_SPLIT,
        object_type="vulnerability",
        object_id=old.id,
        details={
            "from": old.public_id,
            "to": public_id,
            "finding": str(finding.id),
            "reason": reason,
        },
    )
    return get_vuln(session, actor=actor, ref=str(new.id))


def list_submissions(
    session: Session, *, actor: Actor, limit: int, offset: int
) -> Page[Submission]:
    where = visible_filter(actor, Permission.SUBMISSION_READ, SUBMISSION_COLUMNS)
    stmt = select(Submission).where(where).order_by(Submission.created_at.desc(), Submission.id)
    return paginate(session, stmt, limit=limit, offset=offset)


def reporter_history(
    session: Session, org_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, dict[str, float | int]]:
    """Per reporter: findings sent, and the share that were valid (their vulnerability is not
    ``invalid``) and the share that duplicated an earlier report."""
    wanted = sorted(set(org_ids), key=str)
    history: dict[uuid.UUID, dict[str, float | int]] = {}
    if not wanted:
        return history
    stmt = (
        select(
            ReportedFinding.org_id,
            func.count(ReportedFinding.id),
            func.sum(case((Vulnerability.status == VulnStatus.INVALID, 1), else_=0)),
            func.sum(case((ReportedFinding.level != MergeLevel.NEW, 1), else_=0)),
        )
        .join(Vulnerability, Vulnerability.id == ReportedFinding.vulnerability_id)
        .where(ReportedFinding.org_id.in_(wanted))
        .group_by(ReportedFinding.org_id)
    )
    for org_id, total, invalid, duplicates in session.execute(stmt):
        history[org_id] = {
            "findings": total,
            "valid_rate": round(1 - (invalid or 0) / total, 4),
            "duplicate_rate": round((duplicates or 0) / total, 4),
        }
    return history
