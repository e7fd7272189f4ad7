"""The audit hash chain: appends link up, and an edited, removed or reordered event is named."""

from __future__ import annotations

import itertools
from enum import StrEnum

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from assay.core.audit import AuditEvent, record_event, verify_chain
from assay.core.authz import OrgKind, Role
from assay.core.clock import FrozenClock
from assay.core.errors import Forbidden
from tests.factories import actor, make_org, make_user


class Tag(StrEnum):
    THING = "test:thing:changed"


def _append(session: Session, clock: FrozenClock, n: int) -> list[AuditEvent]:
    events = [
        record_event(
            session,
            clock=clock,
            actor=None,
            action=Tag.THING,
            object_type="thing",
            object_id=f"t{i}",
            details={"i": i, "note": "ünïcode"},
        )
        for i in range(n)
    ]
    session.flush()
    return events


def _chain(session: Session) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def test_events_link_to_the_one_before(session: Session, clock: FrozenClock) -> None:
    _append(session, clock, 4)
    chain = _chain(session)
    assert [e.seq for e in chain] == list(range(1, len(chain) + 1))
    for before, after in itertools.pairwise(chain):
        assert after.prev_hash == before.hash
    result = verify_chain(session, actor=None)
    assert result.ok and result.checked == len(chain)


def test_an_edited_event_is_named(session: Session, clock: FrozenClock) -> None:
    events = _append(session, clock, 4)
    target = events[1].seq
    session.execute(update(AuditEvent).where(AuditEvent.seq == target).values(details={"i": 99}))
    session.expire_all()
    result = verify_chain(session, actor=None)
    assert not result.ok
    assert result.first_bad_seq == target
    assert "edited" in (result.reason or "")


def test_a_removed_event_is_named(session: Session, clock: FrozenClock) -> None:
    events = _append(session, clock, 4)
    gone = events[1].seq
    session.execute(delete(AuditEvent).where(AuditEvent.seq == gone))
    session.expire_all()
    result = verify_chain(session, actor=None)
    assert not result.ok
    assert result.first_bad_seq == gone + 1
    assert "removed" in (result.reason or "")


def test_a_removed_last_event_is_caught_by_the_head(session: Session, clock: FrozenClock) -> None:
    events = _append(session, clock, 3)
    session.execute(delete(AuditEvent).where(AuditEvent.seq == events[-1].seq))
    session.expire_all()
    result = verify_chain(session, actor=None)
    assert not result.ok
    assert result.first_bad_seq == events[-1].seq


def test_reordered_events_are_named(session: Session, clock: FrozenClock) -> None:
    events = _append(session, clock, 4)
    a, b = events[1].seq, events[2].seq
    session.execute(update(AuditEvent).where(AuditEvent.seq == a).values(seq=-1))
    session.execute(update(AuditEvent).where(AuditEvent.seq == b).values(seq=a))
    session.execute(update(AuditEvent).where(AuditEvent.seq == -1).values(seq=b))
    session.expire_all()
    result = verify_chain(session, actor=None)
    assert not result.ok
    assert result.first_bad_seq == a


def test_only_an_instance_admin_may_read_the_log(session: Session, clock: FrozenClock) -> None:
    org = make_org(session, clock, OrgKind.AGENCY)
    org_admin = make_user(session, clock, org, Role.ADMIN)
    with pytest.raises(Forbidden):
        verify_chain(session, actor=actor(org_admin))
    root = make_user(session, clock, org, Role.ADMIN, instance_admin=True)
    assert verify_chain(session, actor=actor(root)).ok


def test_a_deleted_head_is_caught(session: Session, clock: FrozenClock) -> None:
    from assay.core.audit import AuditHead

    _append(session, clock, 2)
    session.execute(delete(AuditHead))
    session.expire_all()
    result = verify_chain(session, actor=None)
    assert not result.ok and "head" in (result.reason or "")


def test_events_appended_after_the_head_was_read_are_not_a_broken_tail(
    session: Session, clock: FrozenClock
) -> None:
    from assay.core.audit import iter_events, read_head, verify_events

    _append(session, clock, 3)
    head = read_head(session)
    assert head is not None
    _append(session, clock, 2)  # a concurrent writer, after the verifier read the head
    result = verify_events(iter_events(session, upto=head.seq), head)
    assert result.ok and result.checked == head.seq
