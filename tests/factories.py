"""Factories for test data: real service calls, so every object is made the way users make it."""

from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from assay.core.authz import Actor, OrgKind, Role
from assay.core.clock import Clock
from assay.identity import service as identity
from assay.identity.models import Organization, User

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)


def make_org(
    session: Session, clock: Clock, kind: OrgKind, name: str | None = None
) -> Organization:
    n = next(_counter)
    return identity.create_organization(
        session, actor=None, clock=clock, name=name or f"{kind.value.title()} Org {n}", kind=kind
    )


def make_user(
    session: Session,
    clock: Clock,
    org: Organization,
    role: Role = Role.MEMBER,
    *,
    instance_admin: bool = False,
    email: str | None = None,
) -> User:
    n = next(_counter)
    return identity.create_user(
        session,
        actor=None,
        clock=clock,
        org_id=org.id,
        email=email or f"user{n}@{org.kind.value}{n}.example",
        name=f"User {n}",
        role=role,
        password=PASSWORD,
        is_instance_admin=instance_admin,
    )


def make_instance_admin(session: Session, clock: Clock) -> User:
    """An instance admin, in a clearinghouse organization of their own."""
    org = make_org(session, clock, OrgKind.CLEARINGHOUSE)
    return make_user(session, clock, org, Role.ADMIN, instance_admin=True)


def actor(user: User) -> Actor:
    return identity.actor_for(user)


def bearer(
    session: Session, clock: Clock, user: User, scopes: list[str] | None = None
) -> dict[str, str]:
    """Authorization headers with a fresh token for ``user``."""
    issued = identity.create_token(
        session, actor=identity.actor_for(user), clock=clock, name="test", scopes=scopes or ["*"]
    )
    session.commit()
    return {"Authorization": f"Bearer {issued.token}"}
