"""The one authorization module.

Every service function asks ``authorize(actor, permission, obj)`` before it reads or
writes; no route, command or page decides on its own. Another organization's object is
reported as not found, so its existence does not leak; a visible object that the actor
may not act on is forbidden. A permission without a rule is denied.
"""

from __future__ import annotations

import fnmatch
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import ColumnElement, and_, false, or_, true
from sqlalchemy.orm import InstrumentedAttribute

from assay.core.errors import Forbidden, NotFound


class OrgKind(StrEnum):
    DEVELOPER = "developer"
    AGENCY = "agency"
    CLEARINGHOUSE = "clearinghouse"
    VENDOR = "vendor"
    OPERATOR = "operator"
    REPORTER = "reporter"


class Role(StrEnum):
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"


_ROLE_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2}


class Permission(StrEnum):
    """Every permission, as ``scope:resource:action``."""

    ORG_READ = "identity:org:read"
    ORG_CREATE = "identity:org:create"
    USER_READ = "identity:user:read"
    USER_CREATE = "identity:user:create"
    TOKEN_READ = "identity:token:read"
    TOKEN_CREATE = "identity:token:create"
    TOKEN_REVOKE = "identity:token:revoke"
    AUDIT_READ = "core:audit:read"
    KEYS_ROTATE = "core:keys:rotate"
    JOB_READ = "core:job:read"
    JOB_CREATE = "core:job:create"
    JOB_CANCEL = "core:job:cancel"
    MODEL_READ = "frontier:model:read"
    MODEL_CREATE = "frontier:model:create"
    MODEL_UPDATE = "frontier:model:update"
    POLICY_READ = "frontier:policy:read"
    POLICY_CREATE = "frontier:policy:create"
    DETERMINATION_READ = "frontier:determination:read"
    DETERMINATION_CREATE = "frontier:determination:create"
    DETERMINATION_REVIEW = "frontier:determination:review"
    AGREEMENT_READ = "frontier:agreement:read"
    AGREEMENT_PROPOSE = "frontier:agreement:propose"
    AGREEMENT_DECIDE = "frontier:agreement:decide"
    AGREEMENT_TERMINATE = "frontier:agreement:terminate"
    WINDOW_READ = "frontier:window:read"
    WINDOW_OPEN = "frontier:window:open"
    WINDOW_CLOSE = "frontier:window:close"
    GATEWAY_TOKEN_CREATE = "frontier:gateway_token:create"
    FINDING_READ = "frontier:finding:read"
    FINDING_CREATE = "frontier:finding:create"
    FINDING_RESPOND = "frontier:finding:respond"
    EVAL_READ = "evals:run:read"
    EVAL_RUN = "evals:run:create"
    EVAL_CANCEL = "evals:run:cancel"
    BASELINE_READ = "evals:baseline:read"
    BASELINE_WRITE = "evals:baseline:write"
    SUBMISSION_READ = "clearinghouse:submission:read"
    SUBMISSION_CREATE = "clearinghouse:submission:create"
    VULN_READ = "clearinghouse:vulnerability:read"
    VULN_TRIAGE = "clearinghouse:vulnerability:triage"
    VULN_MERGE = "clearinghouse:vulnerability:merge"
    TRIAGE_DATA_LOAD = "clearinghouse:triage_data:load"


ALL_SCOPES: frozenset[str] = frozenset({"*"})


@dataclass(frozen=True)
class Actor:
    """Who is acting: a user, with the organization and role they act in."""

    user_id: uuid.UUID
    email: str
    org_id: uuid.UUID
    org_kind: OrgKind
    role: Role
    is_instance_admin: bool = False
    scopes: frozenset[str] = field(default=ALL_SCOPES)
    """Patterns of permissions a token may use (``identity:*``); web and CLI have ``*``."""

    def at_least(self, role: Role) -> bool:
        return _ROLE_RANK[self.role] >= _ROLE_RANK[role]

    def has_scope(self, permission: Permission) -> bool:
        return any(fnmatch.fnmatchcase(permission.value, p) for p in self.scopes)


@runtime_checkable
class OrgOwned(Protocol):
    """An object that belongs to one organization."""

    @property
    def owner_org_id(self) -> uuid.UUID: ...


