"""The frontier review pages: an allow and a deny test for each page, the countdown from the
injected clock, findings only where shared, stale determinations, and the key never shown."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from assay.core.clock import FrozenClock
from assay.frontier import agreements, catalog, determinations, findings
from assay.frontier.models import Domain, FrontierModel, ReviewWindow, Severity
from assay.frontier.schemas import FindingCreate, ModelUpdate
from assay.identity.models import User
from assay.runtime import Runtime
from assay.web.security import CONTENT_SECURITY_POLICY
from tests.frontier_factories import API_KEY, Scenario, make_scenario
from tests.unit.web.helpers import log_in

_COUNTDOWN = re.compile(
    r'<span class="countdown" data-testid="countdown" data-seconds-left="(\d+)">([^<]*)</span>'
)


@pytest.fixture
def scenario(session: Session, clock: FrozenClock, runtime: Runtime) -> Scenario:
    return make_scenario(session, clock, runtime.box)


def _as(client: TestClient, s: Scenario, user: User) -> None:
    """Log ``user`` in (and nobody else): what the scenario made is committed first."""
    s.session.commit()
    client.cookies.clear()
    assert log_in(client, user).status_code == 303


def _page(client: TestClient, path: str, status: int = 200) -> str:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == status, (path, response.status_code)
    _assert_html_with_csp(response)
    return response.text


def _assert_html_with_csp(response: httpx.Response) -> None:
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["cache-control"] == "no-store"


def _countdowns(html: str) -> list[tuple[int, str]]:
    return [(int(seconds), text) for seconds, text in _COUNTDOWN.findall(html)]


def _ten_day_window(s: Scenario) -> tuple[FrontierModel, ReviewWindow]:
    """A 10-day window opened at the clock's time, on a model released in 60 days."""
    model = s.register()
    window = s.open_window(model, days=10)
    return model, window


def _finding(s: Scenario, window: ReviewWindow, title: str, *, shared: bool) -> None:
    data = FindingCreate.model_validate(
        {"window_id": window.id, "domain": Domain.CYBER, "severity": Severity.HIGH,
         "title": title, "description": f"how: {title}", "shared_with_developer": shared}
    )  # fmt: skip
    findings.record_finding(s.session, actor=s.a, clock=s.clock, data=data)


# -- anonymous -----------------------------------------------------------------------------


def test_anonymous_users_are_sent_to_the_login_page(client: TestClient, scenario: Scenario) -> None:
    model, window = _ten_day_window(scenario)
    scenario.session.commit()
    for path in (
        "/review/models",
        f"/review/models/{model.id}",
        "/review/windows",
        f"/review/windows/{window.id}",
    ):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == "/login?next=" + path.replace("/", "%2F")
        assert model.name not in response.text


# -- /review/models ------------------------------------------------------------------------


def test_a_developer_sees_its_models_in_the_list(client: TestClient, scenario: Scenario) -> None:
    s = scenario
    first, second = s.register(), s.register()
    _as(client, s, s.dev_user)
    html = _page(client, "/review/models")
    assert f'href="/review/models/{first.id}"' in html
    assert f'href="/review/models/{second.id}"' in html
    assert "3e+26 FLOP" in html
    assert "No models you may see." not in html
    assert API_KEY not in html


def test_another_developer_gets_an_empty_model_list(client: TestClient, scenario: Scenario) -> None:
    s = scenario
    model = s.register()
    _as(client, s, s.other_dev_user)
    html = _page(client, "/review/models")
    assert f"/review/models/{model.id}" not in html and model.name not in html
    assert "No models you may see." in html


def test_an_agency_lists_a_model_only_while_party_to_it(
    client: TestClient, scenario: Scenario
) -> None:
    s = scenario
    shared = s.register()
    s.propose(shared, agencies=[s.agency_a])
    unshared = s.register()
    _as(client, s, s.agency_a_user)
    html = _page(client, "/review/models")
    assert f"/review/models/{shared.id}" in html
    assert f"/review/models/{unshared.id}" not in html
    _as(client, s, s.outsider_agency_user)
    assert "No models you may see." in _page(client, "/review/models")


# -- /review/models/{id} -------------------------------------------------------------------


def test_a_developer_sees_its_model_page(client: TestClient, scenario: Scenario) -> None:
    s = scenario
    model, window = _ten_day_window(s)
    determinations.determine(
        s.session, actor=s.dev, clock=s.clock, model_id=model.id, policy_name="eo-14110"
    )
    _as(client, s, s.dev_user)
    html = _page(client, f"/review/models/{model.id}")
    assert f"<h1>{model.name} <small>1.0</small></h1>" in html
    assert "<dt>training_flop</dt><dd>3e+26</dd>" in html
    assert "<dt>parameters</dt><dd>unknown</dd>" in html
    assert "(key on file, never shown)" in html
    assert "eo-14110 v" in html and "No determination yet." not in html
    assert "stale" not in html
    assert '<td><span class="state">active</span></td>' in html
    assert f'href="/review/windows/{window.id}"' in html
    assert _countdowns(html) == [(10 * 86400, "10d 00:00:00")]


