"""Testing agreements between a developer and one or more agencies.

The developer proposes (which is its own acceptance); each agency accepts or declines, and
its user and time are recorded. Every agency accepting makes the agreement active; one
declining ends it. Terms never change after proposal: a change is a new version, which
supersedes (terminates) the old one.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from assay.core.audit import record_event
from assay.core.authz import Actor, OrgKind, OwnerColumns, Permission, authorize, visible_filter
from assay.core.clock import Clock
from assay.core.errors import Conflict, InvalidInput, NotFound
from assay.core.pagination import Page, paginate
from assay.frontier import windows
from assay.frontier.determinations import current_covered
from assay.frontier.events import FrontierEvent
from assay.frontier.models import (
    MAX_REVIEW_DAYS,
    Agreement,
    AgreementParty,
    AgreementState,
    Decision,
    FrontierModel,
    PartyRole,
    ReviewWindow,
    WindowState,
)
from assay.frontier.schemas import AgreementCreate
from assay.identity.models import Organization


def _shared_with_agreement(org_id: uuid.UUID) -> Any:
    return exists().where(
        AgreementParty.agreement_id == Agreement.id, AgreementParty.org_id == org_id
    )


AGREEMENT_COLUMNS = OwnerColumns(org=Agreement.org_id, shared_with=_shared_with_agreement)


def check_days(days: int) -> None:
    """The order's limit, checked again here so no door can skip it."""
    if not 1 <= days <= MAX_REVIEW_DAYS:
        raise InvalidInput(
            f"a review lasts 1 to {MAX_REVIEW_DAYS} days (the order's limit); got {days}"
        )


def propose(session: Session, *, actor: Actor, clock: Clock, data: AgreementCreate) -> Agreement:
    model = session.get(FrontierModel, data.model_id)
    if model is None:
        raise NotFound("no such model")
    authorize(actor, Permission.AGREEMENT_PROPOSE, model)
    check_days(data.review_days)
    agencies = _agencies(session, data.agencies)
    version, previous = 1, None
    if data.supersedes is not None:
        previous = _supersedable(
            session, actor=actor, clock=clock, model=model, agreement_id=data.supersedes
        )
        version = previous.version + 1
    now = clock.now()
    covered = current_covered(session, model)
    agreement = Agreement(
        id=uuid.uuid4(),
        model_id=model.id,
        org_id=model.org_id,
        version=version,
        supersedes_id=previous.id if previous else None,
        determination_id=covered.id if covered else None,
        state=AgreementState.PROPOSED,
        domains=sorted({d.value for d in data.domains}),
        review_days=data.review_days,
        data_handling=data.data_handling,
        share_findings_between_agencies=data.share_findings_between_agencies,
        budget_calls=data.budget_calls,
        budget_tokens=data.budget_tokens,
        contact=data.contact,
        proposed_by=actor.user_id,
        created_at=now,
    )
    agreement.parties = [
        AgreementParty(
            id=uuid.uuid4(),
            org_id=model.org_id,
            role=PartyRole.DEVELOPER,
            position=0,
            decision=Decision.ACCEPTED,
            decided_by=actor.user_id,
            decided_at=now,
        ),
        *(
            AgreementParty(
                id=uuid.uuid4(),
                org_id=org.id,
                role=PartyRole.AGENCY,
                position=i,
                decision=Decision.PENDING,
            )
            for i, org in enumerate(agencies, start=1)
        ),
    ]
    agreement.model = model
    session.add(agreement)
    if previous is not None:
        _end(
            session,
            actor=actor,
            clock=clock,
            agreement=previous,
            state=AgreementState.TERMINATED,
            reason=f"superseded by version {version}",
        )
    record_event(
        session,
        clock=clock,
        actor=actor,
        action=FrontierEvent.AGREEMENT_PROPOSED,
        object_type="agreement",
        object_id=agreement.id,
        details={
            "model": str(model.id),
            "version": version,
            "agencies": [str(o.id) for o in agencies],
            "domains": agreement.domains,
            "review_days": agreement.review_days,
        },
    )
    return agreement


def _agencies(session: Session, ids: list[uuid.UUID]) -> list[Organization]:
    found: list[Organization] = []
    for org_id in dict.fromkeys(ids):
        org = session.get(Organization, org_id)
        if org is None:
            raise InvalidInput(f"no organization with id {org_id}")
        if org.kind != OrgKind.AGENCY:
            raise InvalidInput(f"{org.name} is a {org.kind.value}, not an agency")
        found.append(org)
    return found


