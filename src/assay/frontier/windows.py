"""Review windows: when an agency may test a model.

A window ends at the earliest of its open time plus the agreed days, the model's planned
release, and an early close (by the developer, or by every agency together). Its state is
computed from the clock whenever it is read, so access stops on time even if no job runs;
``record_closes`` (a periodic task) only writes the close into the audit log and fixes the
end so that a later change of release date cannot reopen it.

Nothing here waits on, or looks at, a review's outcome: a window's state depends on times
alone, and the developer may release whatever state a window is in.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from assay.core.audit import record_event
from assay.core.authz import Actor, OwnerColumns, Permission, authorize, visible_filter
from assay.core.clock import Clock, ensure_utc
from assay.core.errors import Conflict, InvalidInput, NotFound
from assay.core.pagination import Page, paginate
from assay.frontier.events import FrontierEvent
from assay.frontier.models import (
    Agreement,
    AgreementParty,
    AgreementState,
    FrontierModel,
    ReviewWindow,
    WindowState,
)
from assay.frontier.schemas import WindowPublic

# A window may be scheduled to open a little in the past (a form filled in slowly), not more.
OPEN_GRACE = timedelta(minutes=5)


def closes_at(window: ReviewWindow) -> datetime:
    """When the window ends (or ended), as things stand."""
    if window.final_close_at is not None:
        return window.final_close_at
    ends = [window.agreed_close_at, window.model.planned_release_at]
    if window.closed_early_at is not None:
        ends.append(window.closed_early_at)
    return min(ends)


def state_of(window: ReviewWindow, now: datetime) -> WindowState:
    end = closes_at(window)
    if now >= end:
        early = window.closed_early_at is not None and window.closed_early_at <= end
        return WindowState.CLOSED_EARLY if early else WindowState.EXPIRED
    if now < window.opens_at:
        return WindowState.SCHEDULED
    return WindowState.OPEN


def is_open(window: ReviewWindow, now: datetime) -> bool:
    return state_of(window, now) == WindowState.OPEN


def to_public(window: ReviewWindow, now: datetime) -> WindowPublic:
    end = closes_at(window)
    state = state_of(window, now)
    left = (end - now).total_seconds() if state == WindowState.OPEN else 0
    return WindowPublic(
        id=window.id,
        agreement_id=window.agreement_id,
        model_id=window.model_id,
        model=f"{window.model.name} {window.model.version}",
        state=state,
        opens_at=window.opens_at,
        closes_at=end,
        agreed_close_at=window.agreed_close_at,
        planned_release_at=window.model.planned_release_at,
        closed_early_at=window.closed_early_at,
        closed_early_by=window.closed_early_by,
        seconds_left=max(0, int(left)),
        agencies=sorted(window.agreement.party_org_ids),
    )


def _shared_with_window(org_id: uuid.UUID) -> Any:
    live = (AgreementState.PROPOSED, AgreementState.ACTIVE)
    return exists().where(
        Agreement.id == ReviewWindow.agreement_id,
        Agreement.state.in_(live),
        AgreementParty.agreement_id == Agreement.id,
        AgreementParty.org_id == org_id,
    )


WINDOW_COLUMNS = OwnerColumns(org=ReviewWindow.org_id, shared_with=_shared_with_window)


def get_window(session: Session, *, actor: Actor, window_id: uuid.UUID) -> ReviewWindow:
    window = session.get(ReviewWindow, window_id)
    if window is None:
        raise NotFound("no such window")
    authorize(actor, Permission.WINDOW_READ, window)
    return window


def list_windows(
    session: Session,
    *,
    actor: Actor,
    limit: int,
    offset: int,
    model_id: uuid.UUID | None = None,
) -> Page[ReviewWindow]:
    stmt = select(ReviewWindow).where(visible_filter(actor, Permission.WINDOW_READ, WINDOW_COLUMNS))
    if model_id is not None:
        stmt = stmt.where(ReviewWindow.model_id == model_id)
    stmt = stmt.order_by(ReviewWindow.opens_at.desc(), ReviewWindow.id)
    return paginate(session, stmt, limit=limit, offset=offset)


def open_window(
    session: Session,
    *,
    actor: Actor,
    clock: Clock,
    agreement_id: uuid.UUID,
    opens_at: datetime | None = None,
) -> ReviewWindow:
    agreement = session.get(Agreement, agreement_id)
    if agreement is None:
        raise NotFound("no such agreement")
    authorize(actor, Permission.WINDOW_OPEN, agreement)
    if agreement.state != AgreementState.ACTIVE:
        raise Conflict(
            f"the agreement is {agreement.state.value}; a window opens only when every party "
            "has accepted it"
        )
    if session.scalar(select(ReviewWindow.id).where(ReviewWindow.agreement_id == agreement.id)):
        raise Conflict("this agreement already has its window; propose a new version for another")
    now = clock.now()
    start = ensure_utc(opens_at) if opens_at is not None else now
    if start < now - OPEN_GRACE:
        raise InvalidInput(f"a window cannot open in the past ({start.isoformat()})")
    release = agreement.model.planned_release_at
    if start >= release:
        raise InvalidInput(
            f"a window must open before the planned release ({release.isoformat()}); "
            f"{start.isoformat()} is not before it"
        )
    window = ReviewWindow(
        id=uuid.uuid4(),
        agreement_id=agreement.id,
        model_id=agreement.model_id,
        org_id=agreement.org_id,
        opens_at=start,
        agreed_close_at=start + timedelta(days=agreement.review_days),
        close_votes=[],
        opened_by=actor.user_id,
        created_at=now,
    )
    window.agreement = agreement
    window.model = agreement.model
    session.add(window)
    record_event(
        session,
        clock=clock,
        actor=actor,
        action=FrontierEvent.WINDOW_OPENED,
        object_type="window",
        object_id=window.id,
        details={
            "agreement": str(agreement.id),
            "opens_at": start.isoformat(),
            "closes_at": closes_at(window).isoformat(),
        },
    )
    return window


def close_window(
    session: Session, *, actor: Actor, clock: Clock, window_id: uuid.UUID, reason: str = ""
) -> ReviewWindow:
    """Close early. The developer closes at once; an agency's request counts as one vote,
    and the window closes when every agency party has asked."""
    window = session.get(ReviewWindow, window_id)
    if window is None:
        raise NotFound("no such window")
    authorize(actor, Permission.WINDOW_CLOSE, window)
    now = clock.now()
    state = state_of(window, now)
    if state in (WindowState.CLOSED_EARLY, WindowState.EXPIRED):
        raise Conflict(f"the window is already {state.value}")
    if actor.org_id == window.org_id or actor.is_instance_admin:
        by = "developer" if actor.org_id == window.org_id else "instance admin"
        _close_early(session, clock=clock, actor=actor, window=window, by=by, reason=reason)
        return window
    votes = set(window.close_votes) | {str(actor.org_id)}
    window.close_votes = sorted(votes)
    record_event(
        session,
        clock=clock,
        actor=actor,
        action=FrontierEvent.WINDOW_CLOSE_REQUESTED,
        object_type="window",
        object_id=window.id,
        details={"votes": len(votes), "agencies": len(window.party_org_ids), "reason": reason},
    )
    if {str(o) for o in window.agreement.party_org_ids} <= votes:
        _close_early(session, clock=clock, actor=actor, window=window, by="agencies", reason=reason)
    return window


def _close_early(
    session: Session,
    *,
    clock: Clock,
    actor: Actor | None,
    window: ReviewWindow,
    by: str,
    reason: str,
) -> None:
    now = clock.now()
    window.closed_early_at = now
    window.closed_early_by = by
    record_close(session, clock=clock, window=window, actor=actor, reason=reason)


def end_for_agreement(
    session: Session, *, actor: Actor, clock: Clock, agreement: Agreement, reason: str
) -> None:
    """An agreement that ends takes its window's access with it."""
    window = session.scalar(select(ReviewWindow).where(ReviewWindow.agreement_id == agreement.id))
    if window is None or state_of(window, clock.now()) not in (
        WindowState.OPEN,
        WindowState.SCHEDULED,
    ):
        return
    _close_early(
        session, clock=clock, actor=actor, window=window, by="agreement ended", reason=reason
    )


