"""Identity services: organizations, users, tokens and authentication.

Every function takes a session, the acting user and the clock, authorizes through
``assay.core.authz``, writes an audit event for each change, and leaves the commit to the
caller's unit of work.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.core.audit import record_event
from assay.core.authz import (
    Actor,
    OrgKind,
    OwnerColumns,
    Permission,
    Role,
    authorize,
    visible_filter,
)
from assay.core.clock import Clock
from assay.core.errors import (
    Conflict,
    FieldError,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthenticated,
)
from assay.core.pagination import Page, paginate
from assay.identity.events import IdentityEvent
from assay.identity.models import ApiToken, LoginAttempt, Organization, User
from assay.identity.passwords import hash_password, verify_password

TOKEN_PREFIX = "assay_"
SCOPE_PATTERN_CHARS = set("abcdefghijklmnopqrstuvwxyz_:*")


def actor_for(user: User, scopes: frozenset[str] = frozenset({"*"})) -> Actor:
    return Actor(
        user_id=user.id,
        email=user.email,
        org_id=user.org_id,
        org_kind=user.org.kind,
        role=user.role,
        is_instance_admin=user.is_instance_admin,
        scopes=scopes,
    )


# -- organizations -------------------------------------------------------------------------


def create_organization(
    session: Session, *, actor: Actor | None, clock: Clock, name: str, kind: OrgKind
) -> Organization:
    """Register an organization. Only an instance admin may; ``actor`` None is the installer."""
    if actor is not None:
        authorize(actor, Permission.ORG_CREATE)
    name = name.strip()
    if session.scalar(select(Organization.id).where(Organization.name == name)):
        raise Conflict(f"an organization named {name!r} already exists")
    org = Organization(id=uuid.uuid4(), name=name, kind=kind, created_at=clock.now())
    session.add(org)
    record_event(
        session,
        clock=clock,
        actor=actor,
        action=IdentityEvent.ORG_CREATED,
        object_type="organization",
        object_id=org.id,
        details={"name": name, "kind": kind.value},
    )
    return org


def get_organization(session: Session, *, actor: Actor, org_id: uuid.UUID) -> Organization:
    org = session.get(Organization, org_id)
    if org is None:
        raise NotFound("no such organization")
    authorize(actor, Permission.ORG_READ, org)
    return org


def find_organization(session: Session, *, actor: Actor, ref: str) -> Organization:
    """An organization by id or exact name, as the actor may see it."""
    try:
        org = session.get(Organization, uuid.UUID(ref))
    except ValueError:
        org = session.scalar(select(Organization).where(Organization.name == ref.strip()))
    if org is None:
        raise NotFound(f"no organization {ref!r}")
    authorize(actor, Permission.ORG_READ, org)
    return org


def list_organizations(
    session: Session, *, actor: Actor, limit: int = 50, offset: int = 0
) -> Page[Organization]:
    columns = OwnerColumns(
        org=Organization.id, shared_with=lambda _org_id: Organization.kind == OrgKind.AGENCY
    )
    where = visible_filter(actor, Permission.ORG_READ, columns)
    stmt = select(Organization).where(where).order_by(Organization.name)
    return paginate(session, stmt, limit=limit, offset=offset)


# -- users ---------------------------------------------------------------------------------


def create_user(
    session: Session,
    *,
    actor: Actor | None,
    clock: Clock,
    org_id: uuid.UUID,
    email: str,
    name: str,
    role: Role,
    password: str,
    is_instance_admin: bool = False,
) -> User:
    """Create a user in an organization. An org admin may, in their own organization."""
    org = session.get(Organization, org_id)
    if actor is not None:
        if org is None:
            raise NotFound("no such organization")
        authorize(actor, Permission.USER_CREATE, org)
        if is_instance_admin and not actor.is_instance_admin:
            authorize(actor, Permission.ORG_CREATE)  # only an instance admin makes another
    elif org is None:
        raise NotFound("no such organization")
    email = normalize_email(email)
    if session.scalar(select(User.id).where(User.email == email)):
        raise Conflict(f"a user with e-mail {email} already exists")
    user = User(
        id=uuid.uuid4(),
        org_id=org_id,
        email=email,
        name=name.strip(),
        role=role,
        password_hash=hash_password(password),
        is_active=True,
        is_instance_admin=is_instance_admin,
        created_at=clock.now(),
    )
    user.org = org
    session.add(user)
    record_event(
        session,
        clock=clock,
        actor=actor,
        action=IdentityEvent.USER_CREATED,
        object_type="user",
        object_id=user.id,
        details={"email": email, "org_id": str(org_id), "role": role.value},
    )
    return user


def get_user(session: Session, *, actor: Actor, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    authorize(actor, Permission.USER_READ, user)
    return user


def list_users(
    session: Session,
    *,
    actor: Actor,
    org_id: uuid.UUID | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[User]:
    stmt = select(User).where(
        visible_filter(actor, Permission.USER_READ, OwnerColumns(User.org_id))
    )
    if org_id is not None:
        stmt = stmt.where(User.org_id == org_id)
    return paginate(session, stmt.order_by(User.email), limit=limit, offset=offset)


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise InvalidInput("not an e-mail address", errors=[FieldError("email", "name@domain")])
    return email


def user_by_email(session: Session, email: str) -> User:
    """The user with this e-mail, for the CLI's ``--as``."""
    user = session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None or not user.is_active:
        raise NotFound(f"no active user with e-mail {email}")
    return user


