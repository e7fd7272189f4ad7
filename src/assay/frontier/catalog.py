"""Registering and updating models: their facts, their release date and their access.

The API key is encrypted with the instance's secret box before it touches a row; nothing
here returns, logs or audits it. Changing a fact bumps ``facts_revision``, which makes
every earlier determination stale. Moving the release earlier shortens open windows: the
developer's date is never subject to anyone's approval.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from assay.core.audit import record_event
from assay.core.authz import Actor, OrgKind, OwnerColumns, Permission, authorize, visible_filter
from assay.core.clock import Clock
from assay.core.crypto import SecretBox
from assay.core.errors import Conflict, InvalidInput, NotFound
from assay.core.pagination import Page, paginate
from assay.frontier import windows
from assay.frontier.events import FrontierEvent
from assay.frontier.models import Agreement, AgreementParty, AgreementState, FrontierModel
from assay.frontier.schemas import ModelCreate, ModelUpdate
from assay.identity.models import Organization

FACT_FIELDS = (
    "training_flop",
    "finetune_flop",
    "parameters",
    "bio_sequence_data",
    "revenue_usd",
    "eu_business_users",
    "modalities",
    "benchmarks",
)


def facts_of(model: FrontierModel) -> dict[str, Any]:
    """The model's facts as a policy reads them; benchmarks become ``benchmark.NAME``."""
    facts: dict[str, Any] = {f: getattr(model, f) for f in FACT_FIELDS if f != "benchmarks"}
    for name, score in (model.benchmarks or {}).items():
        facts[f"benchmark.{name}"] = score
    return facts


def _shared_with_model(org_id: uuid.UUID) -> Any:
    live = (AgreementState.PROPOSED, AgreementState.ACTIVE)
    return exists().where(
        Agreement.model_id == FrontierModel.id,
        Agreement.state.in_(live),
        AgreementParty.agreement_id == Agreement.id,
        AgreementParty.org_id == org_id,
    )


MODEL_COLUMNS = OwnerColumns(org=FrontierModel.org_id, shared_with=_shared_with_model)


def register_model(
    session: Session, *, actor: Actor, clock: Clock, box: SecretBox, data: ModelCreate
) -> FrontierModel:
    authorize(actor, Permission.MODEL_CREATE)
    org_id = data.org_id or actor.org_id
    org = session.get(Organization, org_id)
    if org is None:
        raise NotFound("no such organization")
    if org_id != actor.org_id and not actor.is_instance_admin:
        raise NotFound("no such organization")
    if org.kind != OrgKind.DEVELOPER:
        raise InvalidInput(f"{org.name} is not an AI developer; only developers register models")
    duplicate = select(FrontierModel.id).where(
        FrontierModel.org_id == org_id,
        FrontierModel.name == data.name,
        FrontierModel.version == data.version,
    )
    if session.scalar(duplicate):
        raise Conflict(f"{data.name} version {data.version} is already registered")
    now = clock.now()
    model = FrontierModel(
        id=uuid.uuid4(),
        org_id=org_id,
        name=data.name,
        version=data.version,
        description=data.description,
        planned_release_at=data.planned_release_at,
        endpoint_url=data.endpoint_url,
        endpoint_model=data.endpoint_model,
        api_key_encrypted=box.encrypt(data.api_key.get_secret_value()) if data.api_key else None,
        facts_revision=1,
        created_at=now,
        updated_at=now,
        **{f: getattr(data, f) for f in FACT_FIELDS},
    )
    session.add(model)
    record_event(
        session,
        clock=clock,
        actor=actor,
        action=FrontierEvent.MODEL_REGISTERED,
        object_type="model",
        object_id=model.id,
        details={"name": model.name, "version": model.version, "has_api_key": model.has_api_key},
    )
    return model


def get_model(session: Session, *, actor: Actor, model_id: uuid.UUID) -> FrontierModel:
    model = session.get(FrontierModel, model_id)
    if model is None:
        raise NotFound("no such model")
    authorize(actor, Permission.MODEL_READ, model)
    return model


def list_models(session: Session, *, actor: Actor, limit: int, offset: int) -> Page[FrontierModel]:
    stmt = (
        select(FrontierModel)
        .where(visible_filter(actor, Permission.MODEL_READ, MODEL_COLUMNS))
        .order_by(FrontierModel.created_at, FrontierModel.id)
    )
    return paginate(session, stmt, limit=limit, offset=offset)


def update_model(
    session: Session,
    *,
    actor: Actor,
    clock: Clock,
    box: SecretBox,
    model_id: uuid.UUID,
    data: ModelUpdate,
) -> FrontierModel:
    model = session.get(FrontierModel, model_id)
    if model is None:
        raise NotFound("no such model")
    authorize(actor, Permission.MODEL_UPDATE, model)
    sent = data.model_fields_set
    changed: list[str] = []
    for field in (*FACT_FIELDS, "description", "endpoint_url", "endpoint_model"):
        if field not in sent:
            continue
        value = getattr(data, field)
        if field == "benchmarks" and value is None:
            value = {}
        if getattr(model, field) != value:
            setattr(model, field, value)
            changed.append(field)
    if any(f in FACT_FIELDS for f in changed):
        model.facts_revision += 1
    if "api_key" in sent:
        model.api_key_encrypted = (
            box.encrypt(data.api_key.get_secret_value()) if data.api_key else None
        )
        record_event(
            session,
            clock=clock,
            actor=actor,
            action=FrontierEvent.MODEL_KEY_REPLACED,
            object_type="model",
            object_id=model.id,
            details={"has_api_key": model.has_api_key},
        )
    release = data.planned_release_at
    if "planned_release_at" in sent and release not in (None, model.planned_release_at):
        assert release is not None
        windows.move_release(session, actor=actor, clock=clock, model=model, release=release)
        changed.append("planned_release_at")
    if changed:
        model.updated_at = clock.now()
        record_event(
            session,
            clock=clock,
            actor=actor,
            action=FrontierEvent.MODEL_UPDATED,
            object_type="model",
            object_id=model.id,
            details={"changed": changed, "facts_revision": model.facts_revision},
        )
    return model