@runtime_checkable
class Shared(OrgOwned, Protocol):
    """An object that one organization owns and others are party to (an agreement's agencies)."""

    @property
    def party_org_ids(self) -> frozenset[uuid.UUID]: ...


Predicate = Callable[[Actor, Any], bool]


@dataclass(frozen=True)
class OwnerColumns:
    """The columns of a table that say whose a row is, for filtering lists."""

    org: ColumnElement[Any] | InstrumentedAttribute[Any]
    user: ColumnElement[Any] | InstrumentedAttribute[Any] | None = None
    shared_with: Callable[[uuid.UUID], ColumnElement[bool]] | None = None
    """The SQL form of ``party_org_ids``: is this row shared with that organization?"""


Where = Callable[[Actor, OwnerColumns], ColumnElement[bool]]


def _where_own_org(actor: Actor, cols: OwnerColumns) -> ColumnElement[bool]:
    return true() if actor.is_instance_admin else cols.org == actor.org_id


@dataclass(frozen=True)
class Rule:
    """Who may see an object, and who may act on it; ``where`` is ``sees`` in SQL, for lists."""

    sees: Predicate
    may: Predicate
    where: Where = _where_own_org


def _own_org(actor: Actor, obj: Any) -> bool:
    return actor.is_instance_admin or (obj is not None and obj.owner_org_id == actor.org_id)


def _anyone(_actor: Actor, _obj: Any) -> bool:
    return True


def _instance_admin(actor: Actor, _obj: Any) -> bool:
    return actor.is_instance_admin


def _org_admin(actor: Actor, _obj: Any) -> bool:
    return actor.is_instance_admin or actor.at_least(Role.ADMIN)


def _member(actor: Actor, _obj: Any) -> bool:
    return actor.is_instance_admin or actor.at_least(Role.MEMBER)


def _self_or_org_admin(actor: Actor, obj: Any) -> bool:
    return _org_admin(actor, obj) or getattr(obj, "user_id", None) == actor.user_id


def _sees_token(actor: Actor, obj: Any) -> bool:
    return _own_org(actor, obj) and _self_or_org_admin(actor, obj)


def _where_token(actor: Actor, cols: OwnerColumns) -> ColumnElement[bool]:
    if actor.is_instance_admin:
        return true()
    if actor.at_least(Role.ADMIN) or cols.user is None:
        return cols.org == actor.org_id
    return and_(cols.org == actor.org_id, cols.user == actor.user_id)


def _owner_or_party(actor: Actor, obj: Any) -> bool:
    return _own_org(actor, obj) or actor.org_id in obj.party_org_ids


def _where_owner_or_party(actor: Actor, cols: OwnerColumns) -> ColumnElement[bool]:
    if actor.is_instance_admin:
        return true()
    if cols.shared_with is None:
        return cols.org == actor.org_id
    return or_(cols.org == actor.org_id, cols.shared_with(actor.org_id))


def _developer_member(actor: Actor, _obj: Any) -> bool:
    return actor.is_instance_admin or (
        actor.org_kind == OrgKind.DEVELOPER and actor.at_least(Role.MEMBER)
    )


def _party_agency_member(actor: Actor, obj: Any) -> bool:
    """An agency's member acting on something its agency is party to."""
    return actor.is_instance_admin or (
        actor.org_kind == OrgKind.AGENCY
        and actor.at_least(Role.MEMBER)
        and (obj is None or actor.org_id in obj.party_org_ids)
    )


def _owner_or_party_member(actor: Actor, obj: Any) -> bool:
    return actor.is_instance_admin or (actor.at_least(Role.MEMBER) and _owner_or_party(actor, obj))


def _own_org_member(actor: Actor, obj: Any) -> bool:
    return actor.is_instance_admin or (actor.at_least(Role.MEMBER) and _own_org(actor, obj))


def _responder(actor: Actor, obj: Any) -> bool:
    """The developer whose model a finding is about (``obj.developer_org_id``)."""
    return actor.is_instance_admin or (
        actor.at_least(Role.MEMBER) and obj.developer_org_id == actor.org_id
    )


