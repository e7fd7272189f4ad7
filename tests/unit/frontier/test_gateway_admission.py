"""Admission with kept grants and batched metering, without HTTP: ``gate.Gate`` and
``meter.Meter`` on the test's database, with an injected clock and an injected monotonic
clock for the cache's time to live."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from assay.core import migrate
from assay.core.audit import AuditEvent
from assay.core.clock import FrozenClock
from assay.core.db import Database
from assay.core.errors import Forbidden, Unauthenticated
from assay.frontier import catalog, windows
from assay.frontier.events import FrontierEvent
from assay.frontier.gateway import access
from assay.frontier.gateway import gate as gate_module
from assay.frontier.gateway.access import BudgetExhausted, CallSite, Grant
from assay.frontier.gateway.gate import Gate
from assay.frontier.gateway.meter import CallRow, Meter
from assay.frontier.models import GatewayCall, GatewayToken, ReviewWindow
from assay.frontier.schemas import ModelUpdate
from tests.conftest import T0, RollbackDatabase
from tests.frontier_factories import API_KEY, Scenario

CHAT = "chat.completions"


class Ticker:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticker() -> Ticker:
    return Ticker()


@pytest.fixture
def meter(db: RollbackDatabase, clock: FrozenClock) -> Meter:
    return Meter(db, clock=clock)


@pytest.fixture
def gate(db: RollbackDatabase, clock: FrozenClock, meter: Meter, ticker: Ticker) -> Gate:
    return Gate(db, clock=clock, meter=meter, ttl=1.0, monotonic=ticker)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every database read admission makes, by token."""
    seen: list[str] = []
    real = gate_module.look_up

    def counted(session: Any, *, token: str, now: Any) -> access.Found:
        seen.append(token)
        return real(session, token=token, now=now)

    monkeypatch.setattr(gate_module, "look_up", counted)
    return seen


def open_token(s: Scenario, **terms: Any) -> tuple[ReviewWindow, str]:
    model = s.register(endpoint_url="http://127.0.0.1:9/v1")
    window = s.open_window(model, days=10, **terms)
    issued = access.issue_token(s.session, actor=s.a, clock=s.clock, window_id=window.id)
    s.session.commit()
    return window, issued.token


def admit(gate: Gate, token: str) -> Grant:
    return gate.admit(token, endpoint=CHAT, requested_model=None)


def kept(gate: Gate, token: str) -> Grant | None:
    return gate.admit_kept(token, endpoint=CHAT, requested_model=None)


def finished(meter: Meter, grant: Grant, clock: FrozenClock, tokens: tuple[int, int]) -> None:
    meter.record(
        grant,
        CallRow(
            site=grant.site,
            endpoint=CHAT,
            status=200,
            created_at=clock.now(),
            upstream_status=200,
            prompt_tokens=tokens[0],
            completion_tokens=tokens[1],
            latency_ms=1.5,
        ),
    )


def rows(s: Scenario, window_id: uuid.UUID | None = None) -> list[GatewayCall]:
    s.session.expire_all()
    query = select(GatewayCall).order_by(GatewayCall.created_at)
    if window_id is not None:
        query = query.where(GatewayCall.window_id == window_id)
    return list(s.session.scalars(query))


# -- kept grants ---------------------------------------------------------------------------


def test_a_kept_grant_is_used_without_a_read_and_ends_exactly_at_the_close(
    scenario: Scenario, gate: Gate, reads: list[str]
) -> None:
    s = scenario
    window, token = open_token(s)
    grant = admit(gate, token)
    assert grant.closes_at == window.opens_at + timedelta(days=10)
    assert reads == [token]

    s.clock.set(grant.closes_at - timedelta(microseconds=1))
    assert kept(gate, token) == grant
    assert reads == [token]  # no second read

    s.clock.set(grant.closes_at)  # the close, to the microsecond of the injected clock
    assert kept(gate, token) is None
    with pytest.raises(Forbidden, match="expired"):
        admit(gate, token)