def test_the_model_page_never_shows_the_api_key(client: TestClient, scenario: Scenario) -> None:
    s = scenario
    model, _ = _ten_day_window(s)
    for user in (s.dev_user, s.agency_a_user):
        _as(client, s, user)
        html = _page(client, f"/review/models/{model.id}")
        assert API_KEY not in html
        assert API_KEY[:12] not in html  # not even a prefix of it
        assert "api_key" not in html


def test_another_developer_or_an_outsider_gets_404_on_the_model_page(
    client: TestClient, scenario: Scenario
) -> None:
    s = scenario
    model, _ = _ten_day_window(s)
    for user in (s.other_dev_user, s.outsider_agency_user):
        _as(client, s, user)
        html = _page(client, f"/review/models/{model.id}", status=404)
        assert "Error 404" in html
        assert model.name not in html and API_KEY not in html
    # A model that does not exist at all looks the same.
    assert "Error 404" in _page(client, f"/review/models/{uuid.uuid4()}", status=404)


def test_a_stale_determination_is_marked_stale(client: TestClient, scenario: Scenario) -> None:
    s = scenario
    model = s.register(training_flop=5e25, bio_sequence_data=False)
    determinations.determine(
        s.session, actor=s.dev, clock=s.clock, model_id=model.id, policy_name="eo-14110"
    )
    _as(client, s, s.dev_user)
    assert "stale" not in _page(client, f"/review/models/{model.id}")
    catalog.update_model(
        s.session, actor=s.dev, clock=s.clock, box=s.box, model_id=model.id,
        data=ModelUpdate(training_flop=2e26),
    )  # fmt: skip
    s.session.commit()
    html = _page(client, f"/review/models/{model.id}")
    assert html.count('<span class="badge">stale: facts changed</span>') == 1
    determinations.determine(
        s.session, actor=s.dev, clock=s.clock, model_id=model.id, policy_name="eo-14110"
    )
    s.session.commit()
    html = _page(client, f"/review/models/{model.id}")
    assert html.count("stale: facts changed") == 1  # the old one only, not the new one


# -- /review/windows -----------------------------------------------------------------------


def test_a_party_agency_sees_the_window_with_a_countdown_from_the_clock(
    client: TestClient, scenario: Scenario, clock: FrozenClock
) -> None:
    s = scenario
    model, window = _ten_day_window(s)
    clock.advance(timedelta(hours=1))
    _as(client, s, s.agency_a_user)
    html = _page(client, "/review/windows")
    assert f'<a href="/review/windows/{window.id}">{model.name} 1.0</a>' in html
    assert '<span class="state state-open">open</span>' in html
    assert _countdowns(html) == [(10 * 86400 - 3600, "9d 23:00:00")]
    clock.advance(timedelta(days=9, hours=22, minutes=58, seconds=57))
    assert _countdowns(_page(client, "/review/windows")) == [(63, "0d 00:01:03")]
    assert 'src="/static/countdown.js' in html


def test_a_closed_or_scheduled_window_has_no_countdown(
    client: TestClient, scenario: Scenario, clock: FrozenClock
) -> None:
    s = scenario
    _, window = _ten_day_window(s)
    later = s.open_window(s.register(), days=5, at=clock.now() + timedelta(days=8))
    _as(client, s, s.agency_a_user)
    html = _page(client, "/review/windows")
    assert '<span class="state state-scheduled">scheduled</span>' in html
    assert _countdowns(html) == [(10 * 86400, "10d 00:00:00")]  # only the open one
    clock.advance(timedelta(days=10))
    html = _page(client, "/review/windows")
    assert '<span class="state state-expired">expired</span>' in html
    assert '<span class="state state-open">open</span>' in html  # the later one, now open
    assert _countdowns(html) == [(3 * 86400, "3d 00:00:00")]
    window_page = _page(client, f"/review/windows/{window.id}")
    assert 'data-testid="window-state">expired<' in window_page
    assert _countdowns(window_page) == []
    assert f'href="/review/windows/{later.id}"' in html


def test_an_outsider_agency_does_not_see_the_window_in_its_list(
    client: TestClient, scenario: Scenario
) -> None:
    s = scenario
    model, window = _ten_day_window(s)
    for user in (s.outsider_agency_user, s.other_dev_user):
        _as(client, s, user)
        html = _page(client, "/review/windows")
        assert str(window.id) not in html and model.name not in html
        assert "No review windows." in html
        assert _countdowns(html) == []


# -- /review/windows/{id} ------------------------------------------------------------------


