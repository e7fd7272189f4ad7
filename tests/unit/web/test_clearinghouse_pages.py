"""The clearinghouse pages: report intake, the triage queue and a vulnerability's cluster.

An allow and a deny test for each page; an upload through the form (with its CSRF token)
shows its result, a bad file shows the rejection reason with its JSON pointer, a post
without the token writes nothing; a cluster shows each finding's merge reason, and a
reporter sees only its own findings in a shared vulnerability.
"""

from __future__ import annotations

import html as html_lib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.clearinghouse import intake, vulns
from assay.clearinghouse.models import (
    DiscoveryMethod,
    ReportedFinding,
    Submission,
    SubmissionStatus,
    Tlp,
    Vulnerability,
)
from assay.clearinghouse.schemas import IntakeOut, SubmissionMeta
from assay.core.authz import OrgKind, Role
from assay.core.clock import FrozenClock
from assay.identity.models import User
from assay.identity.service import actor_for
from assay.runtime import Runtime
from assay.web.security import CONTENT_SECURITY_POLICY
from tests.factories import make_org, make_user
from tests.shared_data import SHARED_DATA
from tests.unit.web.helpers import count, csrf_of, log_in

SARIF = SHARED_DATA / "sarif"
OSV = SHARED_DATA / "osv" / "pypa"
INTAKE = "/clearinghouse/intake"
QUEUE = "/clearinghouse/queue"
_ASSAY_ID = re.compile(r"ASSAY-\d{4}-\d{5}")
_ROW = re.compile(r"<tr>(.*?)</tr>", re.S)
_CELL = re.compile(r"<td[^>]*>(.*?)</td>", re.S)
_TAG = re.compile(r"<[^>]+>")


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared data missing: {path}")
    return path


@dataclass
class World:
    session: Session
    reporter: User
    other: User
    analyst: User
    vendor: User
    mine: IntakeOut  # the reporter's njsscan log
    theirs: IntakeOut  # the other reporter's OSV record, which the reporter never sent
    shared: IntakeOut  # the other reporter's njsscan log: the same vulnerabilities as mine


@pytest.fixture
def world(session: Session, clock: FrozenClock, runtime: Runtime) -> World:
    def member(kind: OrgKind) -> User:
        return make_user(session, clock, make_org(session, clock, kind), Role.MEMBER)

    reporter, other = member(OrgKind.REPORTER), member(OrgKind.OPERATOR)
    analyst, vendor = member(OrgKind.CLEARINGHOUSE), member(OrgKind.VENDOR)
    session.commit()
    limits = intake.IntakeLimits(max_bytes=10 * 1024 * 1024, near_threshold=0.8, near_band=0.15)

    def submit(user: User, path: Path) -> IntakeOut:
        return intake.submit_file(
            runtime.db, actor=actor_for(user), clock=clock, blobs=runtime.blobs, path=need(path),
            source_name=path.name, limits=limits,
            meta=SubmissionMeta(tlp=Tlp.AMBER, discovery_method=DiscoveryMethod.AUTOMATED),
        )  # fmt: skip

    mine = submit(reporter, SARIF / "njsscan.sarif")
    theirs = submit(other, OSV / "aiohttp" / "PYSEC-2021-76.yaml")
    shared = submit(other, SARIF / "njsscan.sarif")
    session.expire_all()
    return World(session, reporter, other, analyst, vendor, mine, theirs, shared)


def as_user(client: TestClient, user: User) -> None:
    client.cookies.clear()
    assert log_in(client, user).status_code == 303


def page(client: TestClient, path: str, status: int = 200) -> str:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == status, (path, response.status_code, response.text[:300])
    assert_html(response)
    return response.text


def assert_html(response: httpx.Response) -> None:
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def cells(html: str, testid: str) -> list[list[str]]:
    """The text of each cell of each body row of the table marked ``data-testid=testid``."""
    start = html.index(f'data-testid="{testid}"')
    table = html[start : html.index("</table>", start)]
    body = table[table.index("<tbody>") :]
    return [
        [" ".join(html_lib.unescape(_TAG.sub(" ", c)).split()) for c in _CELL.findall(row)]
        for row in _ROW.findall(body)
    ]


def rows(html: str, testid: str) -> list[str]:
    return [" ".join(row) for row in cells(html, testid)]


def ids_on(html: str) -> set[str]:
    return set(_ASSAY_ID.findall(html))


def upload(
    client: TestClient, name: str, content: bytes, token: str | None, **fields: str
) -> httpx.Response:
    data = {"format": "auto", "tlp": "AMBER", "discovery_method": "human", **fields}
    if token is not None:
        data["csrf_token"] = token
    return client.post(
        INTAKE,
        data=data,
        files={"file": (name, content, "application/octet-stream")},
        follow_redirects=False,
    )


# -- allow and deny, page by page ----------------------------------------------------------