def instance_admin(session: Session) -> User:
    """The first instance admin, the CLI's default actor."""
    user = session.scalar(
        select(User)
        .where(User.is_instance_admin.is_(True), User.is_active.is_(True))
        .order_by(User.created_at)
    )
    if user is None:
        raise NotFound("this instance has no admin yet: run `assay init` or `assay demo`")
    return user


# -- tokens --------------------------------------------------------------------------------


class IssuedToken(NamedTuple):
    record: ApiToken
    token: str
    """The bearer token itself, returned this once."""


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check_scopes(scopes: list[str]) -> list[str]:
    cleaned = sorted({s.strip() for s in scopes if s.strip()})
    bad = [s for s in cleaned if not set(s) <= SCOPE_PATTERN_CHARS]
    if not cleaned or bad:
        raise InvalidInput(
            "bad token scopes",
            errors=[FieldError("scopes", "patterns such as `*`, `identity:*` or `core:job:read`")],
        )
    return cleaned


def create_token(
    session: Session,
    *,
    actor: Actor,
    clock: Clock,
    name: str,
    scopes: list[str],
    expires_in_days: int = 90,
) -> IssuedToken:
    """Issue a token for the acting user, with no more scope than the actor holds."""
    authorize(actor, Permission.TOKEN_CREATE)
    if not 1 <= expires_in_days <= 366:
        raise InvalidInput(
            "bad expiry", errors=[FieldError("expires_in_days", "between 1 and 366")]
        )
    cleaned = _check_scopes(scopes)
    if "*" not in actor.scopes:
        raise InvalidInput(
            "a token cannot issue tokens",
            errors=[FieldError("scopes", "log in or use the CLI to issue a token")],
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    record = ApiToken(
        id=uuid.uuid4(),
        user_id=actor.user_id,
        org_id=actor.org_id,
        name=name.strip(),
        prefix=token[:12],
        token_hash=_hash_token(token),
        scopes=cleaned,
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days),
        revoked_at=None,
    )
    session.add(record)
    record_event(
        session,
        clock=clock,
        actor=actor,
        action=IdentityEvent.TOKEN_CREATED,
        object_type="api_token",
        object_id=record.id,
        details={"name": record.name, "scopes": cleaned, "expires_at": record.expires_at},
    )
    return IssuedToken(record=record, token=token)


def list_tokens(
    session: Session, *, actor: Actor, limit: int = 50, offset: int = 0
) -> Page[ApiToken]:
    where = visible_filter(
        actor, Permission.TOKEN_READ, OwnerColumns(org=ApiToken.org_id, user=ApiToken.user_id)
    )
    stmt = select(ApiToken).where(where).order_by(ApiToken.created_at.desc())
    return paginate(session, stmt, limit=limit, offset=offset)


