"""A review scenario for frontier tests: a developer, two agencies, an outsider, a model.

Everything is made through the services, as users make it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from assay.core.authz import Actor, OrgKind, Role
from assay.core.clock import FrozenClock
from assay.core.crypto import SecretBox
from assay.frontier import agreements, catalog, windows
from assay.frontier.models import Agreement, Domain, FrontierModel, ReviewWindow
from assay.frontier.schemas import AgreementCreate, ModelCreate
from assay.identity.models import Organization, User
from tests.factories import actor, make_org, make_user

API_KEY = "sk-developer-secret-7f3a9c2e1b"


@dataclass
class Scenario:
    session: Session
    clock: FrozenClock
    box: SecretBox
    developer: Organization
    dev_user: User
    agency_a: Organization
    agency_a_user: User
    agency_b: Organization
    agency_b_user: User
    outsider_agency: Organization
    outsider_agency_user: User
    other_developer: Organization
    other_dev_user: User
    extras: dict[str, object] = field(default_factory=dict)

    @property
    def dev(self) -> Actor:
        return actor(self.dev_user)

    @property
    def a(self) -> Actor:
        return actor(self.agency_a_user)

    @property
    def b(self) -> Actor:
        return actor(self.agency_b_user)

    @property
    def outsider(self) -> Actor:
        return actor(self.outsider_agency_user)

    @property
    def other_dev(self) -> Actor:
        return actor(self.other_dev_user)

    def register(
        self,
        *,
        release_in: timedelta = timedelta(days=60),
        endpoint_url: str | None = None,
        **facts: object,
    ) -> FrontierModel:
        data = ModelCreate.model_validate(
            {
                "name": f"frontier-{len(self.extras)}",
                "version": "1.0",
                "planned_release_at": self.clock.now() + release_in,
                "training_flop": 3e26,
                "endpoint_url": endpoint_url,
                "endpoint_model": "assay-stand-in" if endpoint_url else None,
                "api_key": API_KEY,
                **facts,
            }
        )
        self.extras[str(len(self.extras))] = data
        return catalog.register_model(
            self.session, actor=self.dev, clock=self.clock, box=self.box, data=data
        )

    def propose(
        self,
        model: FrontierModel,
        *,
        days: int = 30,
        agencies: list[Organization] | None = None,
        **terms: object,
    ) -> Agreement:
        data = AgreementCreate.model_validate(
            {
                "model_id": model.id,
                "agencies": [o.id for o in (agencies or [self.agency_a, self.agency_b])],
                "domains": [Domain.CYBER, Domain.CHEM_BIO],
                "review_days": days,
                **terms,
            }
        )
        return agreements.propose(self.session, actor=self.dev, clock=self.clock, data=data)

    def activate(self, agreement: Agreement) -> Agreement:
        for party in (self.a, self.b):
            if agreement.party(party.org_id) is not None:
                agreements.decide(
                    self.session,
                    actor=party,
                    clock=self.clock,
                    agreement_id=agreement.id,
                    accept=True,
                )
        return agreement

    def open_window(
        self,
        model: FrontierModel | None = None,
        *,
        days: int = 30,
        at: datetime | None = None,
        **terms: Any,
    ) -> ReviewWindow:
        model = model or self.register()
        agreement = self.activate(self.propose(model, days=days, **terms))
        return windows.open_window(
            self.session, actor=self.dev, clock=self.clock, agreement_id=agreement.id, opens_at=at
        )


def make_scenario(session: Session, clock: FrozenClock, box: SecretBox) -> Scenario:
    developer = make_org(session, clock, OrgKind.DEVELOPER)
    agency_a = make_org(session, clock, OrgKind.AGENCY)
    agency_b = make_org(session, clock, OrgKind.AGENCY)
    outsider = make_org(session, clock, OrgKind.AGENCY)
    other_dev = make_org(session, clock, OrgKind.DEVELOPER)
    return Scenario(
        session=session,
        clock=clock,
        box=box,
        developer=developer,
        dev_user=make_user(session, clock, developer, Role.MEMBER),
        agency_a=agency_a,
        agency_a_user=make_user(session, clock, agency_a, Role.MEMBER),
        agency_b=agency_b,
        agency_b_user=make_user(session, clock, agency_b, Role.MEMBER),
        outsider_agency=outsider,
        outsider_agency_user=make_user(session, clock, outsider, Role.MEMBER),
        other_developer=other_dev,
        other_dev_user=make_user(session, clock, other_dev, Role.MEMBER),
    )
