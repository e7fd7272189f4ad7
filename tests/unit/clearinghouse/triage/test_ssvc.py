"""SSVC: the shipped CISA coordinator table, its checks, decisions and suggestions."""

from __future__ import annotations

import csv
import io
from importlib import resources
from itertools import product

import pytest

from assay.clearinghouse.triage import ssvc
from assay.clearinghouse.triage.scores import parse_cvss
from assay.clearinghouse.triage.ssvc import (
    Automatable,
    Exploitation,
    MissionWellbeing,
    SsvcOutcome,
    SsvcTableError,
    TechnicalImpact,
    decide,
    parse_table,
    suggest_inputs,
)
from tests.shared_data import shared

DATA = resources.files("assay.clearinghouse.triage").joinpath("data")
SHIPPED = DATA.joinpath(ssvc.TABLE_FILE).read_text("utf-8")


def test_the_shipped_table_is_the_shared_copy_byte_for_byte() -> None:
    copy = shared("ssvc", "cisa", ssvc.TABLE_FILE)
    assert DATA.joinpath(ssvc.TABLE_FILE).read_bytes() == copy.read_bytes()


def test_the_shipped_data_keeps_its_licences_and_sources() -> None:
    names = {entry.name for entry in DATA.iterdir()}
    assert {"LICENSE-ssvc-data.txt", "LICENSE-ssvc-repo.txt", "SOURCES.md"} <= names
    assert (
        DATA.joinpath("LICENSE-ssvc-data.txt").read_bytes()
        == shared("ssvc", "LICENSE").read_bytes()
    )
    sources = DATA.joinpath("SOURCES.md").read_text("utf-8")
    assert "CERTCC/SSVC @e3b00a25" in sources
    assert "cisagov/kev-data @eacf03ec" in sources


def test_the_table_is_complete_every_combination_exactly_once() -> None:
    table = ssvc.table()
    combinations = set(product(Exploitation, Automatable, TechnicalImpact, MissionWellbeing))
    assert len(combinations) == 36
    assert set(table) == combinations
    assert sorted(d.row for d in table.values()) == list(range(36))
    assert {d.outcome for d in table.values()} == set(SsvcOutcome)


def test_every_decision_matches_its_csv_row() -> None:
    rows = list(csv.reader(io.StringIO(SHIPPED)))[1:]
    assert len(rows) == 36
    for row, e, a, t, m, level in rows:
        decision = decide(e, a, t, m)
        assert decision.row == int(row)
        assert decision.outcome.table_value == level
        assert decision.table == "CISA Coordinator v2.0.3"


@pytest.mark.parametrize(
    ("inputs", "outcome"),
    [
        (("none", "no", "partial", "low"), "Track"),
        (("none", "no", "total", "high"), "Track*"),
        (("public poc", "yes", "total", "high"), "Attend"),
        (("active", "no", "total", "high"), "Act"),
        (("active", "yes", "total", "high"), "Act"),
        (("active", "yes", "partial", "low"), "Attend"),
    ],
)
def test_decisions_from_the_table(inputs: tuple[str, str, str, str], outcome: str) -> None:
    assert decide(*inputs).outcome.value == outcome


def test_decide_takes_enums_and_any_case_and_names_a_bad_input() -> None:
    by_enum = decide(
        Exploitation.PUBLIC_POC, Automatable.NO, TechnicalImpact.TOTAL, MissionWellbeing.MEDIUM
    )
    assert by_enum == decide("Public PoC", "NO", "Total", "Medium")
    assert by_enum.outcome is SsvcOutcome.TRACK_STAR
    with pytest.raises(ValueError, match=r"exploitation: 'poc' is not one of 'none', 'public poc'"):
        decide("poc", "no", "total", "high")
    with pytest.raises(ValueError, match="mission_wellbeing"):
        decide("none", "no", "total", "severe")


def test_outcomes_have_display_names_and_read_the_csv_spelling() -> None:
    assert [o.value for o in SsvcOutcome] == ["Track", "Track*", "Attend", "Act"]
    assert SsvcOutcome.parse("track*") is SsvcOutcome.TRACK_STAR
    assert SsvcOutcome.parse(" ACT ") is SsvcOutcome.ACT
    assert SsvcOutcome.TRACK_STAR.table_value == "track*"
    with pytest.raises(ValueError, match="unknown SSVC outcome 'defer'"):
        SsvcOutcome.parse("defer")


# -- a damaged table fails loudly ----------------------------------------------------------


