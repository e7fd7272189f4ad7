"""HTTP routes of the frontier-review domain: thin translations to its services."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from assay.api.deps import CurrentActor, PageDep, PageOut, RuntimeDep, SessionDep, page_out
from assay.frontier import agreements, catalog, determinations, findings, policies, windows
from assay.frontier.gateway import access
from assay.frontier.policies import StoredPolicy
from assay.frontier.schemas import (
    AgreementCreate,
    AgreementPublic,
    DecisionCreate,
    DeterminationCreate,
    DeterminationPublic,
    FindingCreate,
    FindingPublic,
    GatewayTokenIssued,
    ModelCreate,
    ModelPublic,
    ModelUpdate,
    PolicyCreate,
    PolicyDetail,
    PolicySummary,
    ResponseCreate,
    ResponsePublic,
    ReviewCreate,
    ReviewPublic,
    WindowCreate,
    WindowPublic,
)

router = APIRouter(prefix="/api", tags=["frontier"])


def policy_summary(stored: StoredPolicy) -> PolicySummary:
    p = stored.policy
    return PolicySummary(
        name=p.name, version=p.version, title=p.title, default=p.default,
        shipped=stored.shipped, sha256=stored.sha256,
    )  # fmt: skip


def policy_detail(stored: StoredPolicy) -> PolicyDetail:
    p = stored.policy
    return PolicyDetail(
        **policy_summary(stored).model_dump(),
        description=p.description,
        parameters=dict(p.parameters),
        source_text=p.source_text,
    )


# -- models --------------------------------------------------------------------------------


@router.post("/models", status_code=status.HTTP_201_CREATED)
def register_model(
    body: ModelCreate, actor: CurrentActor, session: SessionDep, runtime: RuntimeDep
) -> ModelPublic:
    model = catalog.register_model(
        session, actor=actor, clock=runtime.clock, box=runtime.box, data=body
    )
    return ModelPublic.model_validate(model)


@router.get("/models")
def list_models(actor: CurrentActor, session: SessionDep, page: PageDep) -> PageOut[ModelPublic]:
    result = catalog.list_models(session, actor=actor, limit=page.limit, offset=page.offset)
    return page_out(result, ModelPublic)


@router.get("/models/{model_id}")
def get_model(model_id: uuid.UUID, actor: CurrentActor, session: SessionDep) -> ModelPublic:
    return ModelPublic.model_validate(catalog.get_model(session, actor=actor, model_id=model_id))


@router.patch("/models/{model_id}")
def update_model(
    model_id: uuid.UUID,
    body: ModelUpdate,
    actor: CurrentActor,
    session: SessionDep,
    runtime: RuntimeDep,
) -> ModelPublic:
    model = catalog.update_model(
        session, actor=actor, clock=runtime.clock, box=runtime.box, model_id=model_id, data=body
    )
    return ModelPublic.model_validate(model)


# -- policies and determinations -----------------------------------------------------------


@router.get("/policies")
def list_policies(actor: CurrentActor, session: SessionDep) -> list[PolicySummary]:
    return [policy_summary(s) for s in policies.list_policies(session, actor=actor)]


@router.get("/policies/{name}")
def get_policy(
    name: str, actor: CurrentActor, session: SessionDep, version: int | None = None
) -> PolicyDetail:
    return policy_detail(policies.get_policy(session, actor=actor, name=name, version=version))


@router.post("/policies", status_code=status.HTTP_201_CREATED)
def add_policy(
    body: PolicyCreate, actor: CurrentActor, session: SessionDep, runtime: RuntimeDep
) -> PolicyDetail:
    stored = policies.add_policy(
        session, actor=actor, clock=runtime.clock, source_text=body.source_text
    )
    return policy_detail(stored)


@router.post("/determinations", status_code=status.HTTP_201_CREATED)
def determine(
    body: DeterminationCreate, actor: CurrentActor, session: SessionDep, runtime: RuntimeDep
) -> DeterminationPublic:
    result = determinations.determine(
        session, actor=actor, clock=runtime.clock, model_id=body.model_id, policy_name=body.policy
    )
    return DeterminationPublic.model_validate(result)


@router.get("/determinations")
def list_determinations(
    actor: CurrentActor, session: SessionDep, page: PageDep, model_id: uuid.UUID | None = None
) -> PageOut[DeterminationPublic]:
    result = determinations.list_determinations(
        session, actor=actor, limit=page.limit, offset=page.offset, model_id=model_id
    )
    return page_out(result, DeterminationPublic)


@router.get("/determinations/{determination_id}")
def get_determination(
    determination_id: uuid.UUID, actor: CurrentActor, session: SessionDep
) -> DeterminationPublic:
    result = determinations.get_determination(
        session, actor=actor, determination_id=determination_id
    )
    return DeterminationPublic.model_validate(result)


@router.post("/determinations/{determination_id}/reviews", status_code=status.HTTP_201_CREATED)
def review_determination(
    determination_id: uuid.UUID,
    body: ReviewCreate,
    actor: CurrentActor,
    session: SessionDep,
    runtime: RuntimeDep,
) -> ReviewPublic:
    entry = determinations.review(
        session,
        actor=actor,
        clock=runtime.clock,
        determination_id=determination_id,
        stance=body.stance,
        rationale=body.rationale,
    )
    return ReviewPublic.model_validate(entry)


# -- agreements ----------------------------------------------------------------------------


@router.post("/agreements", status_code=status.HTTP_201_CREATED)
def propose_agreement(
    body: AgreementCreate, actor: CurrentActor, session: SessionDep, runtime: RuntimeDep
) -> AgreementPublic:
    agreement = agreements.propose(session, actor=actor, clock=runtime.clock, data=body)
    return AgreementPublic.model_validate(agreement)


@router.get("/agreements")
def list_agreements(
    actor: CurrentActor, session: SessionDep, page: PageDep, model_id: uuid.UUID | None = None
) -> PageOut[AgreementPublic]:
    result = agreements.list_agreements(
        session, actor=actor, limit=page.limit, offset=page.offset, model_id=model_id
    )
    return page_out(result, AgreementPublic)


@router.get("/agreements/{agreement_id}")
def get_agreement(
    agreement_id: uuid.UUID, actor: CurrentActor, session: SessionDep
) -> AgreementPublic:
    agreement = agreements.get_agreement(session, actor=actor, agreement_id=agreement_id)
    return AgreementPublic.model_validate(agreement)


@router.post("/agreements/{agreement_id}/decision")
def decide_agreement(
    agreement_id: uuid.UUID,
    body: DecisionCreate,
    actor: CurrentActor,
    session: SessionDep,
    runtime: RuntimeDep,
) -> AgreementPublic:
    agreement = agreements.decide(
        session,
        actor=actor,
        clock=runtime.clock,
        agreement_id=agreement_id,
        accept=body.accept,
        reason=body.reason,
    )
    return AgreementPublic.model_validate(agreement)


@router.post("/agreements/{agreement_id}/terminate")
def terminate_agreement(
    agreement_id: uuid.UUID, actor: CurrentActor, session: SessionDep, runtime: RuntimeDep
) -> AgreementPublic:
    agreement = agreements.terminate(
        session, actor=actor, clock=runtime.clock, agreement_id=agreement_id
    )
    return AgreementPublic.model_validate(agreement)


# -- windows and gateway tokens ------------------------------------------------------------


@router.post("/windows", status_code=status.HTTP_201_CREATED)
def open_window(
    body: WindowCreate, actor: CurrentActor, session: SessionDep, runtime: RuntimeDep
) -> WindowPublic:
    window = windows.open_window(
        session,
        actor=actor,
        clock=runtime.clock,
        agreement_id=body.agreement_id,
        opens_at=body.opens_at,
    )
    return windows.to_public(window, runtime.clock.now())


@router.get("/windows")
def list_windows(
    actor: CurrentActor,
    session: SessionDep,
    runtime: RuntimeDep,
    page: PageDep,
    model_id: uuid.UUID | None = None,
) -> PageOut[WindowPublic]:
    result = windows.list_windows(
        session, actor=actor, limit=page.limit, offset=page.offset, model_id=model_id
    )
    now = runtime.clock.now()
    return PageOut[WindowPublic](
        items=[windows.to_public(w, now) for w in result.items],
        total=result.total,
        limit=result.limit,
        offset=result.offset,
    )


@router.get("/windows/{window_id}")
def get_window(
    window_id: uuid.UUID, actor: CurrentActor, session: SessionDep, runtime: RuntimeDep
) -> WindowPublic:
    window = windows.get_window(session, actor=actor, window_id=window_id)
    return windows.to_public(window, runtime.clock.now())


@router.post("/windows/{window_id}/close")
def close_window(
    window_id: uuid.UUID, actor: CurrentActor, session: SessionDep, runtime: RuntimeDep
) -> WindowPublic:
    window = windows.close_window(session, actor=actor, clock=runtime.clock, window_id=window_id)
    return windows.to_public(window, runtime.clock.now())


@router.post("/windows/{window_id}/gateway-tokens", status_code=status.HTTP_201_CREATED)
def issue_gateway_token(
    window_id: uuid.UUID, actor: CurrentActor, session: SessionDep, runtime: RuntimeDep
) -> GatewayTokenIssued:
    issued = access.issue_token(session, actor=actor, clock=runtime.clock, window_id=window_id)
    return GatewayTokenIssued(
        id=issued.row.id,
        window_id=issued.window.id,
        org_id=issued.row.org_id,
        token=issued.token,
        base_url=runtime.settings.resolved_public_url + "/gateway/v1",
        model=issued.window.model.name,
        expires_at=windows.closes_at(issued.window),
    )


# -- findings ------------------------------------------------------------------------------


@router.post("/findings", status_code=status.HTTP_201_CREATED)
def record_finding(
    body: FindingCreate, actor: CurrentActor, session: SessionDep, runtime: RuntimeDep
) -> FindingPublic:
    finding = findings.record_finding(session, actor=actor, clock=runtime.clock, data=body)
    return FindingPublic.model_validate(finding)


@router.get("/findings")
def list_findings(
    actor: CurrentActor, session: SessionDep, page: PageDep, window_id: uuid.UUID | None = None
) -> PageOut[FindingPublic]:
    result = findings.list_findings(
        session, actor=actor, limit=page.limit, offset=page.offset, window_id=window_id
    )
    return page_out(result, FindingPublic)


@router.post("/findings/{finding_id}/responses", status_code=status.HTTP_201_CREATED)
def respond_to_finding(
    finding_id: uuid.UUID,
    body: ResponseCreate,
    actor: CurrentActor,
    session: SessionDep,
    runtime: RuntimeDep,
) -> ResponsePublic:
    response = findings.respond(
        session, actor=actor, clock=runtime.clock, finding_id=finding_id, body=body.body
    )
    return ResponsePublic.model_validate(response)
