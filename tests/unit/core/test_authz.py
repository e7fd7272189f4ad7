"""The one authorization module: every permission has a rule, and the rules deny outsiders."""

from __future__ import annotations

import uuid

import pytest

from assay.core.authz import RULES, Actor, OrgKind, Permission, Role, authorize
from assay.core.errors import Forbidden, NotFound


class Thing:
    def __init__(
        self,
        org_id: uuid.UUID,
        user_id: uuid.UUID | None = None,
        parties: frozenset[uuid.UUID] = frozenset(),
    ) -> None:
        self.owner_org_id = org_id
        self.developer_org_id = org_id
        self.user_id = user_id
        self.party_org_ids = parties


# Coverage policies are published rule data: everyone reads them (only admins add them).
PUBLIC = {Permission.POLICY_READ, Permission.POLICY_CREATE}
# A reference model's baseline scores are there for every agency to compare against.
AGENCY_SHARED = {Permission.BASELINE_READ}


def make_actor(
    role: Role = Role.MEMBER, *, admin: bool = False, scopes: frozenset[str] = frozenset({"*"})
) -> Actor:
    return Actor(
        user_id=uuid.uuid4(),
        email="someone@example.org",
        org_id=uuid.uuid4(),
        org_kind=OrgKind.AGENCY,
        role=role,
        is_instance_admin=admin,
        scopes=scopes,
    )


def test_every_permission_has_a_rule() -> None:
    assert set(RULES) == set(Permission)


def test_permissions_are_scope_resource_action() -> None:
    for permission in Permission:
        assert len(permission.value.split(":")) == 3, permission


@pytest.mark.parametrize("permission", sorted(AGENCY_SHARED))
def test_baselines_are_seen_by_agencies_only(permission: Permission) -> None:
    baseline = Thing(uuid.uuid4(), uuid.uuid4())
    authorize(make_actor(Role.VIEWER), Permission.BASELINE_READ, baseline)
    for kind in (OrgKind.DEVELOPER, OrgKind.CLEARINGHOUSE, OrgKind.VENDOR):
        outsider = Actor(
            user_id=uuid.uuid4(), email="x@example.org", org_id=uuid.uuid4(), org_kind=kind,
            role=Role.ADMIN,
        )  # fmt: skip
        with pytest.raises(NotFound):
            authorize(outsider, permission, baseline)
    # Another agency sees a baseline but may not change it.
    with pytest.raises(NotFound):
        authorize(make_actor(Role.ADMIN), Permission.BASELINE_WRITE, baseline)


@pytest.mark.parametrize("permission", sorted(set(Permission) - PUBLIC - AGENCY_SHARED))
def test_another_orgs_object_is_not_found(permission: Permission) -> None:
    """Every rule: a user of another organization (even its admin) cannot see the object."""
    outsider = make_actor(Role.ADMIN)
    with pytest.raises(NotFound):
        authorize(outsider, permission, Thing(uuid.uuid4(), outsider.user_id))


@pytest.mark.parametrize("permission", list(Permission))
def test_the_instance_admin_is_allowed_everything(permission: Permission) -> None:
    authorize(make_actor(Role.ADMIN, admin=True), permission, Thing(uuid.uuid4()))


def test_a_visible_object_without_the_right_is_forbidden() -> None:
    viewer = make_actor(Role.VIEWER)
    with pytest.raises(Forbidden):
        authorize(viewer, Permission.USER_CREATE, Thing(viewer.org_id))
    member = make_actor(Role.MEMBER)
    with pytest.raises(Forbidden):
        authorize(member, Permission.ORG_CREATE)


def test_an_org_admin_may_create_users_in_their_org() -> None:
    admin = make_actor(Role.ADMIN)
    authorize(admin, Permission.USER_CREATE, Thing(admin.org_id))


def test_a_member_sees_only_their_own_tokens() -> None:
    member = make_actor(Role.MEMBER)
    authorize(member, Permission.TOKEN_READ, Thing(member.org_id, member.user_id))
    with pytest.raises(NotFound):
        authorize(member, Permission.TOKEN_READ, Thing(member.org_id, uuid.uuid4()))


def test_a_token_is_limited_to_its_scopes() -> None:
    limited = make_actor(Role.ADMIN, scopes=frozenset({"identity:org:*"}))
    authorize(limited, Permission.ORG_READ, Thing(limited.org_id))
    with pytest.raises(Forbidden):
        authorize(limited, Permission.USER_READ, Thing(limited.org_id))


def test_policies_are_public_but_only_instance_admins_add_them() -> None:
    outsider = make_actor(Role.ADMIN)
    authorize(outsider, Permission.POLICY_READ, Thing(uuid.uuid4()))
    with pytest.raises(Forbidden):
        authorize(outsider, Permission.POLICY_CREATE)


def test_a_party_sees_a_shared_object_and_an_outsider_does_not() -> None:
    agency = make_actor(Role.MEMBER)
    shared = Thing(uuid.uuid4(), parties=frozenset({agency.org_id}))
    authorize(agency, Permission.WINDOW_READ, shared)
    authorize(agency, Permission.GATEWAY_TOKEN_CREATE, shared)
    with pytest.raises(NotFound):
        authorize(make_actor(Role.ADMIN), Permission.WINDOW_READ, shared)


def test_a_party_viewer_may_look_but_not_act() -> None:
    viewer = make_actor(Role.VIEWER)
    shared = Thing(uuid.uuid4(), parties=frozenset({viewer.org_id}))
    authorize(viewer, Permission.MODEL_READ, shared)
    with pytest.raises(Forbidden):
        authorize(viewer, Permission.FINDING_CREATE, shared)


def test_a_developer_cannot_take_an_agencys_part() -> None:
    developer = Actor(
        user_id=uuid.uuid4(),
        email="dev@example.org",
        org_id=uuid.uuid4(),
        org_kind=OrgKind.DEVELOPER,
        role=Role.ADMIN,
    )
    own = Thing(developer.org_id)
    authorize(developer, Permission.WINDOW_OPEN, own)
    for permission in (Permission.GATEWAY_TOKEN_CREATE, Permission.FINDING_CREATE):
        with pytest.raises(Forbidden):
            authorize(developer, permission, own)