def test_a_kept_grant_lasts_at_most_its_time_to_live(
    scenario: Scenario, gate: Gate, reads: list[str], ticker: Ticker
) -> None:
    _, token = open_token(scenario)
    admit(gate, token)
    ticker.now += 0.999
    assert kept(gate, token) is not None
    ticker.now += 0.001
    assert kept(gate, token) is None
    admit(gate, token)
    assert len(reads) == 2


def test_the_time_to_live_is_at_most_one_second(db: RollbackDatabase, meter: Meter) -> None:
    with pytest.raises(ValueError, match=r"0 to 1\.0 s"):
        Gate(db, clock=FrozenClock(T0), meter=meter, ttl=1.5)


def test_an_early_close_in_this_process_takes_effect_at_once(
    scenario: Scenario, gate: Gate
) -> None:
    s = scenario
    window, token = open_token(s)
    admit(gate, token)
    windows.close_window(s.session, actor=s.dev, clock=s.clock, window_id=window.id)
    s.session.commit()
    # The ticker has not moved: the commit, not the time to live, dropped the grant.
    assert kept(gate, token) is None
    with pytest.raises(Forbidden, match="closed_early"):
        admit(gate, token)


def test_a_change_made_elsewhere_takes_effect_within_the_time_to_live(
    scenario: Scenario, gate: Gate, ticker: Ticker
) -> None:
    """A statement on the bare connection passes no session of this process, as a change
    made by another process would: the kept grant is used until its time is up."""
    s = scenario
    window, token = open_token(s)
    admit(gate, token)
    s.session.connection().execute(
        update(ReviewWindow.__table__)
        .where(ReviewWindow.__table__.c.id == window.id)
        .values(closed_early_at=s.clock.now(), closed_early_by="developer")
    )
    s.session.commit()
    assert kept(gate, token) is not None
    ticker.now += 1.0
    assert kept(gate, token) is None
    with pytest.raises(Forbidden, match="closed_early"):
        admit(gate, token)


def test_a_release_moved_earlier_moves_the_kept_close(scenario: Scenario, gate: Gate) -> None:
    s = scenario
    window, token = open_token(s)
    admit(gate, token)
    release = s.clock.now() + timedelta(days=2)
    catalog.update_model(
        s.session, actor=s.dev, clock=s.clock, box=s.box, model_id=window.model_id,
        data=ModelUpdate(planned_release_at=release),
    )  # fmt: skip
    s.session.commit()
    assert kept(gate, token) is None
    assert admit(gate, token).closes_at == release
    s.clock.set(release)
    assert kept(gate, token) is None
    with pytest.raises(Forbidden, match="expired"):
        admit(gate, token)


def test_a_revoked_token_and_an_ended_agreement_take_effect_at_once(
    scenario: Scenario, gate: Gate
) -> None:
    from assay.frontier import agreements

    s = scenario
    _, revoked = open_token(s)
    window, ended = open_token(s)
    admit(gate, revoked)
    admit(gate, ended)
    row = s.session.scalar(
        select(GatewayToken).where(GatewayToken.token_hash == access.token_hash(revoked))
    )
    assert row is not None
    row.revoked_at = s.clock.now()
    s.session.commit()
    with pytest.raises(Unauthenticated):
        admit(gate, revoked)
    assert kept(gate, ended) is None  # any such commit drops every kept grant
    admit(gate, ended)
    agreements.terminate(s.session, actor=s.b, clock=s.clock, agreement_id=window.agreement_id)
    s.session.commit()
    with pytest.raises(Forbidden, match="closed_early"):
        admit(gate, ended)


def test_the_model_is_checked_on_every_call_kept_or_not(scenario: Scenario, gate: Gate) -> None:
    window, token = open_token(scenario)
    admit(gate, token)
    name = window.model.name
    for model in (name, f"{name}@{window.model.version}", str(window.id)):
        assert gate.admit_kept(token, endpoint=CHAT, requested_model=model) is not None
    with pytest.raises(Forbidden, match="cannot reach 'other'"):
        gate.admit_kept(token, endpoint=CHAT, requested_model="other")


