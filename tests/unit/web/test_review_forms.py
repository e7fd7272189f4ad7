"""The review pages' forms: determine, record a finding, respond; each allowed and refused."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from assay.core.clock import FrozenClock
from assay.frontier.models import Determination, Finding, FindingResponse
from assay.runtime import Runtime
from tests.frontier_factories import Scenario, make_scenario
from tests.unit.web.helpers import count, csrf_of, log_in


@pytest.fixture
def s(session: Session, clock: FrozenClock, runtime: Runtime) -> Scenario:
    return make_scenario(session, clock, runtime.box)


def logged_in(client: TestClient, s: Scenario, user: object, page: str) -> str:
    s.session.commit()
    client.cookies.clear()
    assert log_in(client, user).status_code == 303  # type: ignore[arg-type]
    return csrf_of(client.get(page).text)


def test_a_developer_determines_from_the_model_page(client: TestClient, s: Scenario) -> None:
    model = s.register()
    page = f"/review/models/{model.id}"
    token = logged_in(client, s, s.dev_user, page)
    response = client.post(
        f"{page}/determinations",
        data={"policy": "eo-14110", "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert count(s.session, Determination, Determination.model_id == model.id) == 1
    assert "Determination recorded" in client.get(page).text


def test_an_agency_party_cannot_determine(client: TestClient, s: Scenario) -> None:
    window = s.open_window()
    page = f"/review/models/{window.model_id}"
    token = logged_in(client, s, s.agency_a_user, page)
    assert 'action="/review/models' not in client.get(page).text  # the form is not offered
    response = client.post(
        f"{page}/determinations", data={"policy": "eo-14110", "csrf_token": token}
    )
    assert response.status_code == 403
    assert count(s.session, Determination) == 0


def test_an_agency_records_a_finding_and_an_outsider_cannot(
    client: TestClient, s: Scenario
) -> None:
    window = s.open_window()
    page = f"/review/windows/{window.id}"
    form = {
        "domain": "cyber",
        "severity": "high",
        "title": "Gives exploit steps",
        "description": "It answered with working steps.",
        "evidence": "log://run/1\n",
    }
    token = logged_in(client, s, s.agency_a_user, page)
    assert "Record a finding" in client.get(page).text
    ok = client.post(f"{page}/findings", data={**form, "csrf_token": token}, follow_redirects=False)
    assert ok.status_code == 303
    assert count(s.session, Finding, Finding.window_id == window.id) == 1
    token = logged_in(client, s, s.outsider_agency_user, "/review/windows")
    refused = client.post(f"{page}/findings", data={**form, "csrf_token": token})
    assert refused.status_code == 404
    assert count(s.session, Finding, Finding.window_id == window.id) == 1


def test_a_finding_outside_the_scope_is_refused_with_the_reason(
    client: TestClient, s: Scenario
) -> None:
    window = s.open_window()
    page = f"/review/windows/{window.id}"
    token = logged_in(client, s, s.agency_a_user, page)
    form = {"domain": "autonomy", "severity": "low", "title": "t", "description": "d",
            "csrf_token": token}  # fmt: skip
    shown = client.post(f"{page}/findings", data=form)  # follows the redirect to the page
    assert count(s.session, Finding) == 0
    assert "not in the agreement" in shown.text


def test_the_developer_responds_and_an_agency_cannot(client: TestClient, s: Scenario) -> None:
    window = s.open_window()
    page = f"/review/windows/{window.id}"
    token = logged_in(client, s, s.agency_a_user, page)
    client.post(f"{page}/findings", data={
        "domain": "cyber", "severity": "medium", "title": "Leaks system prompt",
        "description": "d", "csrf_token": token})  # fmt: skip
    finding = s.session.query(Finding).one()
    refused = client.post(
        f"/review/findings/{finding.id}/responses", data={"body": "x", "csrf_token": token}
    )
    assert refused.status_code == 403
    token = logged_in(client, s, s.dev_user, page)
    ok = client.post(
        f"/review/findings/{finding.id}/responses",
        data={"body": "Patched in rc2.", "csrf_token": token},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert count(s.session, FindingResponse) == 1
    assert "Patched in rc2." in client.get(page).text


def test_a_form_without_its_csrf_token_changes_nothing(client: TestClient, s: Scenario) -> None:
    model = s.register()
    logged_in(client, s, s.dev_user, "/review/models")
    response = client.post(f"/review/models/{model.id}/determinations", data={"policy": "eo-14110"})
    assert response.status_code == 403
    assert count(s.session, Determination) == 0
