"""Determinations: a coverage policy applied to a model's facts, with a full trace.

A determination is a record, not a decision with consequences: nothing reads its outcome
to allow or refuse anything. An agreement notes the covered determination it rests on, if
there is one, for the record. Agencies party to the model may concur or dispute.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from assay.core.audit import record_event
from assay.core.authz import Actor, OwnerColumns, Permission, authorize, visible_filter
from assay.core.clock import Clock
from assay.core.errors import NotFound
from assay.core.pagination import Page, paginate
from assay.frontier.catalog import facts_of
from assay.frontier.events import FrontierEvent
from assay.frontier.models import (
    Agreement,
    AgreementParty,
    AgreementState,
    Determination,
    DeterminationReview,
    FrontierModel,
    Stance,
)
from assay.frontier.policies import get_policy
from assay.frontier.policy import Outcome, evaluate


def _shared_with_determination(org_id: uuid.UUID) -> Any:
    live = (AgreementState.PROPOSED, AgreementState.ACTIVE)
    return exists().where(
        Agreement.model_id == Determination.model_id,
        Agreement.state.in_(live),
        AgreementParty.agreement_id == Agreement.id,
        AgreementParty.org_id == org_id,
    )


def _owner_of_determination() -> Any:
    return (
        select(FrontierModel.org_id)
        .where(FrontierModel.id == Determination.model_id)
        .scalar_subquery()
    )


DETERMINATION_COLUMNS = OwnerColumns(
    org=_owner_of_determination(), shared_with=_shared_with_determination
)


def determine(
    session: Session, *, actor: Actor, clock: Clock, model_id: uuid.UUID, policy_name: str
) -> Determination:
    model = session.get(FrontierModel, model_id)
    if model is None:
        raise NotFound("no such model")
    authorize(actor, Permission.DETERMINATION_CREATE, model)
    stored = get_policy(session, actor=actor, name=policy_name)
    facts = facts_of(model)
    result = evaluate(stored.policy, facts)
    determination = Determination(
        id=uuid.uuid4(),
        model_id=model.id,
        policy_name=stored.policy.name,
        policy_version=stored.policy.version,
        policy_sha256=stored.sha256,
        outcome=result.outcome,
        missing=list(result.missing),
        trace=[entry.as_dict() for entry in result.trace],
        facts=facts,
        facts_revision=model.facts_revision,
        requested_by=actor.user_id,
        created_at=clock.now(),
    )
    determination.model = model
    session.add(determination)
    record_event(
        session,
        clock=clock,
        actor=actor,
        action=FrontierEvent.DETERMINATION_MADE,
        object_type="determination",
        object_id=determination.id,
        details={
            "model": str(model.id),
            "policy": stored.policy.name,
            "policy_version": stored.policy.version,
            "outcome": determination.outcome.value,
        },
    )
    return determination


def get_determination(
    session: Session, *, actor: Actor, determination_id: uuid.UUID
) -> Determination:
    determination = session.get(Determination, determination_id)
    if determination is None:
        raise NotFound("no such determination")
    authorize(actor, Permission.DETERMINATION_READ, determination)
    return determination


def list_determinations(
    session: Session,
    *,
    actor: Actor,
    limit: int,
    offset: int,
    model_id: uuid.UUID | None = None,
) -> Page[Determination]:
    stmt = select(Determination).where(
        visible_filter(actor, Permission.DETERMINATION_READ, DETERMINATION_COLUMNS)
    )
    if model_id is not None:
        stmt = stmt.where(Determination.model_id == model_id)
    stmt = stmt.order_by(Determination.created_at.desc(), Determination.id)
    return paginate(session, stmt, limit=limit, offset=offset)


def current_covered(session: Session, model: FrontierModel) -> Determination | None:
    """The newest determination that found the model covered on its current facts."""
    return session.scalar(
        select(Determination)
        .where(
            Determination.model_id == model.id,
            Determination.outcome == Outcome.COVERED,
            Determination.facts_revision == model.facts_revision,
        )
        .order_by(Determination.created_at.desc())
        .limit(1)
    )


def review(
    session: Session,
    *,
    actor: Actor,
    clock: Clock,
    determination_id: uuid.UUID,
    stance: Stance,
    rationale: str,
) -> DeterminationReview:
    determination = session.get(Determination, determination_id)
    if determination is None:
        raise NotFound("no such determination")
    authorize(actor, Permission.DETERMINATION_REVIEW, determination)
    entry = DeterminationReview(
        id=uuid.uuid4(),
        determination_id=determination.id,
        org_id=actor.org_id,
        user_id=actor.user_id,
        stance=stance,
        rationale=rationale.strip(),
        created_at=clock.now(),
    )
    # Appending (not session.add) loads the list first, so the new entry is not counted twice.
    determination.reviews.append(entry)
    record_event(
        session,
        clock=clock,
        actor=actor,
        action=FrontierEvent.DETERMINATION_REVIEWED,
        object_type="determination",
        object_id=determination.id,
        details={"stance": stance.value},
    )
    return entry