# -- budgets -------------------------------------------------------------------------------


def test_a_call_budget_counts_calls_in_flight_and_survives_a_restart(
    scenario: Scenario, db: RollbackDatabase, gate: Gate, meter: Meter
) -> None:
    s = scenario
    window, token = open_token(s, budget_calls=2)
    first, second = admit(gate, token), kept(gate, token)
    assert second is not None
    # Nothing is recorded yet; the two calls in flight already spend the budget.
    with pytest.raises(BudgetExhausted, match="allows 2 calls"):
        kept(gate, token)
    finished(meter, first, s.clock, (10, 20))
    finished(meter, second, s.clock, (1, 2))
    assert meter.usage(window.id) == (2, 33, 0)
    assert meter.flush() == 3  # the two calls and the refusal
    s.session.refresh(window)
    assert (window.metered_calls, window.metered_tokens) == (2, 33)
    # A new process knows nothing in memory: the window's totals refuse the next call.
    fresh = Gate(db, clock=s.clock, meter=Meter(db, clock=s.clock))
    with pytest.raises(BudgetExhausted):
        fresh.admit(token, endpoint=CHAT, requested_model=None)


def test_a_token_budget_refuses_once_the_recorded_tokens_reach_it(
    scenario: Scenario, gate: Gate, meter: Meter
) -> None:
    s = scenario
    _, token = open_token(s, budget_tokens=100)
    grant = admit(gate, token)
    finished(meter, grant, s.clock, (70, 40))
    with pytest.raises(BudgetExhausted, match="allows 100 tokens; 110 are used"):
        kept(gate, token)


def test_the_model_list_is_checked_against_the_budget_but_not_counted(
    scenario: Scenario, gate: Gate, meter: Meter
) -> None:
    window, token = open_token(scenario, budget_calls=1)
    for _ in range(3):
        gate.admit(token, endpoint="models", requested_model=None, forward=False)
    assert meter.usage(window.id) == (0, 0, 0)


# -- batched metering ----------------------------------------------------------------------


def test_rows_are_written_in_one_batch_with_the_totals_and_audited_refusals(
    scenario: Scenario, gate: Gate, meter: Meter
) -> None:
    s = scenario
    window, token = open_token(s)
    for _ in range(3):
        grant = kept(gate, token) or admit(gate, token)
        finished(meter, grant, s.clock, (5, 7))
    refused_at = s.clock.now()
    with pytest.raises(Forbidden):
        gate.admit_kept(token, endpoint=CHAT, requested_model="another-model")
    with pytest.raises(Unauthenticated):
        admit(gate, "assay_gw_not-a-token")
    assert rows(s) == []  # nothing written yet
    s.clock.advance(timedelta(seconds=30))

    assert meter.flush() == 5
    written = rows(s)
    forwarded = [r for r in written if r.refusal is None]
    assert [(r.status, r.prompt_tokens, r.completion_tokens) for r in forwarded] == [
        (200, 5, 7)
    ] * 3
    assert all(r.org_id == s.agency_a.id and r.window_id == window.id for r in forwarded)
    refusals = sorted((r for r in written if r.refusal), key=lambda r: r.status)
    assert [r.status for r in refusals] == [401, 403]
    assert refusals[0].window_id is None and refusals[1].window_id == window.id
    s.session.refresh(window)
    assert (window.metered_calls, window.metered_tokens) == (3, 36)
    events = s.session.scalars(
        select(AuditEvent).where(AuditEvent.action == FrontierEvent.GATEWAY_REFUSED.value)
    ).all()
    assert len(events) == 2
    assert {e.occurred_at for e in events} == {refused_at}  # when refused, not when written
    assert meter.flush() == 0