def _own_or_any_agency(actor: Actor, obj: Any) -> bool:
    """Baselines: a reference model's scores are for every agency to compare against."""
    return _own_org(actor, obj) or actor.org_kind == OrgKind.AGENCY


def _agency_member(actor: Actor, obj: Any) -> bool:
    return actor.is_instance_admin or (
        actor.org_kind == OrgKind.AGENCY
        and actor.at_least(Role.MEMBER)
        and (obj is None or obj.owner_org_id == actor.org_id)
    )


def _analyst(actor: Actor, _obj: Any = None) -> bool:
    """A member of the clearinghouse, who sees and triages every report."""
    return actor.is_instance_admin or (
        actor.org_kind == OrgKind.CLEARINGHOUSE and actor.at_least(Role.MEMBER)
    )


def _clearinghouse_admin(actor: Actor, _obj: Any) -> bool:
    return actor.is_instance_admin or (
        actor.org_kind == OrgKind.CLEARINGHOUSE and actor.at_least(Role.ADMIN)
    )


def _own_or_clearinghouse(actor: Actor, obj: Any) -> bool:
    return actor.org_kind == OrgKind.CLEARINGHOUSE or _owner_or_party(actor, obj)


def _where_own_or_clearinghouse(actor: Actor, cols: OwnerColumns) -> ColumnElement[bool]:
    if actor.is_instance_admin or actor.org_kind == OrgKind.CLEARINGHOUSE:
        return true()
    return _where_owner_or_party(actor, cols)


def _reporter(actor: Actor, _obj: Any) -> bool:
    # Anyone may report a vulnerability except a vendor, whose view comes with coordination.
    return actor.is_instance_admin or (
        actor.org_kind != OrgKind.VENDOR and actor.at_least(Role.MEMBER)
    )


def _where_nothing(actor: Actor, _cols: OwnerColumns) -> ColumnElement[bool]:
    return true() if actor.is_instance_admin else false()


def _sees_org(actor: Actor, obj: Any) -> bool:
    # Agencies are public bodies: developers must be able to name them in an agreement.
    return _own_org(actor, obj) or getattr(obj, "kind", None) == OrgKind.AGENCY


