"""Who sees what in the clearinghouse; merges and splits by analysts, audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.clearinghouse import vulns
from assay.clearinghouse.events import ClearinghouseEvent
from assay.clearinghouse.models import MergeLevel, Tlp, VulnStatus
from assay.core.audit import AuditEvent
from assay.core.clock import FrozenClock
from assay.core.errors import Conflict, Forbidden, NotFound
from tests.unit.clearinghouse.conftest import SARIF, People, Submit, need


def queue_ids(session: Session, who: object) -> set[str]:
    page = vulns.list_queue(session, actor=who, limit=500, offset=0)  # type: ignore[arg-type]
    return {v.public_id for v in page.items}


def test_a_reporter_sees_its_own_and_an_analyst_sees_all(
    session: Session, people: People, submit: Submit
) -> None:
    mine = submit(people.reporter, need(SARIF / "njsscan.sarif"))
    theirs = submit(people.other_reporter, need(SARIF / "dockle_0_3_15.sarif"), tlp=Tlp.RED)
    assert set(mine.vulnerabilities) <= queue_ids(session, people.reporter)
    assert not set(theirs.vulnerabilities) & queue_ids(session, people.reporter)
    assert set(mine.vulnerabilities + theirs.vulnerabilities) <= queue_ids(session, people.analyst)
    assert queue_ids(session, people.vendor) == set()
    with pytest.raises(NotFound):
        vulns.get_vuln(session, actor=people.reporter, ref=theirs.vulnerabilities[0])
    with pytest.raises(NotFound):
        vulns.get_vuln(session, actor=people.vendor, ref=mine.vulnerabilities[0])


def test_a_duplicate_reporter_is_credited_but_sees_only_its_own_findings(
    session: Session, people: People, submit: Submit
) -> None:
    path = need(SARIF / "njsscan.sarif")
    first = submit(people.reporter, path, tlp=Tlp.AMBER_STRICT)
    second = submit(people.other_reporter, path)
    ref = second.vulnerabilities[0]
    assert ref in first.vulnerabilities
    vuln = vulns.get_vuln(session, actor=people.other_reporter, ref=ref)
    assert len(vuln.party_org_ids) == 2  # both reporters are credited
    seen = vulns.cluster(session, actor=people.other_reporter, vuln=vuln)
    assert {f.org_id for f in seen} == {people.other_reporter.org_id}
    everything = vulns.cluster(session, actor=people.analyst, vuln=vuln)
    assert {f.org_id for f in everything} == {people.reporter.org_id, people.other_reporter.org_id}


def test_submissions_are_seen_by_their_reporter_and_the_clearinghouse(
    session: Session, people: People, submit: Submit
) -> None:
    out = submit(people.reporter, need(SARIF / "njsscan.sarif"))
    for who, seen in ((people.reporter, True), (people.analyst, True),
                      (people.other_reporter, False), (people.vendor, False)):  # fmt: skip
        ids = {s.id for s in vulns.list_submissions(session, actor=who, limit=50, offset=0).items}
        assert (out.submission in ids) is seen


def test_an_analyst_merges_and_splits_and_both_are_audited(
    session: Session, people: People, submit: Submit, clock: FrozenClock
) -> None:
    a = submit(people.reporter, need(SARIF / "njsscan.sarif")).vulnerabilities[0]
    b = submit(people.reporter, need(SARIF / "dockle_0_3_15.sarif")).vulnerabilities[0]
    with pytest.raises(Forbidden):
        vulns.merge(session, actor=people.reporter, clock=clock, into=a, other=b, reason="same")
    kept = vulns.merge(session, actor=people.analyst, clock=clock, into=a, other=b,
                       reason="same root cause")  # fmt: skip
    gone = vulns.find(session, b)
    assert gone is not None and gone.status == VulnStatus.DUPLICATE
    cluster = vulns.cluster(session, actor=people.analyst, vuln=kept)
    moved = [f for f in cluster if f.level == MergeLevel.MANUAL]
    assert moved and "same root cause" in moved[0].reason
    with pytest.raises(Conflict):
        vulns.merge(session, actor=people.analyst, clock=clock, into=a, other=b, reason="again")
    split = vulns.split(session, actor=people.analyst, clock=clock, finding_id=moved[0].id,
                        reason="different component")  # fmt: skip
    assert split.public_id not in (a, b)
    actions = set(session.scalars(select(AuditEvent.action)))
    assert {ClearinghouseEvent.VULNERABILITIES_MERGED.value,
            ClearinghouseEvent.FINDING_SPLIT.value} <= actions  # fmt: skip
