"""Who sees what in the frontier review; each rule with an allow and a deny case."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from assay.core.errors import Forbidden, NotFound
from assay.frontier import agreements, catalog, determinations, findings, windows
from assay.frontier.models import Domain, Severity, WindowState
from assay.frontier.schemas import FindingCreate, ModelPublic
from tests.frontier_factories import API_KEY, Scenario


def visible_models(s: Scenario, who: object) -> set[str]:
    page = catalog.list_models(s.session, actor=who, limit=500, offset=0)  # type: ignore[arg-type]
    return {str(m.id) for m in page.items}


def test_a_developer_sees_only_its_own_models(scenario: Scenario) -> None:
    s = scenario
    model = s.register()
    assert str(model.id) in visible_models(s, s.dev)
    assert str(model.id) not in visible_models(s, s.other_dev)
    with pytest.raises(NotFound):
        catalog.get_model(s.session, actor=s.other_dev, model_id=model.id)


def test_an_agency_sees_a_model_only_while_party_to_a_live_agreement(scenario: Scenario) -> None:
    s = scenario
    model = s.register()
    with pytest.raises(NotFound):
        catalog.get_model(s.session, actor=s.a, model_id=model.id)
    agreement = s.propose(model)
    catalog.get_model(s.session, actor=s.a, model_id=model.id)  # proposed: party
    assert str(model.id) in visible_models(s, s.a)
    assert str(model.id) not in visible_models(s, s.outsider)
    agreements.terminate(s.session, actor=s.dev, clock=s.clock, agreement_id=agreement.id)
    with pytest.raises(NotFound):
        catalog.get_model(s.session, actor=s.a, model_id=model.id)
    assert str(model.id) not in visible_models(s, s.a)


def test_an_agency_sees_determinations_and_windows_only_as_a_party(scenario: Scenario) -> None:
    s = scenario
    window = s.open_window()
    made = determinations.determine(
        s.session, actor=s.dev, clock=s.clock, model_id=window.model_id, policy_name="eo-14110"
    )
    for who in (s.a, s.b):
        determinations.get_determination(s.session, actor=who, determination_id=made.id)
        windows.get_window(s.session, actor=who, window_id=window.id)
    for who in (s.outsider, s.other_dev):
        with pytest.raises(NotFound):
            determinations.get_determination(s.session, actor=who, determination_id=made.id)
        with pytest.raises(NotFound):
            windows.get_window(s.session, actor=who, window_id=window.id)
        page = windows.list_windows(s.session, actor=who, limit=50, offset=0)
        assert window.id not in {w.id for w in page.items}
        dets = determinations.list_determinations(s.session, actor=who, limit=50, offset=0)
        assert made.id not in {d.id for d in dets.items}


def _finding(s: Scenario, window_id: object, who: object, shared: bool = True) -> object:
    data = FindingCreate.model_validate(
        {"window_id": window_id, "domain": Domain.CYBER, "severity": Severity.HIGH,
         "title": "Writes a working exploit for a known CVE", "description": "details",
         "shared_with_developer": shared}
    )  # fmt: skip
    return findings.record_finding(s.session, actor=who, clock=s.clock, data=data)  # type: ignore[arg-type]


def _visible_findings(s: Scenario, who: object) -> set[object]:
    page = findings.list_findings(s.session, actor=who, limit=500, offset=0)  # type: ignore[arg-type]
    return {f.id for f in page.items}


def test_agencies_see_each_others_findings_only_when_the_agreement_says_so(
    scenario: Scenario,
) -> None:
    s = scenario
    private = s.open_window(share_findings_between_agencies=False)
    shared = s.open_window(share_findings_between_agencies=True)
    f1 = _finding(s, private.id, s.a)
    f2 = _finding(s, shared.id, s.a)
    assert {f1.id, f2.id} <= _visible_findings(s, s.a)  # type: ignore[attr-defined]
    seen_by_b = _visible_findings(s, s.b)
    assert f2.id in seen_by_b and f1.id not in seen_by_b  # type: ignore[attr-defined]
    with pytest.raises(NotFound):
        findings.get_finding(s.session, actor=s.b, finding_id=f1.id)  # type: ignore[attr-defined]
    assert not _visible_findings(s, s.outsider) & {f1.id, f2.id}  # type: ignore[attr-defined]


def test_the_developer_sees_shared_findings_and_responds(scenario: Scenario) -> None:
    s = scenario
    window = s.open_window()
    shared = _finding(s, window.id, s.a)
    held = _finding(s, window.id, s.a, shared=False)
    seen = _visible_findings(s, s.dev)
    assert shared.id in seen and held.id not in seen  # type: ignore[attr-defined]
    findings.respond(
        s.session,
        actor=s.dev,
        clock=s.clock,
        finding_id=shared.id,
        body="Fixed in rc2.",  # type: ignore[attr-defined]
    )
    assert [r.body for r in shared.responses] == ["Fixed in rc2."]  # type: ignore[attr-defined]
    with pytest.raises(NotFound):
        findings.respond(
            s.session,
            actor=s.dev,
            clock=s.clock,
            finding_id=held.id,
            body="?",  # type: ignore[attr-defined]
        )
    with pytest.raises(Forbidden):
        findings.respond(
            s.session,
            actor=s.a,
            clock=s.clock,
            finding_id=shared.id,
            body="not ours to answer",  # type: ignore[attr-defined]
        )


def test_a_finding_outside_the_agreed_domains_is_refused(scenario: Scenario) -> None:
    from assay.core.errors import InvalidInput

    s = scenario
    window = s.open_window()
    data = FindingCreate.model_validate(
        {"window_id": window.id, "domain": Domain.AUTONOMY, "severity": Severity.LOW,
         "title": "t", "description": "d"}
    )  # fmt: skip
    with pytest.raises(InvalidInput, match="not in the agreement's scope"):
        findings.record_finding(s.session, actor=s.a, clock=s.clock, data=data)


def test_no_output_shape_carries_the_key(scenario: Scenario) -> None:
    s = scenario
    model = s.register()
    dumped = ModelPublic.model_validate(model).model_dump_json()
    assert API_KEY not in dumped and '"api_key"' not in dumped
    assert model.api_key_encrypted is not None and API_KEY.encode() not in model.api_key_encrypted
    assert s.box.decrypt(model.api_key_encrypted) == API_KEY


# -- the order's rule: nothing depends on a review's outcome --------------------------------

FRONTIER = Path(__file__).resolve().parents[3] / "src" / "assay" / "frontier"
TRANSITION_MODULES = ("windows.py", "agreements.py", "gateway/access.py", "catalog.py")
OUTCOME_NAMES = {"Outcome", "Stance", "Severity", "Finding", "determinations", "findings"}


@pytest.mark.parametrize("module", TRANSITION_MODULES)
def test_no_transition_module_reads_a_review_outcome(module: str) -> None:
    """State changes of models, agreements, windows and gateway access never look at an
    outcome, a concurrence or a finding (agreements only note a determination's id)."""
    tree = ast.parse((FRONTIER / module).read_text())
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    names |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    imported = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    used = (names | imported) & OUTCOME_NAMES
    assert used == set(), f"{module} refers to {used}"


def test_window_states_are_the_same_whatever_the_review_found(scenario: Scenario) -> None:
    from datetime import timedelta

    s = scenario
    quiet = s.open_window(days=10)
    loud = s.open_window(days=10)
    determinations.determine(
        s.session, actor=s.dev, clock=s.clock, model_id=loud.model_id,
        policy_name="covered-frontier-model",
    )  # fmt: skip
    for _ in range(3):
        _finding(s, loud.id, s.a)
    for hours in range(0, 24 * 11, 7):
        when = s.clock.now() + timedelta(hours=hours)
        assert windows.state_of(quiet, when) == windows.state_of(loud, when)
    assert windows.state_of(loud, s.clock.now() + timedelta(days=11)) == WindowState.EXPIRED


def test_keys_rotate_re_encrypts_every_model_key_under_the_new_key(scenario: Scenario) -> None:
    from assay.core.crypto import SecretBox
    from assay.core.errors import ConfigError
    from assay.core.keys import rotate_secrets
    from assay.domains import encrypted_columns
    from tests.factories import actor, make_instance_admin

    s = scenario
    model = s.register()
    old_key = "an-old-secret-key-that-is-long-enough-0123456789"
    new_key = "a-new-secret-key-that-is-long-enough-9876543210"
    old_box = SecretBox(old_key)
    model.api_key_encrypted = old_box.encrypt(API_KEY)
    admin = actor(make_instance_admin(s.session, s.clock))
    with pytest.raises(Forbidden):
        rotate_secrets(
            s.session, actor=s.dev, clock=s.clock, box=SecretBox(new_key, [old_key]),
            columns=encrypted_columns(),
        )  # fmt: skip
    count = rotate_secrets(
        s.session, actor=admin, clock=s.clock, box=SecretBox(new_key, [old_key]),
        columns=encrypted_columns(),
    )  # fmt: skip
    assert count >= 1
    assert model.api_key_encrypted is not None
    assert SecretBox(new_key).decrypt(model.api_key_encrypted) == API_KEY
    with pytest.raises(ConfigError):
        old_box.decrypt(model.api_key_encrypted)
