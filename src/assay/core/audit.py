"""The append-only, hash-chained audit log.

Each event holds the sha256 of the event before it, and its own hash covers its content
and that link, so an edited, removed or reordered event breaks the chain at a place that
``verify_chain`` names. A one-row head table holds the newest sequence number and hash;
writers update it first, which serialises them on both SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Integer, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from assay.core.authz import Actor, Permission, authorize
from assay.core.clock import Clock
from assay.core.db import Base

GENESIS_HASH = "0" * 64
_HEAD_ID = 1


class AuditHead(Base):
    """The newest event's sequence number and hash: the chain's tail, and its write lock."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class AuditEvent(Base):
    """One state change: who did what to which object, when, and the link to the event before."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    id: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid.uuid4)
    occurred_at: Mapped[datetime]
    # Plain ids, not foreign keys: the log outlives what it names and never blocks a delete.
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    actor_org_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    action: Mapped[str] = mapped_column(String(80), index=True)
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(80), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


def event_hash(
    *,
    seq: int,
    event_id: uuid.UUID,
    occurred_at: datetime,
    actor_user_id: uuid.UUID | None,
    action: str,
    object_type: str,
    object_id: str,
    details: dict[str, Any],
    prev_hash: str,
) -> str:
    """The sha256 of an event's canonical JSON, which includes the previous event's hash."""
    canonical = json.dumps(
        {
            "seq": seq,
            "id": str(event_id),
            "occurred_at": occurred_at.isoformat(),
            "actor_user_id": str(actor_user_id) if actor_user_id else None,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "details": details,
            "prev_hash": prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _hash_of(event: AuditEvent) -> str:
    return event_hash(
        seq=event.seq,
        event_id=event.id,
        occurred_at=event.occurred_at,
        actor_user_id=event.actor_user_id,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        details=event.details,
        prev_hash=event.prev_hash,
    )


def record_event(
    session: Session,
    *,
    clock: Clock,
    actor: Actor | None,
    action: StrEnum,
    object_type: str,
    object_id: uuid.UUID | str,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an event in the caller's transaction. ``actor`` is None for the system itself."""
    session.flush()  # the objects named must exist before the event that names them
    head = _advance_head(session)
    occurred_at = clock.now()
    event = AuditEvent(
        seq=head.seq,
        id=uuid.uuid4(),
        occurred_at=occurred_at,
        actor_user_id=actor.user_id if actor else None,
        actor_org_id=actor.org_id if actor else None,
        action=action.value,
        object_type=object_type,
        object_id=str(object_id),
        details=_jsonable(details or {}),
        prev_hash=head.hash,
    )
    event.hash = _hash_of(event)
    session.add(event)
    session.execute(update(AuditHead).where(AuditHead.id == _HEAD_ID).values(hash=event.hash))
    session.flush()
    return event


@dataclass(frozen=True)
class HeadState:
    seq: int
    hash: str


def _advance_head(session: Session) -> HeadState:
    """Take the next sequence number. The UPDATE takes the write lock before the read."""
    result = session.execute(
        update(AuditHead)
        .where(AuditHead.id == _HEAD_ID)
        .values(seq=AuditHead.seq + 1)
        .returning(AuditHead.seq, AuditHead.hash)
    ).one_or_none()
    if result is None:
        session.add(AuditHead(id=_HEAD_ID, seq=1, hash=GENESIS_HASH))
        session.flush()
        return HeadState(seq=1, hash=GENESIS_HASH)
    return HeadState(seq=result.seq, hash=result.hash)


def _jsonable(value: dict[str, Any]) -> dict[str, Any]:
    # Round-trip so that what is hashed is exactly what the JSON column gives back.
    loaded: dict[str, Any] = json.loads(json.dumps(value, default=str, sort_keys=True))
    return loaded


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of checking the chain."""

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    first_bad_id: str | None = None
    reason: str | None = None


def iter_events(
    session: Session, *, upto: int | None = None, batch: int = 1000
) -> Iterator[AuditEvent]:
    """Events in order, in batches; ``upto`` stops at a sequence number (the head once read),
    so that events appended while a verification runs are not mistaken for a broken tail."""
    last = 0
    while True:
        stmt = select(AuditEvent).where(AuditEvent.seq > last)
        if upto is not None:
            stmt = stmt.where(AuditEvent.seq <= upto)
        rows = session.scalars(stmt.order_by(AuditEvent.seq).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        session.expunge_all()


def verify_events(events: Iterable[AuditEvent], head: HeadState | None) -> VerifyResult:
    """Check each event's own hash, its link to the one before, and the head against the tail."""
    prev_hash, expected_seq, checked = GENESIS_HASH, 1, 0
    for event in events:
        bad = _first_fault(event, expected_seq, prev_hash)
        if bad:
            return VerifyResult(False, checked, event.seq, str(event.id), bad)
        prev_hash, expected_seq, checked = event.hash, event.seq + 1, checked + 1
    if head is None and checked:
        return VerifyResult(False, checked, 1, None, "the chain's head record is missing")
    if head is not None and (head.seq != expected_seq - 1 or head.hash != prev_hash):
        return VerifyResult(
            False,
            checked,
            expected_seq,
            None,
            f"the log ends at event {expected_seq - 1} but the head records event {head.seq}: "
            "events were removed from the end",
        )
    return VerifyResult(True, checked)


def _first_fault(event: AuditEvent, expected_seq: int, prev_hash: str) -> str | None:
    if event.seq != expected_seq:
        return f"expected event {expected_seq} next, found {event.seq}: an event was removed"
    if event.prev_hash != prev_hash:
        return "its link does not match the event before it: events were removed or reordered"
    if event.hash != _hash_of(event):
        return "its content does not match its hash: the event was edited"
    return None


def verify_chain(session: Session, *, actor: Actor | None) -> VerifyResult:
    """Verify the whole log. ``actor`` None means the operator at the console (``assay audit``)."""
    if actor is not None:
        authorize(actor, Permission.AUDIT_READ)
    head = read_head(session)
    return verify_events(iter_events(session, upto=head.seq if head else None), head)


def read_head(session: Session) -> HeadState | None:
    """The newest event's sequence number and hash, or None before the first event."""
    row = session.get(AuditHead, _HEAD_ID)
    return HeadState(row.seq, row.hash) if row else None