def _lines() -> list[str]:
    return SHIPPED.splitlines()


def test_a_missing_row_is_refused() -> None:
    lines = _lines()
    del lines[10]  # row 9
    with pytest.raises(
        SsvcTableError, match="no row for 1 of the 36 combinations of inputs: none/yes/total/low"
    ):
        parse_table("\n".join(lines))


def test_a_repeated_combination_is_refused() -> None:
    lines = _lines()
    lines[10] = lines[10].replace("9,", "99,", 1)
    lines.insert(11, "9,none,yes,partial,high,act")
    with pytest.raises(
        SsvcTableError, match="line 12: inputs none/yes/partial/high already decided"
    ):
        parse_table("\n".join(lines))


def test_an_unknown_value_or_header_is_refused() -> None:
    lines = _lines()
    lines[5] = lines[5].replace("track", "watch")
    with pytest.raises(SsvcTableError, match="line 6: unknown SSVC outcome 'watch'"):
        parse_table("\n".join(lines))
    lines = _lines()
    lines[3] = lines[3].replace("none", "rumoured")
    with pytest.raises(SsvcTableError, match="line 4: 'rumoured' is not one of"):
        parse_table("\n".join(lines))
    lines = _lines()
    lines[0] = lines[0].replace("Exploitation v1.1.0", "Exploitation v9")
    with pytest.raises(SsvcTableError, match="header is"):
        parse_table("\n".join(lines))


# -- suggestions ----------------------------------------------------------------------------

NETWORK_TOTAL = parse_cvss("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
LOCAL_PARTIAL = parse_cvss("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N")


def test_exploitation_comes_from_kev_then_exploit_references_then_nothing() -> None:
    assert suggest_inputs(in_kev=True, has_public_exploit=True).exploitation.value == "active"
    assert suggest_inputs(in_kev=False, has_public_exploit=True).exploitation.value == (
        "public poc"
    )
    reproduced = suggest_inputs(in_kev=False, has_reproducer=True).exploitation
    assert reproduced.value is Exploitation.PUBLIC_POC
    assert "reproducer" in reproduced.reason
    nothing = suggest_inputs(in_kev=False).exploitation
    assert nothing.value is Exploitation.NONE and not nothing.analyst


def test_cvss_hints_for_automatable_and_technical_impact() -> None:
    network = suggest_inputs(in_kev=False, cvss=NETWORK_TOTAL)
    assert network.automatable.value is Automatable.YES
    assert network.technical_impact.value is TechnicalImpact.TOTAL
    local = suggest_inputs(in_kev=False, cvss=LOCAL_PARTIAL)
    assert local.automatable.value is Automatable.NO
    assert local.technical_impact.value is TechnicalImpact.PARTIAL
    v40 = parse_cvss("CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N")
    hinted = suggest_inputs(in_kev=False, cvss=v40)
    assert hinted.automatable.value is Automatable.NO  # attack requirements present
    assert hinted.technical_impact.value is TechnicalImpact.TOTAL
    none = suggest_inputs(in_kev=False)
    assert none.automatable.value is None and none.technical_impact.value is None


def test_mission_is_never_guessed_and_without_it_there_is_no_decision() -> None:
    suggested = suggest_inputs(in_kev=True, cvss=NETWORK_TOTAL)
    assert suggested.mission_wellbeing.value is None
    assert suggested.decision() is None


def test_the_analyst_overrides_every_suggestion() -> None:
    suggested = suggest_inputs(
        in_kev=True,
        cvss=NETWORK_TOTAL,
        exploitation=Exploitation.NONE,
        automatable=Automatable.NO,
        technical_impact=TechnicalImpact.PARTIAL,
        mission_wellbeing=MissionWellbeing.LOW,
    )
    for suggestion in (
        suggested.exploitation,
        suggested.automatable,
        suggested.technical_impact,
        suggested.mission_wellbeing,
    ):
        assert suggestion.analyst and suggestion.reason == "set by the analyst"
    decision = suggested.decision()
    assert decision is not None and decision.outcome is SsvcOutcome.TRACK


def test_a_complete_suggestion_decides() -> None:
    suggested = suggest_inputs(
        in_kev=True, cvss=NETWORK_TOTAL, mission_wellbeing=MissionWellbeing.HIGH
    )
    decision = suggested.decision()
    assert decision is not None
    assert decision.outcome is SsvcOutcome.ACT
    assert decision.row == 35