@pytest.mark.parametrize(
    "path", [INTAKE, QUEUE, f"{QUEUE}?status=new", "/clearinghouse/vulnerabilities/{ref}"]
)
def test_anonymous_visitors_are_sent_to_log_in(client: TestClient, world: World, path: str) -> None:
    path = path.format(ref=world.mine.vulnerabilities[0])
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")
    assert httpx.URL(response.headers["location"]).params["next"] == path


def test_an_anonymous_upload_is_refused_and_writes_nothing(
    client: TestClient, world: World
) -> None:
    before = count(world.session, Submission)
    response = upload(client, "njsscan.sarif", (SARIF / "njsscan.sarif").read_bytes(), None)
    assert response.status_code == 403
    assert count(world.session, Submission) == before


def test_a_reporter_sees_its_own_reports_and_vulnerabilities_only(
    client: TestClient, world: World
) -> None:
    as_user(client, world.reporter)
    intake_page = page(client, INTAKE)
    assert f'action="{INTAKE}"' in intake_page  # the upload form is offered
    [listed] = rows(intake_page, "submissions")
    assert "njsscan.sarif accepted sarif" in listed
    queue = page(client, QUEUE)
    assert set(world.mine.vulnerabilities) <= ids_on(queue)
    assert not set(world.theirs.vulnerabilities) & ids_on(queue)
    assert len(rows(queue, "queue")) == len(world.mine.vulnerabilities)
    own = world.mine.vulnerabilities[0]
    assert own in page(client, f"/clearinghouse/vulnerabilities/{own}")
    theirs = world.theirs.vulnerabilities[0]
    assert theirs not in page(client, f"/clearinghouse/vulnerabilities/{theirs}", 404)


def test_a_vendor_sees_nothing_and_may_not_upload(client: TestClient, world: World) -> None:
    as_user(client, world.vendor)
    intake_page = page(client, INTAKE)
    assert f'action="{INTAKE}"' not in intake_page  # no form to fill
    assert rows(intake_page, "submissions") == ["No submissions."]
    nav = page(client, "/")
    assert f'href="{INTAKE}"' not in nav and f'href="{QUEUE}"' not in nav
    queue = page(client, QUEUE)
    assert ids_on(queue) == set()
    assert rows(queue, "queue") == ["Nothing in the queue you may see."]
    own = world.mine.vulnerabilities[0]
    assert own not in page(client, f"/clearinghouse/vulnerabilities/{own}", 404)
    token = csrf_of(page(client, "/"))  # the logout form's token is the session's
    before = count(world.session, Submission)
    refused = upload(client, "njsscan.sarif", (SARIF / "njsscan.sarif").read_bytes(), token)
    assert refused.status_code == 403
    assert_html(refused)
    assert count(world.session, Submission) == before


def test_an_analyst_sees_every_report_in_the_queue(client: TestClient, world: World) -> None:
    as_user(client, world.analyst)
    nav = page(client, "/")
    assert f'href="{QUEUE}"' in nav
    queue = page(client, QUEUE)
    everything = set(world.mine.vulnerabilities + world.theirs.vulnerabilities)
    assert ids_on(queue) == everything
    assert len(rows(queue, "queue")) == len(everything)
    assert len(rows(page(client, INTAKE), "submissions")) == 3
    theirs = world.theirs.vulnerabilities[0]
    assert "CVE-2021-21330" in page(client, f"/clearinghouse/vulnerabilities/{theirs}")
    filtered = page(client, f"{QUEUE}?status=triaged")
    assert rows(filtered, "queue") == ["Nothing in the queue you may see."]


# -- the upload form -----------------------------------------------------------------------


def test_an_upload_through_the_form_shows_its_result(client: TestClient, world: World) -> None:
    as_user(client, world.reporter)
    token = csrf_of(page(client, INTAKE))
    path = need(SARIF / "dockle_0_3_15.sarif")
    response = upload(
        client, path.name, path.read_bytes(), token,
        tlp="GREEN", discovery_method="ai-assisted", discovery_tool="model-x",
    )  # fmt: skip
    assert response.status_code == 200, response.text[:500]
    assert_html(response)
    assert 'data-testid="intake-result"' in response.text
    assert "sarif: 4 findings" in response.text
    session = world.session
    session.expire_all()
    stored = session.scalars(select(Submission).where(Submission.source_name == path.name)).one()
    assert stored.status == SubmissionStatus.ACCEPTED and stored.tlp == Tlp.GREEN
    assert stored.discovery_method == DiscoveryMethod.AI_ASSISTED
    assert stored.discovery_tool == "model-x"
    placed = select(ReportedFinding.vulnerability_id).where(
        ReportedFinding.submission_id == stored.id
    )
    new_ids = set(
        session.scalars(select(Vulnerability.public_id).where(Vulnerability.id.in_(placed)))
    )
    assert new_ids and new_ids <= ids_on(response.text)
    for ref in new_ids:
        assert f'href="/clearinghouse/vulnerabilities/{ref}"' in response.text
    listed = rows(response.text, "submissions")
    assert any("dockle_0_3_15.sarif accepted sarif" in r and r.endswith("GREEN") for r in listed)
    assert new_ids <= ids_on(page(client, QUEUE))  # the reporter's queue has them