def record_close(
    session: Session,
    *,
    clock: Clock,
    window: ReviewWindow,
    actor: Actor | None = None,
    reason: str = "",
) -> bool:
    """Fix the end of a window that has closed and log it once. Returns whether it wrote."""
    now = clock.now()
    if window.close_recorded_at is not None or now < closes_at(window):
        return False
    window.final_close_at = closes_at(window)
    window.close_recorded_at = now
    record_event(
        session,
        clock=clock,
        actor=actor,
        action=FrontierEvent.WINDOW_CLOSED,
        object_type="window",
        object_id=window.id,
        details={
            "state": state_of(window, now).value,
            "closed_at": window.final_close_at.isoformat(),
            "by": window.closed_early_by or _natural_end(window),
            "reason": reason,
        },
    )
    return True


def _natural_end(window: ReviewWindow) -> str:
    if window.model.planned_release_at <= window.agreed_close_at:
        return "planned release"
    return "agreed days elapsed"


def record_closes(session: Session, *, clock: Clock) -> int:
    """Record every window that has closed since the last pass (the periodic task)."""
    now = clock.now()
    pending = session.scalars(
        select(ReviewWindow).where(ReviewWindow.close_recorded_at.is_(None))
    ).all()
    return sum(record_close(session, clock=clock, window=w) for w in pending if closes_at(w) <= now)


def move_release(
    session: Session, *, actor: Actor, clock: Clock, model: FrontierModel, release: datetime
) -> None:
    """Set a new planned release. Windows that already closed keep their end; open ones end
    at the new date if it comes first. No one's approval is asked."""
    pending = session.scalars(
        select(ReviewWindow).where(
            ReviewWindow.model_id == model.id, ReviewWindow.close_recorded_at.is_(None)
        )
    ).all()
    for window in pending:
        record_close(session, clock=clock, window=window)
    before = {w.id: closes_at(w) for w in pending if w.close_recorded_at is None}
    model.planned_release_at = ensure_utc(release)
    for window in pending:
        if window.id in before and closes_at(window) < before[window.id]:
            record_event(
                session,
                clock=clock,
                actor=actor,
                action=FrontierEvent.WINDOW_SHORTENED,
                object_type="window",
                object_id=window.id,
                details={
                    "was": before[window.id].isoformat(),
                    "now": closes_at(window).isoformat(),
                    "because": "planned release moved earlier",
                },
            )
            record_close(session, clock=clock, window=window, actor=actor)
