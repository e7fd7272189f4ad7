"""Review windows: every state transition under an injected clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from assay.core.audit import AuditEvent
from assay.core.errors import Conflict, InvalidInput
from assay.frontier import catalog, windows
from assay.frontier.events import FrontierEvent
from assay.frontier.models import ReviewWindow, WindowState
from assay.frontier.schemas import ModelUpdate, WindowCreate
from tests.frontier_factories import Scenario

DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


def events(s: Scenario, action: FrontierEvent) -> list[AuditEvent]:
    return list(s.session.scalars(select(AuditEvent).where(AuditEvent.action == action.value)))


def test_a_window_opens_now_and_expires_exactly_at_open_plus_the_agreed_days(
    scenario: Scenario,
) -> None:
    s = scenario
    opened = s.clock.now()
    window = s.open_window(days=10)
    assert windows.state_of(window, s.clock.now()) == WindowState.OPEN
    assert windows.closes_at(window) == opened + 10 * DAY
    s.clock.set(opened + 10 * DAY - SECOND)
    assert windows.state_of(window, s.clock.now()) == WindowState.OPEN
    assert windows.to_public(window, s.clock.now()).seconds_left == 1
    s.clock.set(opened + 10 * DAY)
    assert windows.state_of(window, s.clock.now()) == WindowState.EXPIRED


def test_a_scheduled_window_opens_on_time(scenario: Scenario) -> None:
    s = scenario
    start = s.clock.now() + 2 * DAY
    window = s.open_window(days=5, at=start)
    assert windows.state_of(window, start - SECOND) == WindowState.SCHEDULED
    assert windows.state_of(window, start) == WindowState.OPEN
    assert windows.closes_at(window) == start + 5 * DAY


def test_the_planned_release_ends_a_window_before_its_days_run_out(scenario: Scenario) -> None:
    s = scenario
    model = s.register(release_in=7 * DAY)
    window = s.open_window(model, days=30)
    assert windows.closes_at(window) == model.planned_release_at
    s.clock.set(model.planned_release_at)
    assert windows.state_of(window, s.clock.now()) == WindowState.EXPIRED


def test_moving_the_release_earlier_shortens_an_open_window_without_approval(
    scenario: Scenario,
) -> None:
    s = scenario
    model = s.register(release_in=40 * DAY)
    window = s.open_window(model, days=30)
    assert windows.closes_at(window) == s.clock.now() + 30 * DAY
    earlier = s.clock.now() + 3 * DAY
    # The developer alone moves the date; no agency is asked.
    catalog.update_model(
        s.session,
        actor=s.dev,
        clock=s.clock,
        box=s.box,
        model_id=model.id,
        data=ModelUpdate(planned_release_at=earlier),
    )
    assert windows.closes_at(window) == earlier
    assert len(events(s, FrontierEvent.WINDOW_SHORTENED)) == 1
    s.clock.set(earlier)
    assert windows.state_of(window, s.clock.now()) == WindowState.EXPIRED


def test_a_release_moved_into_the_past_closes_the_window_at_once(scenario: Scenario) -> None:
    s = scenario
    model = s.register(release_in=40 * DAY)
    window = s.open_window(model, days=30)
    s.clock.advance(DAY)
    catalog.update_model(
        s.session,
        actor=s.dev,
        clock=s.clock,
        box=s.box,
        model_id=model.id,
        data=ModelUpdate(planned_release_at=s.clock.now()),
    )
    assert windows.state_of(window, s.clock.now()) == WindowState.EXPIRED
    assert window.close_recorded_at == s.clock.now()


def test_a_release_moved_later_never_reopens_a_closed_window(scenario: Scenario) -> None:
    s = scenario
    model = s.register(release_in=5 * DAY)
    window = s.open_window(model, days=30)
    s.clock.advance(6 * DAY)
    assert windows.state_of(window, s.clock.now()) == WindowState.EXPIRED
    catalog.update_model(
        s.session,
        actor=s.dev,
        clock=s.clock,
        box=s.box,
        model_id=model.id,
        data=ModelUpdate(planned_release_at=s.clock.now() + 60 * DAY),
    )
    assert windows.state_of(window, s.clock.now()) == WindowState.EXPIRED


def test_the_developer_closes_early_at_once(scenario: Scenario) -> None:
    s = scenario
    window = s.open_window(days=30)
    s.clock.advance(DAY)
    windows.close_window(s.session, actor=s.dev, clock=s.clock, window_id=window.id)
    assert windows.state_of(window, s.clock.now()) == WindowState.CLOSED_EARLY
    assert window.closed_early_by == "developer"
    with pytest.raises(Conflict):
        windows.close_window(s.session, actor=s.dev, clock=s.clock, window_id=window.id)


def test_agencies_close_early_only_all_together(scenario: Scenario) -> None:
    s = scenario
    window = s.open_window(days=30)
    windows.close_window(s.session, actor=s.a, clock=s.clock, window_id=window.id)
    assert windows.state_of(window, s.clock.now()) == WindowState.OPEN
    windows.close_window(s.session, actor=s.b, clock=s.clock, window_id=window.id)
    assert windows.state_of(window, s.clock.now()) == WindowState.CLOSED_EARLY
    assert window.closed_early_by == "agencies"


def test_the_periodic_sweep_records_each_close_once(scenario: Scenario) -> None:
    s = scenario
    window = s.open_window(days=2)
    assert windows.record_closes(s.session, clock=s.clock) == 0
    s.clock.advance(2 * DAY)
    # The state is right before any sweep runs: reading never waits on a job.
    assert windows.state_of(window, s.clock.now()) == WindowState.EXPIRED
    assert windows.record_closes(s.session, clock=s.clock) == 1
    assert windows.record_closes(s.session, clock=s.clock) == 0
    closed = events(s, FrontierEvent.WINDOW_CLOSED)
    assert [e.details["state"] for e in closed] == ["expired"]


def test_a_window_cannot_open_at_or_after_the_planned_release(scenario: Scenario) -> None:
    s = scenario
    model = s.register(release_in=3 * DAY)
    agreement = s.activate(s.propose(model, days=10))
    for start in (model.planned_release_at, model.planned_release_at + DAY):
        with pytest.raises(InvalidInput, match="before the planned release"):
            windows.open_window(
                s.session, actor=s.dev, clock=s.clock, agreement_id=agreement.id, opens_at=start
            )
    assert s.session.scalar(select(func.count(ReviewWindow.id))) == 0


def test_a_window_needs_an_active_agreement_and_opens_once(scenario: Scenario) -> None:
    s = scenario
    model = s.register()
    agreement = s.propose(model, days=10)
    with pytest.raises(Conflict, match="every party has accepted"):
        windows.open_window(s.session, actor=s.dev, clock=s.clock, agreement_id=agreement.id)
    s.activate(agreement)
    windows.open_window(s.session, actor=s.dev, clock=s.clock, agreement_id=agreement.id)
    with pytest.raises(Conflict, match="already has its window"):
        windows.open_window(s.session, actor=s.dev, clock=s.clock, agreement_id=agreement.id)


def test_a_naive_open_time_is_refused() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        WindowCreate.model_validate(
            {
                "agreement_id": "00000000-0000-0000-0000-000000000001",
                "opens_at": "2026-03-05T09:00:00",
            }
        )


def test_terminating_the_agreement_closes_its_window(scenario: Scenario) -> None:
    from assay.frontier import agreements

    s = scenario
    window = s.open_window(days=30)
    agreements.terminate(s.session, actor=s.a, clock=s.clock, agreement_id=window.agreement_id)
    assert windows.state_of(window, s.clock.now()) == WindowState.CLOSED_EARLY