def test_a_batch_that_fails_to_write_is_kept_and_written_later(
    scenario: Scenario, meter: Meter, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = scenario
    meter.refuse(CallSite(), CHAT, Unauthenticated("unknown or revoked gateway token"))

    def broken(*_args: object) -> None:
        raise RuntimeError("the database is away")

    with monkeypatch.context() as patch:
        patch.setattr(meter, "_write", broken)
        with pytest.raises(RuntimeError):
            meter.flush()
    assert meter.pending() == 1
    assert meter.flush() == 1
    assert len(rows(s)) == 1


@pytest.fixture
def own_db(fresh_database_url: str) -> Iterator[Database]:
    """A database of its own, since the writer thread writes whenever it likes."""
    db = Database.from_url(fresh_database_url)
    migrate.upgrade(db.engine)
    yield db
    db.dispose()


def _count(db: Database) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(GatewayCall)) or 0


def test_the_writer_thread_writes_on_its_own_and_close_writes_the_rest(
    own_db: Database, clock: FrozenClock
) -> None:
    meter = Meter(own_db, clock=clock)
    refusal = Unauthenticated("unknown or revoked gateway token")
    meter.start(0.01)
    try:
        for _ in range(3):
            meter.refuse(CallSite(), CHAT, refusal)
        deadline = time.monotonic() + 10
        while _count(own_db) < 3:
            assert time.monotonic() < deadline, "the writer did not write"
            time.sleep(0.01)
    finally:
        meter.close()
    meter.start(3600)  # it would not write again for an hour
    for _ in range(2):
        meter.refuse(CallSite(), CHAT, refusal)
    meter.close()  # an orderly shutdown writes what is queued
    assert _count(own_db) == 5
    assert not meter.running
    meter.refuse(CallSite(), CHAT, refusal)  # after the close (a stream cut at shutdown)
    assert _count(own_db) == 6


def test_a_failing_write_is_logged_without_the_key_and_retried(
    own_db: Database, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    meter = Meter(own_db, clock=clock)
    failures: list[int] = []
    real = meter._write

    def flaky(*args: Any) -> Any:
        if not failures:
            failures.append(1)
            raise RuntimeError("the database is away")
        return real(*args)

    meter._write = flaky  # type: ignore[method-assign]
    caplog.set_level(logging.DEBUG)
    meter.refuse(CallSite(), CHAT, Unauthenticated("unknown or revoked gateway token"))
    meter.start(0.01)
    try:
        deadline = time.monotonic() + 10
        while _count(own_db) < 1:
            assert time.monotonic() < deadline, "the batch was not retried"
            time.sleep(0.01)
    finally:
        meter.close()
    assert "could not be written" in caplog.text
    assert API_KEY not in caplog.text


def test_rows_wait_for_the_interval_while_calls_go_on_and_not_once_the_gateway_is_quiet(
    own_db: Database, clock: FrozenClock
) -> None:
    meter = Meter(own_db, clock=clock)
    refusal = Unauthenticated("unknown or revoked gateway token")
    busy = Grant(
        token_id=uuid.uuid4(), window_id=uuid.uuid4(), org_id=uuid.uuid4(), model_name="m",
        model_names=frozenset({"m"}), endpoint_url=None, endpoint_model="m",
        api_key_encrypted=None, closes_at=clock.now() + timedelta(days=1),
        budget_calls=None, budget_tokens=None,
    )  # fmt: skip
    meter.start(3600, quiet=0.01)
    try:
        meter.take(busy)  # a call in flight
        meter.refuse(CallSite(), CHAT, refusal)
        time.sleep(0.2)
        assert _count(own_db) == 0  # batched: the gateway is busy
    finally:
        meter.close()
    assert _count(own_db) == 1

    quiet = Meter(own_db, clock=clock)
    quiet.start(3600, quiet=0.01)
    try:
        quiet.refuse(CallSite(), CHAT, refusal)  # nothing in flight: the gateway is quiet
        deadline = time.monotonic() + 10
        while _count(own_db) < 2:
            assert time.monotonic() < deadline, "a quiet gateway's row waited for the interval"
            time.sleep(0.01)
    finally:
        quiet.close()