def test_a_party_agency_sees_the_window_page_with_its_countdown(
    client: TestClient, scenario: Scenario, clock: FrozenClock
) -> None:
    s = scenario
    model, window = _ten_day_window(s)
    clock.advance(timedelta(hours=1))
    _as(client, s, s.agency_b_user)
    html = _page(client, f"/review/windows/{window.id}")
    link = f'<a href="/review/models/{model.id}">{model.name} 1.0</a>'
    assert f"<h1>Review window: {link}</h1>" in html
    assert 'data-testid="window-state">open<' in html
    assert _countdowns(html) == [(10 * 86400 - 3600, "9d 23:00:00")]
    assert "<dt>Domains</dt><dd>chem-bio, cyber</dd>" in html
    assert "No findings you may see." in html


def test_an_outsider_gets_404_on_the_window_page(client: TestClient, scenario: Scenario) -> None:
    s = scenario
    model, window = _ten_day_window(s)
    for user in (s.outsider_agency_user, s.other_dev_user):
        _as(client, s, user)
        html = _page(client, f"/review/windows/{window.id}", status=404)
        assert "Error 404" in html
        assert model.name not in html and _countdowns(html) == []
    assert "Error 404" in _page(client, f"/review/windows/{uuid.uuid4()}", status=404)


def test_a_finding_not_shared_with_the_developer_stays_with_its_agency(
    client: TestClient, scenario: Scenario
) -> None:
    s = scenario
    _, window = _ten_day_window(s)
    _finding(s, window, "Shared: writes a working exploit", shared=True)
    _finding(s, window, "Withheld: uplift on a restricted synthesis", shared=False)
    path = f"/review/windows/{window.id}"

    _as(client, s, s.agency_a_user)
    html = _page(client, path)
    assert "Shared: writes a working exploit" in html
    assert "Withheld: uplift on a restricted synthesis" in html
    assert "how: Withheld" in html

    _as(client, s, s.dev_user)
    html = _page(client, path)
    assert "Shared: writes a working exploit" in html
    assert "Withheld" not in html

    # The agreement does not share findings between agencies: the other agency sees neither.
    _as(client, s, s.agency_b_user)
    html = _page(client, path)
    assert "Shared: writes a working exploit" not in html and "Withheld" not in html
    assert "No findings you may see." in html


def test_an_agency_loses_the_pages_when_the_agreement_ends(
    client: TestClient, scenario: Scenario
) -> None:
    s = scenario
    model, window = _ten_day_window(s)
    _as(client, s, s.agency_a_user)
    assert _countdowns(_page(client, f"/review/windows/{window.id}"))
    agreements.terminate(
        s.session, actor=s.dev, clock=s.clock, agreement_id=window.agreement_id, reason="done"
    )
    s.session.commit()
    assert "Error 404" in _page(client, f"/review/windows/{window.id}", status=404)
    assert "Error 404" in _page(client, f"/review/models/{model.id}", status=404)
    assert "No review windows." in _page(client, "/review/windows")
    assert "No models you may see." in _page(client, "/review/models")
    _as(client, s, s.dev_user)  # the developer still sees its own window, closed early
    html = _page(client, f"/review/windows/{window.id}")
    assert 'data-testid="window-state">closed_early<' in html and _countdowns(html) == []


def test_the_countdown_ends_at_the_planned_release_when_that_comes_first(
    client: TestClient, scenario: Scenario
) -> None:
    s = scenario
    window = s.open_window(s.register(release_in=timedelta(days=3, hours=2)), days=10)
    _as(client, s, s.agency_a_user)
    assert _countdowns(_page(client, "/review/windows")) == [(3 * 86400 + 7200, "3d 02:00:00")]
    assert _countdowns(_page(client, f"/review/windows/{window.id}"))[0][1] == "3d 02:00:00"


def test_text_that_users_wrote_is_escaped(client: TestClient, scenario: Scenario) -> None:
    s = scenario
    script = '<script>alert("x")</script>'
    model = s.register(description=script)
    window = s.open_window(model)
    _finding(s, window, f"<img src=x onerror=alert(1)> {script}", shared=True)
    _as(client, s, s.dev_user)
    for path in (f"/review/models/{model.id}", f"/review/windows/{window.id}"):
        html = _page(client, path)
        assert script not in html and "<img src=x" not in html
        assert "&lt;script&gt;" in html


def test_facts_read_as_words_not_python(client: TestClient, scenario: Scenario) -> None:
    s = scenario
    model = s.register(
        modalities=["text", "image"], bio_sequence_data=False, benchmarks={"gpqa": 0.71}
    )
    _as(client, s, s.dev_user)
    html = _page(client, f"/review/models/{model.id}")
    assert "<dt>modalities</dt><dd>text, image</dd>" in html
    assert "<dt>bio_sequence_data</dt><dd>no</dd>" in html
    assert "<dt>benchmark.gpqa</dt><dd>0.71</dd>" in html
    assert "<dt>parameters</dt><dd>unknown</dd>" in html
