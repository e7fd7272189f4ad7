"""Determinations: outcome, trace, staleness, agency reviews, and policy versions."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from assay.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from assay.frontier import catalog, determinations, policies
from assay.frontier.models import Determination, PolicyVersion, Stance
from assay.frontier.policy import Outcome, preset
from assay.frontier.schemas import ModelUpdate
from tests.factories import actor, make_instance_admin
from tests.frontier_factories import Scenario


def test_a_model_over_the_compute_threshold_is_covered_with_a_full_trace(
    scenario: Scenario,
) -> None:
    s = scenario
    model = s.register(training_flop=3e26)
    result = determinations.determine(
        s.session, actor=s.dev, clock=s.clock, model_id=model.id,
        policy_name="covered-frontier-model",
    )  # fmt: skip
    assert result.outcome == Outcome.COVERED
    assert result.policy_version == preset("covered-frontier-model").version
    assert result.missing == []
    assert all(entry["citation"] for entry in result.trace)
    assert {"rule", "value", "threshold", "result", "citation"} <= set(result.trace[0])


def test_a_missing_fact_that_matters_makes_it_indeterminate_and_is_named(
    scenario: Scenario,
) -> None:
    s = scenario
    model = s.register(training_flop=None)
    result = determinations.determine(
        s.session, actor=s.dev, clock=s.clock, model_id=model.id, policy_name="eo-14110"
    )
    assert result.outcome == Outcome.INDETERMINATE
    assert "training_flop" in result.missing


def test_changing_a_fact_makes_earlier_determinations_stale(scenario: Scenario) -> None:
    s = scenario
    model = s.register(training_flop=5e25, bio_sequence_data=False)
    first = determinations.determine(
        s.session, actor=s.dev, clock=s.clock, model_id=model.id, policy_name="eo-14110"
    )
    assert first.outcome == Outcome.NOT_COVERED and not first.stale
    catalog.update_model(
        s.session, actor=s.dev, clock=s.clock, box=s.box, model_id=model.id,
        data=ModelUpdate(training_flop=2e26),
    )  # fmt: skip
    assert first.stale
    second = determinations.determine(
        s.session, actor=s.dev, clock=s.clock, model_id=model.id, policy_name="eo-14110"
    )
    assert second.outcome == Outcome.COVERED and not second.stale


def test_a_description_change_does_not_make_it_stale(scenario: Scenario) -> None:
    s = scenario
    model = s.register()
    first = determinations.determine(
        s.session, actor=s.dev, clock=s.clock, model_id=model.id, policy_name="eo-14110"
    )
    catalog.update_model(
        s.session, actor=s.dev, clock=s.clock, box=s.box, model_id=model.id,
        data=ModelUpdate(description="now with a longer description"),
    )  # fmt: skip
    assert not first.stale


def test_an_unknown_policy_is_refused_and_nothing_is_written(scenario: Scenario) -> None:
    s = scenario
    model = s.register()
    with pytest.raises(NotFound, match="no policy named 'nope'"):
        determinations.determine(
            s.session, actor=s.dev, clock=s.clock, model_id=model.id, policy_name="nope"
        )
    assert s.session.scalar(select(func.count(Determination.id))) == 0


def test_agencies_party_to_the_model_concur_or_dispute(scenario: Scenario) -> None:
    s = scenario
    model = s.register()
    s.propose(model)
    result = determinations.determine(
        s.session, actor=s.dev, clock=s.clock, model_id=model.id, policy_name="eo-14110"
    )
    determinations.review(
        s.session, actor=s.a, clock=s.clock, determination_id=result.id,
        stance=Stance.CONCUR, rationale="compute figures checked",
    )  # fmt: skip
    determinations.review(
        s.session, actor=s.b, clock=s.clock, determination_id=result.id,
        stance=Stance.DISPUTE, rationale="fine-tuning compute looks understated",
    )  # fmt: skip
    assert [r.stance for r in result.reviews] == [Stance.CONCUR, Stance.DISPUTE]
    with pytest.raises(NotFound):
        determinations.review(
            s.session, actor=s.outsider, clock=s.clock, determination_id=result.id,
            stance=Stance.CONCUR, rationale="?",
        )  # fmt: skip
    with pytest.raises(Forbidden):
        determinations.review(
            s.session, actor=s.dev, clock=s.clock, determination_id=result.id,
            stance=Stance.CONCUR, rationale="we agree with ourselves",
        )  # fmt: skip


def test_an_admin_adds_a_version_and_a_determination_keeps_the_one_it_used(
    scenario: Scenario,
) -> None:
    s = scenario
    admin = actor(make_instance_admin(s.session, s.clock))
    model = s.register(training_flop=5e25, bio_sequence_data=False)
    before = determinations.determine(
        s.session, actor=s.dev, clock=s.clock, model_id=model.id, policy_name="eo-14110"
    )
    text = preset("eo-14110").source_text.replace("version: 1", "version: 2", 1)
    text = text.replace("1.0e26", "1.0e25")
    stored = policies.add_policy(s.session, actor=admin, clock=s.clock, source_text=text)
    assert stored.policy.version == 2
    after = determinations.determine(
        s.session, actor=s.dev, clock=s.clock, model_id=model.id, policy_name="eo-14110"
    )
    assert (before.policy_version, after.policy_version) == (1, 2)
    assert before.policy_sha256 != after.policy_sha256
    with pytest.raises(Conflict, match="must be higher"):
        policies.add_policy(s.session, actor=admin, clock=s.clock, source_text=text)
    with pytest.raises(Forbidden):
        policies.add_policy(s.session, actor=s.dev, clock=s.clock, source_text=text)


def test_a_policy_that_does_not_parse_names_the_file_and_line(scenario: Scenario) -> None:
    s = scenario
    admin = actor(make_instance_admin(s.session, s.clock))
    broken = "name: broken\nversion: 1\nrule:\n  id: r\n  fact: [unclosed\n"
    with pytest.raises(InvalidInput, match=r"broken\.yaml.*line \d+"):
        policies.add_policy(
            s.session, actor=admin, clock=s.clock, source_text=broken, source="broken.yaml"
        )
    assert s.session.scalar(select(func.count(PolicyVersion.id))) == 0