def revoke_token(session: Session, *, actor: Actor, clock: Clock, token_id: uuid.UUID) -> ApiToken:
    record = session.get(ApiToken, token_id)
    if record is None:
        raise NotFound("no such token")
    authorize(actor, Permission.TOKEN_REVOKE, record)
    if record.revoked_at is None:
        record.revoked_at = clock.now()
        record_event(
            session,
            clock=clock,
            actor=actor,
            action=IdentityEvent.TOKEN_REVOKED,
            object_type="api_token",
            object_id=record.id,
        )
    return record


def authenticate_token(session: Session, *, clock: Clock, token: str) -> Actor:
    """The actor a bearer token stands for; expired, revoked or unknown tokens are refused."""
    record = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash_token(token)))
    if record is None or record.revoked_at is not None or record.expires_at <= clock.now():
        raise Unauthenticated("the bearer token is unknown, expired or revoked")
    user = session.get(User, record.user_id)
    if user is None or not user.is_active:
        raise Unauthenticated("the token's user is not active")
    return actor_for(user, frozenset(record.scopes))


# -- passwords and sessions ----------------------------------------------------------------


def authenticate_password(
    session: Session,
    *,
    clock: Clock,
    email: str,
    password: str,
    client: str,
    max_failures: int,
    window_seconds: int,
) -> Actor:
    """Check a password login, refusing guesses beyond ``max_failures`` in the window."""
    email = email.strip().lower()
    since = clock.now() - timedelta(seconds=window_seconds)
    recent = select(func.count()).select_from(LoginAttempt).where(LoginAttempt.attempted_at > since)
    by_account = session.scalar(recent.where(LoginAttempt.email == email)) or 0
    by_client = session.scalar(recent.where(LoginAttempt.client == client)) or 0
    if by_account >= max_failures or by_client >= max_failures * 4:
        raise RateLimited(
            "too many failed logins; wait and try again", retry_after_seconds=window_seconds
        )
    user = session.scalar(select(User).where(User.email == email))
    if not verify_password(user.password_hash if user else None, password) or user is None:
        session.add(
            LoginAttempt(id=uuid.uuid4(), email=email, client=client[:64], attempted_at=clock.now())
        )
        # The failure must be counted even though the caller's transaction ends in an error.
        session.commit()
        raise Unauthenticated("wrong e-mail or password")
    if not user.is_active:
        raise Unauthenticated("this account is disabled")
    actor = actor_for(user)
    record_event(
        session,
        clock=clock,
        actor=actor,
        action=IdentityEvent.USER_LOGGED_IN,
        object_type="user",
        object_id=user.id,
        details={"client": client[:64]},
    )
    return actor


def record_logout(session: Session, *, actor: Actor, clock: Clock) -> None:
    record_event(
        session,
        clock=clock,
        actor=actor,
        action=IdentityEvent.USER_LOGGED_OUT,
        object_type="user",
        object_id=actor.user_id,
    )


def load_actor(session: Session, user_id: uuid.UUID) -> Actor | None:
    """The actor of a web session, or None when the user is gone or disabled."""
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    return actor_for(user)


# -- installation --------------------------------------------------------------------------


class Installation(NamedTuple):
    org: Organization
    admin: User


def initialize_instance(
    session: Session,
    *,
    clock: Clock,
    org_name: str,
    org_kind: OrgKind,
    admin_email: str,
    admin_password: str,
) -> Installation:
    """Create the first organization and the instance admin; refused once an admin exists."""
    existing = session.scalar(select(User.id).where(User.is_instance_admin.is_(True)))
    if existing is not None:
        raise Conflict("this instance is already initialized")
    org = create_organization(session, actor=None, clock=clock, name=org_name, kind=org_kind)
    admin = create_user(
        session,
        actor=None,
        clock=clock,
        org_id=org.id,
        email=admin_email,
        name="Instance administrator",
        role=Role.ADMIN,
        password=admin_password,
        is_instance_admin=True,
    )
    record_event(
        session,
        clock=clock,
        actor=None,
        action=IdentityEvent.INSTANCE_INITIALIZED,
        object_type="user",
        object_id=admin.id,
        details={"org": org.name, "admin": admin.email},
    )
    return Installation(org=org, admin=admin)
