"""Testing agreements: proposal, each party's decision, versions, the 30-day limit."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from assay.core.errors import Conflict, InvalidInput, NotFound
from assay.frontier import agreements
from assay.frontier.models import Agreement, AgreementState, Decision, PartyRole
from assay.frontier.schemas import AgreementCreate
from tests.frontier_factories import Scenario


def count(s: Scenario) -> int:
    return s.session.scalar(select(func.count(Agreement.id))) or 0


@pytest.mark.parametrize("days", [0, 31, 45, 365])
def test_a_review_outside_1_to_30_days_is_refused_and_nothing_is_written(
    scenario: Scenario, days: int
) -> None:
    s = scenario
    model = s.register()
    with pytest.raises(ValidationError, match=r"30|1"):
        s.propose(model, days=days)
    # The service checks again, for any door that builds terms another way.
    with pytest.raises(InvalidInput, match="1 to 30 days"):
        agreements.check_days(days)
    assert count(s) == 0


@pytest.mark.parametrize("days", [1, 30])
def test_the_limits_themselves_are_allowed(scenario: Scenario, days: int) -> None:
    s = scenario
    agreement = s.propose(s.register(), days=days)
    assert agreement.review_days == days


def test_every_agency_accepting_makes_it_active_with_each_user_and_time(
    scenario: Scenario,
) -> None:
    s = scenario
    agreement = s.propose(s.register())
    assert agreement.state == AgreementState.PROPOSED
    developer = agreement.party(s.developer.id)
    assert developer is not None and developer.role == PartyRole.DEVELOPER
    assert developer.decision == Decision.ACCEPTED and developer.decided_by == s.dev_user.id
    agreements.decide(s.session, actor=s.a, clock=s.clock, agreement_id=agreement.id, accept=True)
    assert agreement.state == AgreementState.PROPOSED
    s.clock.advance(__import__("datetime").timedelta(hours=3))
    agreements.decide(s.session, actor=s.b, clock=s.clock, agreement_id=agreement.id, accept=True)
    assert agreement.state == AgreementState.ACTIVE
    b = agreement.party(s.agency_b.id)
    assert b is not None and b.decided_by == s.agency_b_user.id and b.decided_at == s.clock.now()
    assert agreement.activated_at == s.clock.now()


def test_one_agency_declining_ends_it(scenario: Scenario) -> None:
    s = scenario
    agreement = s.propose(s.register())
    agreements.decide(
        s.session, actor=s.a, clock=s.clock, agreement_id=agreement.id, accept=False, reason="no"
    )
    assert agreement.state == AgreementState.DECLINED
    with pytest.raises(Conflict):
        agreements.decide(
            s.session, actor=s.b, clock=s.clock, agreement_id=agreement.id, accept=True
        )


def test_a_party_decides_once(scenario: Scenario) -> None:
    s = scenario
    agreement = s.propose(s.register())
    agreements.decide(s.session, actor=s.a, clock=s.clock, agreement_id=agreement.id, accept=True)
    with pytest.raises(Conflict, match="already"):
        agreements.decide(
            s.session, actor=s.a, clock=s.clock, agreement_id=agreement.id, accept=False
        )


def test_an_agency_not_named_cannot_see_or_answer(scenario: Scenario) -> None:
    s = scenario
    agreement = s.propose(s.register())
    with pytest.raises(NotFound):
        agreements.decide(
            s.session, actor=s.outsider, clock=s.clock, agreement_id=agreement.id, accept=True
        )


def test_only_agencies_can_be_named(scenario: Scenario) -> None:
    s = scenario
    model = s.register()
    data = AgreementCreate.model_validate(
        {"model_id": model.id, "agencies": [s.other_developer.id], "domains": ["cyber"],
         "review_days": 10}
    )  # fmt: skip
    with pytest.raises(InvalidInput, match="not an agency"):
        agreements.propose(s.session, actor=s.dev, clock=s.clock, data=data)


def test_changed_terms_are_a_new_version_that_supersedes_the_old(scenario: Scenario) -> None:
    s = scenario
    model = s.register()
    first = s.propose(model, days=20)
    agreements.decide(s.session, actor=s.a, clock=s.clock, agreement_id=first.id, accept=True)
    second = s.propose(model, days=25, supersedes=first.id)
    assert second.version == 2 and second.supersedes_id == first.id
    assert first.state == AgreementState.TERMINATED
    assert first.review_days == 20  # the accepted terms are untouched
    assert first.end_reason == "superseded by version 2"


def test_terms_of_a_version_with_an_open_window_cannot_be_replaced(scenario: Scenario) -> None:
    s = scenario
    window = s.open_window(days=10)
    with pytest.raises(Conflict, match="close it before"):
        s.propose(window.model, days=12, supersedes=window.agreement_id)


def test_a_developer_cannot_propose_for_another_developers_model(scenario: Scenario) -> None:
    s = scenario
    model = s.register()
    data = AgreementCreate.model_validate(
        {"model_id": model.id, "agencies": [s.agency_a.id], "domains": ["cyber"], "review_days": 5}
    )
    with pytest.raises(NotFound):
        agreements.propose(s.session, actor=s.other_dev, clock=s.clock, data=data)
