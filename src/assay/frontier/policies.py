"""Coverage policies: the shipped presets plus the versions an admin adds.

A policy is data (YAML), parsed and evaluated by ``assay.frontier.policy``. The presets
ship in the package; an added version is stored whole, so a determination can always say
exactly which text it used (name, version and sha256).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.core.audit import record_event
from assay.core.authz import Actor, Permission, authorize
from assay.core.clock import Clock
from assay.core.errors import Conflict, NotFound
from assay.frontier.events import FrontierEvent
from assay.frontier.models import PolicyVersion
from assay.frontier.policy import Policy, load_presets, parse_policy


@dataclass(frozen=True)
class StoredPolicy:
    policy: Policy
    shipped: bool

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.policy.source_text.encode()).hexdigest()


def _all_versions(session: Session) -> list[StoredPolicy]:
    found = [StoredPolicy(p, shipped=True) for p in load_presets()]
    for row in session.scalars(select(PolicyVersion)):
        found.append(
            StoredPolicy(parse_policy(row.source_text, f"{row.name}@{row.version}"), False)
        )
    return found


def list_policies(session: Session, *, actor: Actor) -> list[StoredPolicy]:
    """The latest version of every policy, the platform default first."""
    authorize(actor, Permission.POLICY_READ)
    latest: dict[str, StoredPolicy] = {}
    for stored in _all_versions(session):
        current = latest.get(stored.policy.name)
        if current is None or stored.policy.version > current.policy.version:
            latest[stored.policy.name] = stored
    return sorted(latest.values(), key=lambda s: (not s.policy.default, s.policy.name))


def get_policy(
    session: Session, *, actor: Actor, name: str, version: int | None = None
) -> StoredPolicy:
    authorize(actor, Permission.POLICY_READ)
    versions = [s for s in _all_versions(session) if s.policy.name == name]
    if not versions:
        known = ", ".join(s.policy.name for s in list_policies(session, actor=actor))
        raise NotFound(f"no policy named {name!r}; known policies: {known}")
    if version is None:
        return max(versions, key=lambda s: s.policy.version)
    for stored in versions:
        if stored.policy.version == version:
            return stored
    raise NotFound(f"policy {name!r} has no version {version}")


def add_policy(
    session: Session, *, actor: Actor, clock: Clock, source_text: str, source: str = "upload"
) -> StoredPolicy:
    """Add a policy, or a new version of one. Versions only go up; none is ever replaced."""
    authorize(actor, Permission.POLICY_CREATE)
    policy = parse_policy(source_text, source)
    same_name = [s for s in _all_versions(session) if s.policy.name == policy.name]
    newest = max((s.policy.version for s in same_name), default=0)
    if policy.version <= newest:
        raise Conflict(
            f"policy {policy.name!r} already has version {newest}; a new version must be higher"
        )
    stored = StoredPolicy(policy, shipped=False)
    row = PolicyVersion(
        id=uuid.uuid4(),
        name=policy.name,
        version=policy.version,
        source_text=source_text,
        sha256=stored.sha256,
        created_by=actor.user_id,
        created_at=clock.now(),
    )
    session.add(row)
    record_event(
        session,
        clock=clock,
        actor=actor,
        action=FrontierEvent.POLICY_ADDED,
        object_type="policy",
        object_id=row.id,
        details={"name": policy.name, "version": policy.version, "sha256": stored.sha256},
    )
    return stored
