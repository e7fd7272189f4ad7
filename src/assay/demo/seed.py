"""Seed data for ``assay demo``: the organizations of the executive order and their users.

Every organization and user is made through the identity service, as an administrator
would make them, so the demo exercises the same rules as real use.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session

from assay.core.authz import OrgKind, Role
from assay.core.clock import Clock
from assay.identity import service as identity


@dataclass(frozen=True)
class DemoOrg:
    name: str
    kind: OrgKind
    domain: str
    member_title: str
    """What the organization's member user does, for the credentials table."""


DEMO_ORGS: tuple[DemoOrg, ...] = (
    DemoOrg(
        "AI Cybersecurity Clearinghouse", OrgKind.CLEARINGHOUSE, "clearinghouse.demo", "analyst"
    ),
    DemoOrg("Department of the Treasury", OrgKind.AGENCY, "treasury.demo", "evaluator"),
    DemoOrg("Department of Defense", OrgKind.AGENCY, "defense.demo", "evaluator"),
    DemoOrg("Department of Commerce", OrgKind.AGENCY, "commerce.demo", "evaluator"),
    DemoOrg("Department of Homeland Security / CISA", OrgKind.AGENCY, "cisa.demo", "evaluator"),
    DemoOrg("Northwind AI", OrgKind.DEVELOPER, "northwind-ai.demo", "engineer"),
    DemoOrg("Helix Labs", OrgKind.DEVELOPER, "helix-labs.demo", "engineer"),
    DemoOrg("Open Parsers Foundation", OrgKind.VENDOR, "openparsers.demo", "maintainer"),
    DemoOrg("Tessera Software", OrgKind.VENDOR, "tessera.demo", "maintainer"),
    DemoOrg(
        "State of Franklin Office of Cybersecurity", OrgKind.OPERATOR, "franklin.demo", "analyst"
    ),
    DemoOrg("Riverside Water Authority", OrgKind.OPERATOR, "riverside-water.demo", "engineer"),
    DemoOrg("Independent Security Researchers", OrgKind.REPORTER, "researchers.demo", "researcher"),
)

INSTANCE_ADMIN_EMAIL = "admin@clearinghouse.demo"


@dataclass(frozen=True)
class Credential:
    org: str
    kind: str
    email: str
    role: str
    password: str


def _title(spec: DemoOrg, role: Role) -> str:
    return spec.member_title.title() if role is Role.MEMBER else "Admin"


def _password() -> str:
    return secrets.token_urlsafe(12)


def seed(session: Session, *, clock: Clock) -> list[Credential]:
    """Create the demo organizations and users; return their one-time credentials."""
    first = DEMO_ORGS[0]
    admin_password = _password()
    installation = identity.initialize_instance(
        session,
        clock=clock,
        org_name=first.name,
        org_kind=first.kind,
        admin_email=INSTANCE_ADMIN_EMAIL,
        admin_password=admin_password,
    )
    admin = identity.actor_for(installation.admin)
    creds = [
        Credential(first.name, first.kind, INSTANCE_ADMIN_EMAIL, "admin (instance)", admin_password)
    ]
    for spec in DEMO_ORGS:
        org = (
            installation.org
            if spec is first
            else identity.create_organization(
                session, actor=admin, clock=clock, name=spec.name, kind=spec.kind
            )
        )
        users = [(f"{spec.member_title}@{spec.domain}", Role.MEMBER)]
        if spec is not first:
            users.insert(0, (f"admin@{spec.domain}", Role.ADMIN))
        for email, role in users:
            password = _password()
            identity.create_user(
                session,
                actor=admin,
                clock=clock,
                org_id=org.id,
                email=email,
                name=f"{_title(spec, role)}, {spec.name}",
                role=role,
                password=password,
            )
            creds.append(Credential(spec.name, spec.kind, email, role.value, password))
    return creds