def _supersedable(
    session: Session,
    *,
    actor: Actor,
    clock: Clock,
    model: FrontierModel,
    agreement_id: uuid.UUID,
) -> Agreement:
    previous = session.get(Agreement, agreement_id)
    if previous is None or previous.model_id != model.id:
        raise InvalidInput("the agreement to supersede must be one about this model")
    authorize(actor, Permission.AGREEMENT_TERMINATE, previous)
    if previous.state not in (AgreementState.PROPOSED, AgreementState.ACTIVE):
        raise Conflict(
            f"version {previous.version} is {previous.state.value}; nothing to supersede"
        )
    window = session.scalar(select(ReviewWindow).where(ReviewWindow.agreement_id == previous.id))
    if window is not None and windows.state_of(window, clock.now()) in (
        WindowState.OPEN,
        WindowState.SCHEDULED,
    ):
        raise Conflict("this version's window is open or scheduled; close it before changing terms")
    return previous


def get_agreement(session: Session, *, actor: Actor, agreement_id: uuid.UUID) -> Agreement:
    agreement = session.get(Agreement, agreement_id)
    if agreement is None:
        raise NotFound("no such agreement")
    authorize(actor, Permission.AGREEMENT_READ, agreement)
    return agreement


def list_agreements(
    session: Session,
    *,
    actor: Actor,
    limit: int,
    offset: int,
    model_id: uuid.UUID | None = None,
) -> Page[Agreement]:
    stmt = select(Agreement).where(
        visible_filter(actor, Permission.AGREEMENT_READ, AGREEMENT_COLUMNS)
    )
    if model_id is not None:
        stmt = stmt.where(Agreement.model_id == model_id)
    stmt = stmt.order_by(Agreement.created_at.desc(), Agreement.id)
    return paginate(session, stmt, limit=limit, offset=offset)


def decide(
    session: Session,
    *,
    actor: Actor,
    clock: Clock,
    agreement_id: uuid.UUID,
    accept: bool,
    reason: str = "",
) -> Agreement:
    """An agency's answer to a proposed agreement, recorded with its user and time."""
    agreement = session.get(Agreement, agreement_id)
    if agreement is None:
        raise NotFound("no such agreement")
    authorize(actor, Permission.AGREEMENT_DECIDE, agreement)
    party = agreement.party(actor.org_id)
    if party is None or party.role != PartyRole.AGENCY:
        raise Conflict("only an agency named in the agreement can accept or decline it")
    if agreement.state != AgreementState.PROPOSED:
        raise Conflict(f"the agreement is {agreement.state.value}; it can no longer be answered")
    if party.decision != Decision.PENDING:
        raise Conflict(f"your agency already {party.decision.value} this agreement")
    now = clock.now()
    party.decision = Decision.ACCEPTED if accept else Decision.DECLINED
    party.decided_by = actor.user_id
    party.decided_at = now
    party.reason = reason
    record_event(
        session,
        clock=clock,
        actor=actor,
        action=FrontierEvent.AGREEMENT_ACCEPTED if accept else FrontierEvent.AGREEMENT_DECLINED,
        object_type="agreement",
        object_id=agreement.id,
        details={"agency": str(actor.org_id), "reason": reason},
    )
    if not accept:
        _end(
            session,
            actor=actor,
            clock=clock,
            agreement=agreement,
            state=AgreementState.DECLINED,
            reason="declined by an agency",
        )
    elif all(p.decision == Decision.ACCEPTED for p in agreement.parties):
        agreement.state = AgreementState.ACTIVE
        agreement.activated_at = now
        record_event(
            session,
            clock=clock,
            actor=actor,
            action=FrontierEvent.AGREEMENT_ACTIVATED,
            object_type="agreement",
            object_id=agreement.id,
            details={"parties": len(agreement.parties)},
        )
    return agreement


def terminate(
    session: Session, *, actor: Actor, clock: Clock, agreement_id: uuid.UUID, reason: str = ""
) -> Agreement:
    """Any party may withdraw; the window, if open, closes with it."""
    agreement = session.get(Agreement, agreement_id)
    if agreement is None:
        raise NotFound("no such agreement")
    authorize(actor, Permission.AGREEMENT_TERMINATE, agreement)
    if agreement.state not in (AgreementState.PROPOSED, AgreementState.ACTIVE):
        raise Conflict(f"the agreement is already {agreement.state.value}")
    _end(
        session,
        actor=actor,
        clock=clock,
        agreement=agreement,
        state=AgreementState.TERMINATED,
        reason=reason or "withdrawn",
    )
    return agreement


def _end(
    session: Session,
    *,
    actor: Actor,
    clock: Clock,
    agreement: Agreement,
    state: AgreementState,
    reason: str,
) -> None:
    windows.end_for_agreement(session, actor=actor, clock=clock, agreement=agreement, reason=reason)
    agreement.state = state
    agreement.ended_at = clock.now()
    agreement.end_reason = reason
    if state == AgreementState.TERMINATED:
        record_event(
            session,
            clock=clock,
            actor=actor,
            action=FrontierEvent.AGREEMENT_TERMINATED,
            object_type="agreement",
            object_id=agreement.id,
            details={"reason": reason},
        )
