"""Loading KEV and EPSS into the database: counts, audit, authorization, all-or-nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import orjson
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from assay.clearinghouse.triage import load
from assay.clearinghouse.triage.events import TriageEvent
from assay.clearinghouse.triage.load import LoadReport, enrichment, load_epss, load_kev
from assay.clearinghouse.triage.models import EpssScoreRow, KevEntryRow
from assay.core.audit import AuditEvent, verify_chain
from assay.core.authz import Actor, OrgKind, Role
from assay.core.clock import FrozenClock
from assay.core.errors import Forbidden, InvalidInput
from tests.factories import actor, make_instance_admin, make_org, make_user
from tests.unit.clearinghouse.triage.support import EPSS_FIXTURE

KEV_NAME = "known_exploited_vulnerabilities.json"
EPSS_NAME = "epss_scores-2025-08-25.csv"


@pytest.fixture
def admin(session: Session, clock: FrozenClock) -> Actor:
    return actor(make_instance_admin(session, clock))


def _count(session: Session, model: type[KevEntryRow] | type[EpssScoreRow]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _events(session: Session, action: TriageEvent) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.action == action.value).order_by(AuditEvent.seq)
        )
    )


def test_the_real_catalog_loads_then_reloads_unchanged(
    session: Session, clock: FrozenClock, admin: Actor, kev_json: bytes, kev_csv: bytes
) -> None:
    first = load_kev(session, actor=admin, clock=clock, data=kev_json, source_name=KEV_NAME)
    assert first == LoadReport(
        kind="kev",
        source_name=KEV_NAME,
        version="2025.08.25",
        total=1404,
        added=1404,
        updated=0,
        unchanged=0,
    )
    assert _count(session, KevEntryRow) == 1404
    row = session.scalars(select(KevEntryRow).where(KevEntryRow.cve_id == "CVE-2025-48384")).one()
    assert (row.vendor, row.product, row.date_added) == ("Git", "Git", date(2025, 8, 25))
    assert row.cwes == ["CWE-59", "CWE-436"]
    assert (row.catalog_version, row.loaded_at) == ("2025.08.25", clock.now())

    clock.advance(timedelta(days=1))
    again = load_kev(session, actor=admin, clock=clock, data=kev_csv, source_name="kev.csv")
    assert (again.added, again.updated, again.unchanged) == (0, 0, 1404)
    session.refresh(row)
    assert row.loaded_at == clock.now() - timedelta(days=1)  # unchanged rows are not rewritten


def test_a_changed_entry_is_updated_and_a_new_one_added(
    session: Session, clock: FrozenClock, admin: Actor, kev_json: bytes
) -> None:
    load_kev(session, actor=admin, clock=clock, data=kev_json, source_name=KEV_NAME)
    document = orjson.loads(kev_json)
    document["catalogVersion"] = "2025.08.26"
    document["vulnerabilities"][5]["knownRansomwareCampaignUse"] = "Known"
    changed_cve = document["vulnerabilities"][5]["cveID"]
    document["vulnerabilities"].insert(
        0, dict(document["vulnerabilities"][0], cveID="CVE-2025-99999")
    )
    document["count"] += 1
    clock.advance(timedelta(days=1))
    report = load_kev(
        session, actor=admin, clock=clock, data=orjson.dumps(document), source_name=KEV_NAME
    )
    assert (report.total, report.added, report.updated, report.unchanged) == (1405, 1, 1, 1403)
    changed = session.scalars(select(KevEntryRow).where(KevEntryRow.cve_id == changed_cve)).one()
    assert changed.known_ransomware is True
    assert (changed.catalog_version, changed.loaded_at) == ("2025.08.26", clock.now())
    assert _count(session, KevEntryRow) == 1405


def test_each_load_is_audited_with_its_counts(
    session: Session, clock: FrozenClock, admin: Actor, kev_json: bytes
) -> None:
    load_kev(session, actor=admin, clock=clock, data=kev_json, source_name=KEV_NAME)
    load_epss(session, actor=admin, clock=clock, data=EPSS_FIXTURE, source_name=EPSS_NAME)
    (kev_event,) = _events(session, TriageEvent.KEV_LOADED)
    assert (kev_event.object_type, kev_event.object_id) == ("kev", "2025.08.25")
    assert kev_event.actor_user_id == admin.user_id
    assert kev_event.details == {
        "source_name": KEV_NAME,
        "total": 1404,
        "added": 1404,
        "updated": 0,
        "unchanged": 0,
        "format": "json",
        "released": "2025-08-25T17:04:19.9796Z",
    }
    (epss_event,) = _events(session, TriageEvent.EPSS_LOADED)
    assert (epss_event.object_type, epss_event.object_id) == ("epss", "2025-08-25")
    assert epss_event.details["added"] == 8
    assert epss_event.details["model_version"] == "v2025.03.14"
    assert verify_chain(session, actor=None).ok


def test_only_a_clearinghouse_admin_may_load(
    session: Session, clock: FrozenClock, kev_json: bytes
) -> None:
    clearinghouse = make_org(session, clock, OrgKind.CLEARINGHOUSE)
    analyst = actor(make_user(session, clock, clearinghouse, Role.MEMBER))
    vendor_admin = actor(
        make_user(session, clock, make_org(session, clock, OrgKind.VENDOR), Role.ADMIN)
    )
    for who in (analyst, vendor_admin):
        with pytest.raises(Forbidden, match="clearinghouse:triage_data:load"):
            load_kev(session, actor=who, clock=clock, data=kev_json, source_name=KEV_NAME)
        with pytest.raises(Forbidden):
            load_epss(session, actor=who, clock=clock, data=EPSS_FIXTURE, source_name=EPSS_NAME)
    assert _count(session, KevEntryRow) == _count(session, EpssScoreRow) == 0
    ch_admin = actor(make_user(session, clock, clearinghouse, Role.ADMIN))
    report = load_epss(
        session, actor=ch_admin, clock=clock, data=EPSS_FIXTURE, source_name=EPSS_NAME
    )
    assert report.added == 8


def test_bad_input_writes_nothing(
    session: Session, clock: FrozenClock, admin: Actor, kev_json: bytes
) -> None:
    document = orjson.loads(kev_json)
    document["vulnerabilities"][1300]["dueDate"] = "soon"
    with pytest.raises(InvalidInput) as caught:
        load_kev(
            session, actor=admin, clock=clock, data=orjson.dumps(document), source_name=KEV_NAME
        )
    assert caught.value.errors[0].field == f"{KEV_NAME}#/vulnerabilities/1300/dueDate"
    bad_epss = EPSS_FIXTURE.replace(b"0.94358", b"94.358")
    with pytest.raises(InvalidInput) as caught:
        load_epss(session, actor=admin, clock=clock, data=bad_epss, source_name=EPSS_NAME)
    assert caught.value.errors[0].field == f"{EPSS_NAME}:3:epss"
    assert _count(session, KevEntryRow) == _count(session, EpssScoreRow) == 0
    assert _events(session, TriageEvent.KEV_LOADED) == []
    assert _events(session, TriageEvent.EPSS_LOADED) == []


def test_epss_reloads_count_updates_and_a_new_day_updates_every_row(
    session: Session, clock: FrozenClock, admin: Actor
) -> None:
    load_epss(session, actor=admin, clock=clock, data=EPSS_FIXTURE, source_name=EPSS_NAME)
    same = load_epss(session, actor=admin, clock=clock, data=EPSS_FIXTURE, source_name=EPSS_NAME)
    assert (same.added, same.updated, same.unchanged) == (0, 0, 8)
    moved = EPSS_FIXTURE.replace(b"0.00335,0.55853", b"0.00412,0.60110")
    one = load_epss(session, actor=admin, clock=clock, data=moved, source_name=EPSS_NAME)
    assert (one.added, one.updated, one.unchanged) == (0, 1, 7)
    next_day = moved.replace(b"score_date:2025-08-25", b"score_date:2025-08-26")
    day = load_epss(session, actor=admin, clock=clock, data=next_day, source_name="next.csv")
    assert (day.version, day.updated, day.unchanged) == ("2025-08-26", 8, 0)


@contextmanager
def _kev_inserts(session: Session) -> Iterator[list[str]]:
    """The INSERT statements sent to kev_entries inside the block."""
    sent: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.startswith("INSERT INTO kev_entries"):
            sent.append(statement)

    connection = session.connection()
    event.listen(connection, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(connection, "before_cursor_execute", record)


def test_each_batch_is_written_in_one_statement(
    session: Session, clock: FrozenClock, admin: Actor, kev_json: bytes
) -> None:
    with _kev_inserts(session) as sent:
        load_kev(session, actor=admin, clock=clock, data=kev_json, source_name=KEV_NAME)
    assert len(sent) == 2  # batches of 1,000 rows
    assert "ON CONFLICT (cve_id) DO UPDATE" in sent[0]
    document = orjson.loads(kev_json)
    for entry in document["vulnerabilities"][:10]:
        entry["notes"] += " (revised)"
    with _kev_inserts(session) as sent:
        report = load_kev(
            session, actor=admin, clock=clock, data=orjson.dumps(document), source_name=KEV_NAME
        )
    assert (report.updated, report.unchanged) == (10, 1394)
    assert len(sent) == 1  # only the batch with changes is written


def test_smaller_batches_when_parameters_are_scarce(
    session: Session,
    clock: FrozenClock,
    admin: Actor,
    kev_json: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(load, "MAX_BOUND_PARAMETERS", 14 * 100)  # 13 columns and the id
    with _kev_inserts(session) as sent:
        report = load_kev(session, actor=admin, clock=clock, data=kev_json, source_name=KEV_NAME)
    assert report.added == 1404
    assert len(sent) == 15  # ceil(1404 / 100)
    assert _count(session, KevEntryRow) == 1404


def test_enrichment_joins_kev_and_epss_by_cve(
    session: Session, clock: FrozenClock, admin: Actor, kev_json: bytes
) -> None:
    load_kev(session, actor=admin, clock=clock, data=kev_json, source_name=KEV_NAME)
    load_epss(session, actor=admin, clock=clock, data=EPSS_FIXTURE, source_name=EPSS_NAME)
    joined = enrichment(session, ["cve-2021-44228", "CVE-2020-29583 ", "CVE-2099-0001", ""])
    assert set(joined) == {"CVE-2021-44228", "CVE-2020-29583", "CVE-2099-0001"}
    log4shell = joined["CVE-2021-44228"]
    assert log4shell.in_kev and log4shell.known_ransomware is True
    assert (log4shell.epss, log4shell.epss_percentile) == (0.94358, 0.99994)
    assert log4shell.epss_date == date(2025, 8, 25)
    assert log4shell.kev_due_date == date(2021, 12, 24)
    unknown = joined["CVE-2099-0001"]
    assert not unknown.in_kev and unknown.epss is None and unknown.kev_date_added is None
    assert enrichment(session, []) == {}