RULES: dict[Permission, Rule] = {
    Permission.ORG_READ: Rule(sees=_sees_org, may=_anyone, where=_where_owner_or_party),
    Permission.ORG_CREATE: Rule(sees=_own_org, may=_instance_admin),
    Permission.USER_READ: Rule(sees=_own_org, may=_anyone),
    Permission.USER_CREATE: Rule(sees=_own_org, may=_org_admin),
    Permission.TOKEN_READ: Rule(sees=_sees_token, may=_anyone, where=_where_token),
    Permission.TOKEN_CREATE: Rule(sees=_own_org, may=_anyone),
    Permission.TOKEN_REVOKE: Rule(sees=_sees_token, may=_self_or_org_admin),
    Permission.AUDIT_READ: Rule(sees=_instance_admin, may=_instance_admin, where=_where_nothing),
    Permission.KEYS_ROTATE: Rule(sees=_instance_admin, may=_instance_admin, where=_where_nothing),
    Permission.JOB_READ: Rule(sees=_own_org, may=_anyone),
    Permission.JOB_CREATE: Rule(sees=_own_org, may=_member),
    Permission.JOB_CANCEL: Rule(sees=_own_org, may=_member),
    # Program A. A developer owns its models; an agency sees one only while it is party to
    # a proposed or active agreement about it (``party_org_ids``).
    Permission.MODEL_READ: Rule(sees=_owner_or_party, may=_anyone, where=_where_owner_or_party),
    Permission.MODEL_CREATE: Rule(sees=_own_org, may=_developer_member),
    Permission.MODEL_UPDATE: Rule(sees=_owner_or_party, may=_own_org_member),
    Permission.POLICY_READ: Rule(sees=_anyone, may=_anyone),
    Permission.POLICY_CREATE: Rule(sees=_anyone, may=_instance_admin),
    Permission.DETERMINATION_READ: Rule(
        sees=_owner_or_party, may=_anyone, where=_where_owner_or_party
    ),
    Permission.DETERMINATION_CREATE: Rule(sees=_owner_or_party, may=_own_org_member),
    Permission.DETERMINATION_REVIEW: Rule(sees=_owner_or_party, may=_party_agency_member),
    Permission.AGREEMENT_READ: Rule(sees=_owner_or_party, may=_anyone, where=_where_owner_or_party),
    Permission.AGREEMENT_PROPOSE: Rule(sees=_own_org, may=_developer_member),
    Permission.AGREEMENT_DECIDE: Rule(sees=_owner_or_party, may=_party_agency_member),
    Permission.AGREEMENT_TERMINATE: Rule(sees=_owner_or_party, may=_member),
    Permission.WINDOW_READ: Rule(sees=_owner_or_party, may=_anyone, where=_where_owner_or_party),
    Permission.WINDOW_OPEN: Rule(sees=_owner_or_party, may=_developer_member),
    Permission.WINDOW_CLOSE: Rule(sees=_owner_or_party, may=_owner_or_party_member),
    Permission.GATEWAY_TOKEN_CREATE: Rule(sees=_owner_or_party, may=_party_agency_member),
    Permission.FINDING_READ: Rule(sees=_owner_or_party, may=_anyone, where=_where_owner_or_party),
    Permission.FINDING_CREATE: Rule(sees=_owner_or_party, may=_party_agency_member),
    Permission.FINDING_RESPOND: Rule(sees=_owner_or_party, may=_responder),
    # A run is its agency's; the developer sees runs on its model, other agencies only when
    # the agreement shares findings between agencies. EVAL_RUN's object is the window.
    Permission.EVAL_READ: Rule(sees=_owner_or_party, may=_anyone, where=_where_owner_or_party),
    Permission.EVAL_RUN: Rule(sees=_owner_or_party, may=_party_agency_member),
    Permission.EVAL_CANCEL: Rule(sees=_owner_or_party, may=_own_org_member),
    Permission.BASELINE_READ: Rule(sees=_own_or_any_agency, may=_anyone),
    Permission.BASELINE_WRITE: Rule(sees=_owner_or_party, may=_agency_member),
    # Program B. Analysts of the clearinghouse see every report; a reporter sees what it
    # submitted and the vulnerabilities its findings joined; vendors see nothing yet.
    Permission.SUBMISSION_READ: Rule(
        sees=_own_or_clearinghouse, may=_anyone, where=_where_own_or_clearinghouse
    ),
    Permission.SUBMISSION_CREATE: Rule(sees=_own_org, may=_reporter),
    Permission.VULN_READ: Rule(
        sees=_own_or_clearinghouse, may=_anyone, where=_where_own_or_clearinghouse
    ),
    Permission.VULN_TRIAGE: Rule(sees=_own_or_clearinghouse, may=_analyst),
    Permission.VULN_MERGE: Rule(sees=_own_or_clearinghouse, may=_analyst),
    Permission.TRIAGE_DATA_LOAD: Rule(sees=_own_or_clearinghouse, may=_clearinghouse_admin),
}


def authorize(actor: Actor, permission: Permission, obj: Any = None) -> None:
    """Raise NotFound when ``obj`` is not visible to ``actor``; Forbidden when the action is not
    allowed; return when it is. ``obj`` is None for actions on a collection (create, list)."""
    rule = RULES.get(permission)
    if rule is None:
        raise Forbidden(f"no rule grants {permission.value}")
    if obj is not None and not rule.sees(actor, obj):
        raise NotFound(f"no such {permission.value.split(':')[1]}")
    if not actor.has_scope(permission):
        raise Forbidden(f"this token's scopes do not include {permission.value}")
    if not rule.may(actor, obj):
        raise Forbidden(f"{actor.email} ({actor.role.value}) may not {permission.value}")


def visible_filter(
    actor: Actor, permission: Permission, columns: OwnerColumns
) -> ColumnElement[bool]:
    """The SQL condition that keeps a list to what ``actor`` may see under ``permission``.

    It checks the token's scope first, so a list needs no separate check."""
    rule = RULES.get(permission)
    if rule is None:
        raise Forbidden(f"no rule grants {permission.value}")
    if not actor.has_scope(permission):
        raise Forbidden(f"this token's scopes do not include {permission.value}")
    return rule.where(actor, columns)
