"""Findings that agencies record on a window, and the developer's responses."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from assay.core.audit import record_event
from assay.core.authz import Actor, OwnerColumns, Permission, authorize, visible_filter
from assay.core.clock import Clock
from assay.core.errors import Conflict, InvalidInput, NotFound
from assay.core.pagination import Page, paginate
from assay.frontier import windows
from assay.frontier.events import FrontierEvent
from assay.frontier.models import (
    Agreement,
    AgreementParty,
    AgreementState,
    Finding,
    FindingResponse,
    ReviewWindow,
    WindowState,
)
from assay.frontier.schemas import FindingCreate


def _shared_with_finding(org_id: uuid.UUID) -> Any:
    window_of_developer = exists().where(
        ReviewWindow.id == Finding.window_id, ReviewWindow.org_id == org_id
    )
    fellow_agency = exists().where(
        ReviewWindow.id == Finding.window_id,
        Agreement.id == ReviewWindow.agreement_id,
        Agreement.share_findings_between_agencies.is_(True),
        Agreement.state.in_((AgreementState.PROPOSED, AgreementState.ACTIVE)),
        AgreementParty.agreement_id == Agreement.id,
        AgreementParty.org_id == org_id,
    )
    return or_(and_(Finding.shared_with_developer.is_(True), window_of_developer), fellow_agency)


FINDING_COLUMNS = OwnerColumns(org=Finding.org_id, shared_with=_shared_with_finding)


def record_finding(session: Session, *, actor: Actor, clock: Clock, data: FindingCreate) -> Finding:
    window = session.get(ReviewWindow, data.window_id)
    if window is None:
        raise NotFound("no such window")
    authorize(actor, Permission.FINDING_CREATE, window)
    if windows.state_of(window, clock.now()) == WindowState.SCHEDULED:
        raise Conflict("the window has not opened yet; there is nothing to report on")
    if data.domain.value not in window.agreement.domains:
        scope = ", ".join(window.agreement.domains)
        raise InvalidInput(f"{data.domain.value} is not in the agreement's scope ({scope})")
    finding = Finding(
        id=uuid.uuid4(),
        window_id=window.id,
        org_id=actor.org_id,
        author_id=actor.user_id,
        domain=data.domain,
        severity=data.severity,
        title=data.title.strip(),
        description=data.description,
        evidence=list(data.evidence),
        shared_with_developer=data.shared_with_developer,
        created_at=clock.now(),
    )
    finding.window = window
    finding.responses = []
    session.add(finding)
    record_event(
        session,
        clock=clock,
        actor=actor,
        action=FrontierEvent.FINDING_RECORDED,
        object_type="finding",
        object_id=finding.id,
        details={
            "window": str(window.id),
            "domain": finding.domain.value,
            "severity": finding.severity.value,
            "shared_with_developer": finding.shared_with_developer,
        },
    )
    return finding


def get_finding(session: Session, *, actor: Actor, finding_id: uuid.UUID) -> Finding:
    finding = session.get(Finding, finding_id)
    if finding is None:
        raise NotFound("no such finding")
    authorize(actor, Permission.FINDING_READ, finding)
    return finding


def list_findings(
    session: Session,
    *,
    actor: Actor,
    limit: int,
    offset: int,
    window_id: uuid.UUID | None = None,
) -> Page[Finding]:
    stmt = select(Finding).where(visible_filter(actor, Permission.FINDING_READ, FINDING_COLUMNS))
    if window_id is not None:
        stmt = stmt.where(Finding.window_id == window_id)
    stmt = stmt.order_by(Finding.created_at, Finding.id)
    return paginate(session, stmt, limit=limit, offset=offset)


def respond(
    session: Session, *, actor: Actor, clock: Clock, finding_id: uuid.UUID, body: str
) -> FindingResponse:
    finding = session.get(Finding, finding_id)
    if finding is None:
        raise NotFound("no such finding")
    authorize(actor, Permission.FINDING_RESPOND, finding)
    response = FindingResponse(
        id=uuid.uuid4(),
        finding_id=finding.id,
        org_id=actor.org_id,
        author_id=actor.user_id,
        body=body.strip(),
        created_at=clock.now(),
    )
    # Appending (not session.add) loads the list first, so the response is not counted twice.
    finding.responses.append(response)
    record_event(
        session,
        clock=clock,
        actor=actor,
        action=FrontierEvent.FINDING_RESPONDED,
        object_type="finding",
        object_id=finding.id,
        details={"response": str(response.id)},
    )
    return response