def _deep_error() -> tuple[bytes, str]:
    log = json.loads(need(SARIF / "bash-report.sarif").read_text())
    results = log["runs"][0]["results"]
    results[-1]["level"] = "catastrophic"  # the last one: earlier results were already placed
    return json.dumps(log).encode(), f"/runs/0/results/{len(results) - 1}/level"


def test_a_bad_file_shows_the_rejection_with_its_pointer(client: TestClient, world: World) -> None:
    as_user(client, world.reporter)
    token = csrf_of(page(client, INTAKE))
    session = world.session
    before = count(session, Vulnerability), count(session, ReportedFinding)
    content, pointer = _deep_error()
    response = upload(client, "deep.sarif", content, token)
    assert response.status_code == 422
    assert_html(response)
    alert = response.text[response.text.index('data-testid="intake-error"') :]
    alert = html_lib.unescape(alert[: alert.index("</section>")])
    assert "Rejected; nothing was taken in" in alert and "deep.sarif" in alert
    assert f"<code>{pointer}</code>: expected" in alert
    assert 'data-testid="intake-result"' not in response.text
    # Only the rejection is written, and the page lists it with its reason.
    assert (count(session, Vulnerability), count(session, ReportedFinding)) == before
    session.expire_all()
    rejected = session.scalars(
        select(Submission).where(Submission.status == SubmissionStatus.REJECTED)
    ).one()
    assert rejected.source_name == "deep.sarif" and rejected.blob_sha256 is None
    [listed] = [r for r in rows(response.text, "submissions") if "deep.sarif" in r]
    assert f"rejected: {pointer} expected" in listed
    assert f'value="{token}"' in response.text  # the form is offered again


def test_a_bad_declaration_is_shown_and_nothing_is_read(client: TestClient, world: World) -> None:
    as_user(client, world.reporter)
    token = csrf_of(page(client, INTAKE))
    before = count(world.session, Submission)
    response = upload(
        client, "njsscan.sarif", (SARIF / "njsscan.sarif").read_bytes(), token, tlp="PURPLE"
    )
    assert response.status_code == 422
    assert "<code>tlp</code>" in response.text
    assert count(world.session, Submission) == before


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_an_upload_without_the_csrf_token_is_refused_and_writes_nothing(
    client: TestClient, world: World, token: str | None
) -> None:
    as_user(client, world.reporter)
    assert csrf_of(page(client, INTAKE)) != token
    session = world.session
    before = count(session, Submission), count(session, ReportedFinding)
    path = need(SARIF / "dockle_0_3_15.sarif")
    refused = upload(client, path.name, path.read_bytes(), token)
    assert refused.status_code == 403
    assert_html(refused)
    assert "security token" in refused.text
    assert (count(session, Submission), count(session, ReportedFinding)) == before


# -- a vulnerability and its cluster -------------------------------------------------------


def test_the_cluster_shows_each_findings_merge_reason(
    client: TestClient, world: World, clock: FrozenClock
) -> None:
    session = world.session
    keep, gone = world.mine.vulnerabilities[:2]
    vulns.merge(session, actor=actor_for(world.analyst), clock=clock, into=keep, other=gone,
                reason="one taint flow")  # fmt: skip
    session.commit()
    as_user(client, world.analyst)
    shown = page(client, f"/clearinghouse/vulnerabilities/{keep}")
    merges = sorted((row[3], row[4]) for row in cells(shown, "cluster"))  # (merge, reason)
    assert merges == [
        ("exact", "same code at the same place (repository, path, rule; lines may differ)"),
        ("manual", f"merged by an analyst from {gone}: one taint flow"),
        ("manual", f"merged by an analyst from {gone}: one taint flow"),
        ("new", "first report"),
    ]  # each reporter's finding of each vulnerability, and why it is here
    assert "Merged into" in page(client, f"/clearinghouse/vulnerabilities/{gone}")


def test_a_reporter_sees_only_its_own_findings_of_a_shared_vulnerability(
    client: TestClient, world: World
) -> None:
    ref = world.mine.vulnerabilities[0]
    assert ref in world.shared.vulnerabilities  # both reporters sent it
    as_user(client, world.analyst)
    analysts = page(client, f"/clearinghouse/vulnerabilities/{ref}")
    assert len(rows(analysts, "cluster")) == 2
    assert "% valid" in analysts  # each reporter's track record
    as_user(client, world.reporter)
    shown = page(client, f"/clearinghouse/vulnerabilities/{ref}")
    [own] = cells(shown, "cluster")
    assert own[3:5] == ["new", "first report"]
    assert "% valid" not in shown  # track records are for analysts
    as_user(client, world.other)
    [theirs] = cells(page(client, f"/clearinghouse/vulnerabilities/{ref}"), "cluster")
    assert theirs[3] == "exact" and theirs[1] == own[1]  # the same result, sent twice
