"""HTTP routes of the identity domain: thin translations to ``identity.service``."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from assay.api.deps import CurrentActor, PageDep, PageOut, RuntimeDep, SessionDep, page_out
from assay.identity import service
from assay.identity.schemas import (
    Me,
    OrgCreate,
    OrgPublic,
    TokenCreate,
    TokenIssued,
    TokenPublic,
    UserCreate,
    UserPublic,
)

router = APIRouter(prefix="/api", tags=["identity"])


@router.get("/me")
def me(actor: CurrentActor, session: SessionDep) -> Me:
    """Who the credential acts as."""
    user = service.get_user(session, actor=actor, user_id=actor.user_id)
    return Me(
        user=UserPublic.model_validate(user),
        organization=OrgPublic.model_validate(user.org),
        scopes=sorted(actor.scopes),
    )


@router.get("/orgs")
def list_orgs(actor: CurrentActor, session: SessionDep, page: PageDep) -> PageOut[OrgPublic]:
    result = service.list_organizations(session, actor=actor, limit=page.limit, offset=page.offset)
    return page_out(result, OrgPublic)


@router.post("/orgs", status_code=status.HTTP_201_CREATED)
def create_org(
    body: OrgCreate, actor: CurrentActor, session: SessionDep, runtime: RuntimeDep
) -> OrgPublic:
    org = service.create_organization(
        session, actor=actor, clock=runtime.clock, name=body.name, kind=body.kind
    )
    return OrgPublic.model_validate(org)


@router.get("/orgs/{org_id}")
def get_org(org_id: uuid.UUID, actor: CurrentActor, session: SessionDep) -> OrgPublic:
    return OrgPublic.model_validate(service.get_organization(session, actor=actor, org_id=org_id))


@router.get("/users")
def list_users(
    actor: CurrentActor, session: SessionDep, page: PageDep, org_id: uuid.UUID | None = None
) -> PageOut[UserPublic]:
    result = service.list_users(
        session, actor=actor, org_id=org_id, limit=page.limit, offset=page.offset
    )
    return page_out(result, UserPublic)


@router.post("/users", status_code=status.HTTP_201_CREATED)
def create_user(
    body: UserCreate, actor: CurrentActor, session: SessionDep, runtime: RuntimeDep
) -> UserPublic:
    user = service.create_user(
        session,
        actor=actor,
        clock=runtime.clock,
        org_id=body.org_id,
        email=body.email,
        name=body.name,
        role=body.role,
        password=body.password,
    )
    return UserPublic.model_validate(user)


@router.get("/users/{user_id}")
def get_user(user_id: uuid.UUID, actor: CurrentActor, session: SessionDep) -> UserPublic:
    return UserPublic.model_validate(service.get_user(session, actor=actor, user_id=user_id))


@router.get("/tokens")
def list_tokens(actor: CurrentActor, session: SessionDep, page: PageDep) -> PageOut[TokenPublic]:
    result = service.list_tokens(session, actor=actor, limit=page.limit, offset=page.offset)
    return page_out(result, TokenPublic)


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
def create_token(
    body: TokenCreate, actor: CurrentActor, session: SessionDep, runtime: RuntimeDep
) -> TokenIssued:
    issued = service.create_token(
        session,
        actor=actor,
        clock=runtime.clock,
        name=body.name,
        scopes=body.scopes,
        expires_in_days=body.expires_in_days,
    )
    public = TokenPublic.model_validate(issued.record)
    return TokenIssued(**public.model_dump(), token=issued.token)


@router.delete("/tokens/{token_id}")
def revoke_token(
    token_id: uuid.UUID, actor: CurrentActor, session: SessionDep, runtime: RuntimeDep
) -> TokenPublic:
    record = service.revoke_token(session, actor=actor, clock=runtime.clock, token_id=token_id)
    return TokenPublic.model_validate(record)
