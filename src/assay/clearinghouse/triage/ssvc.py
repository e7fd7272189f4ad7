"""SSVC: CISA's coordinator decision (Track, Track*, Attend, Act).

The decision table is CERT/CC's ``cisa_coordinator_2_0_3.csv``, shipped unchanged in
``data/`` (see ``data/SOURCES.md``). It is read once, and checked as it is read: the header
must be the one expected, every value must be one of its decision point's values, and each
of the 3 x 2 x 2 x 3 = 36 combinations of inputs must appear exactly once. A damaged table
raises ``SsvcTableError`` instead of deciding wrongly.

The four inputs are the analyst's to set. ``suggest_inputs`` proposes what the data can
tell (Exploitation from KEV and from exploit references or reproducers; Automatable and
Technical Impact from the CVSS vector, as a heuristic) and says why; every value the
analyst gives overrides the suggestion. Mission and Well-Being is never guessed.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from itertools import product
from typing import Generic, TypeVar

from assay.clearinghouse.triage.scores import CvssScore

TABLE_FILE = "cisa_coordinator_2_0_3.csv"
TABLE_NAME = "CISA Coordinator v2.0.3"
TABLE_HEADER = (
    "row",
    "Exploitation v1.1.0",
    "Automatable v2.0.0",
    "Technical Impact v1.0.0",
    "Mission and Well-Being Impact v1.0.0",
    "CISA Levels v1.1.0 (cisa)",
)


class Exploitation(StrEnum):
    """Exploitation v1.1.0: the present state of exploitation."""

    NONE = "none"
    PUBLIC_POC = "public poc"
    ACTIVE = "active"


class Automatable(StrEnum):
    """Automatable v2.0.0: can an attacker automate steps 1-4 of the kill chain?"""

    NO = "no"
    YES = "yes"


class TechnicalImpact(StrEnum):
    """Technical Impact v1.0.0: partial or total control of, or disclosure from, the system."""

    PARTIAL = "partial"
    TOTAL = "total"


class MissionWellbeing(StrEnum):
    """Mission and Well-Being Impact v1.0.0."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class SsvcOutcome(StrEnum):
    """The CISA levels, valued by their display names; ``from_table`` reads the CSV's
    lower-case spelling (``track``, ``track*``, ``attend``, ``act``)."""

    TRACK = "Track"
    TRACK_STAR = "Track*"
    ATTEND = "Attend"
    ACT = "Act"

    @property
    def table_value(self) -> str:
        return self.value.lower()

    @classmethod
    def parse(cls, text: str) -> SsvcOutcome:
        """A display name or the table's spelling, in any case."""
        for member in cls:
            if text.strip().lower() == member.table_value:
                return member
        names = ", ".join(m.value for m in cls)
        raise ValueError(f"unknown SSVC outcome {text!r}: expected one of {names}")


@dataclass(frozen=True)
class Decision:
    """The outcome for one set of inputs, and the table row that gave it."""

    exploitation: Exploitation
    automatable: Automatable
    technical_impact: TechnicalImpact
    mission_wellbeing: MissionWellbeing
    outcome: SsvcOutcome
    row: int
    table: str = TABLE_NAME


class SsvcTableError(ValueError):
    """The shipped decision table is damaged; the message says where."""


Key = tuple[Exploitation, Automatable, TechnicalImpact, MissionWellbeing]
_E = TypeVar("_E", bound=StrEnum)


def _value(enum: type[_E], text: str, where: str) -> _E:
    try:
        return enum(text.strip())
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in enum)
        raise SsvcTableError(f"{where}: {text!r} is not one of {allowed}") from None


def parse_table(text: str, *, name: str = TABLE_FILE) -> dict[Key, Decision]:
    """Read and check a decision table in the CSV form of CERTCC/SSVC ``data/csv``."""
    reader = csv.reader(io.StringIO(text))
    header = tuple(next(reader, ()))
    if header != TABLE_HEADER:
        raise SsvcTableError(f"{name}: header is {list(header)!r}, expected {list(TABLE_HEADER)!r}")
    table: dict[Key, Decision] = {}
    for line, cells in enumerate(reader, start=2):
        if not cells:
            continue
        where = f"{name}, line {line}"
        if len(cells) != len(TABLE_HEADER):
            raise SsvcTableError(f"{where}: {len(cells)} cells, expected {len(TABLE_HEADER)}")
        try:
            row = int(cells[0])
        except ValueError:
            raise SsvcTableError(f"{where}: row number {cells[0]!r} is not an integer") from None
        key: Key = (
            _value(Exploitation, cells[1], where),
            _value(Automatable, cells[2], where),
            _value(TechnicalImpact, cells[3], where),
            _value(MissionWellbeing, cells[4], where),
        )
        try:
            outcome = SsvcOutcome.parse(cells[5])
        except ValueError as exc:
            raise SsvcTableError(f"{where}: {exc}") from None
        if key in table:
            raise SsvcTableError(
                f"{where}: inputs {_describe(key)} already decided on row {table[key].row}"
            )
        table[key] = Decision(*key, outcome=outcome, row=row)
    missing = [
        k
        for k in product(Exploitation, Automatable, TechnicalImpact, MissionWellbeing)
        if k not in table
    ]
    if missing:
        shown = "; ".join(_describe(k) for k in missing[:5])
        total = len(Exploitation) * len(Automatable) * len(TechnicalImpact) * len(MissionWellbeing)
        raise SsvcTableError(
            f"{name}: no row for {len(missing)} of the {total} combinations of inputs: {shown}"
        )
    return table


def _describe(key: Key) -> str:
    return "/".join(str(v.value) for v in key)


@cache
def table() -> dict[Key, Decision]:
    """The shipped CISA coordinator table, read and checked once per process."""
    text = resources.files(__package__).joinpath("data", TABLE_FILE).read_text("utf-8")
    return parse_table(text)


def decide(
    exploitation: Exploitation | str,
    automatable: Automatable | str,
    technical_impact: TechnicalImpact | str,
    mission_wellbeing: MissionWellbeing | str,
) -> Decision:
    """The CISA level for these inputs. Strings are the table's values (``"public poc"``);
    anything else raises ``ValueError`` naming the decision point."""
    key: Key = (
        _input(Exploitation, exploitation, "exploitation"),
        _input(Automatable, automatable, "automatable"),
        _input(TechnicalImpact, technical_impact, "technical_impact"),
        _input(MissionWellbeing, mission_wellbeing, "mission_wellbeing"),
    )
    return table()[key]


def _input(enum: type[_E], value: _E | str, field: str) -> _E:
    try:
        return enum(value.strip().lower() if isinstance(value, str) else value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in enum)
        raise ValueError(f"{field}: {value!r} is not one of {allowed}") from None


@dataclass(frozen=True)
class Suggestion(Generic[_E]):
    """A proposed input and why; ``value`` is None when nothing can be said."""

    value: _E | None
    reason: str
    analyst: bool = False
    """True when the analyst set the value (which then overrides any evidence)."""


@dataclass(frozen=True)
class SuggestedInputs:
    exploitation: Suggestion[Exploitation]
    automatable: Suggestion[Automatable]
    technical_impact: Suggestion[TechnicalImpact]
    mission_wellbeing: Suggestion[MissionWellbeing]

    def decision(self) -> Decision | None:
        """The decision when every input has a value, otherwise None."""
        e, a = self.exploitation.value, self.automatable.value
        t, m = self.technical_impact.value, self.mission_wellbeing.value
        if e is None or a is None or t is None or m is None:
            return None
        return decide(e, a, t, m)


_SET_BY_ANALYST = "set by the analyst"


def suggest_inputs(
    *,
    in_kev: bool,
    has_public_exploit: bool = False,
    has_reproducer: bool = False,
    cvss: CvssScore | None = None,
    exploitation: Exploitation | None = None,
    automatable: Automatable | None = None,
    technical_impact: TechnicalImpact | None = None,
    mission_wellbeing: MissionWellbeing | None = None,
) -> SuggestedInputs:
    """Propose the four inputs from the evidence; an input the analyst gives wins.

    - Exploitation: ``active`` when the CVE is in CISA's KEV catalog; ``public poc`` when an
      exploit reference or a reproducer exists; otherwise ``none``.
    - Automatable and Technical Impact: a heuristic on the CVSS vector, and only a hint.
      Automatable ``yes`` when the attack is over the network with low complexity and needs
      no privileges, no user interaction and (4.0) no attack requirements, else ``no``.
      Technical Impact ``total`` when confidentiality and integrity impact on the vulnerable
      system are both High (3.x C and I; 4.0 VC and VI), else ``partial``. No vector, no
      suggestion.
    - Mission and Well-Being: depends on who is affected; only the analyst sets it.
    """
    return SuggestedInputs(
        exploitation=_exploitation(exploitation, in_kev, has_public_exploit, has_reproducer),
        automatable=_automatable(automatable, cvss),
        technical_impact=_technical_impact(technical_impact, cvss),
        mission_wellbeing=(
            Suggestion(mission_wellbeing, _SET_BY_ANALYST, analyst=True)
            if mission_wellbeing is not None
            else Suggestion(None, "depends on the mission affected: for the analyst to set")
        ),
    )


def _exploitation(
    given: Exploitation | None, in_kev: bool, has_public_exploit: bool, has_reproducer: bool
) -> Suggestion[Exploitation]:
    if given is not None:
        return Suggestion(given, _SET_BY_ANALYST, analyst=True)
    if in_kev:
        return Suggestion(Exploitation.ACTIVE, "listed in CISA's Known Exploited Vulnerabilities")
    if has_public_exploit:
        return Suggestion(Exploitation.PUBLIC_POC, "a public exploit is referenced")
    if has_reproducer:
        return Suggestion(Exploitation.PUBLIC_POC, "a reproducer was supplied")
    return Suggestion(Exploitation.NONE, "no evidence of exploitation or of a proof of concept")


def _metrics(cvss: CvssScore) -> dict[str, str]:
    return dict(part.split(":", 1) for part in cvss.vector.split("/")[1:])


def _automatable(given: Automatable | None, cvss: CvssScore | None) -> Suggestion[Automatable]:
    if given is not None:
        return Suggestion(given, _SET_BY_ANALYST, analyst=True)
    if cvss is None:
        return Suggestion(None, "no CVSS vector to suggest from")
    m = _metrics(cvss)
    wanted = {"AV": "N", "AC": "L", "PR": "N", "UI": "N"}
    if cvss.version == "4.0":
        wanted["AT"] = "N"
    if all(m.get(k) == v for k, v in wanted.items()):
        shown = "/".join(f"{k}:{v}" for k, v in wanted.items())
        return Suggestion(Automatable.YES, f"CVSS {shown}: reachable without a person's help")
    return Suggestion(
        Automatable.NO,
        "the CVSS vector needs local access, privileges, user interaction or a complex attack",
    )


def _technical_impact(
    given: TechnicalImpact | None, cvss: CvssScore | None
) -> Suggestion[TechnicalImpact]:
    if given is not None:
        return Suggestion(given, _SET_BY_ANALYST, analyst=True)
    if cvss is None:
        return Suggestion(None, "no CVSS vector to suggest from")
    m = _metrics(cvss)
    c, i = ("VC", "VI") if cvss.version == "4.0" else ("C", "I")
    if m.get(c) == "H" and m.get(i) == "H":
        return Suggestion(TechnicalImpact.TOTAL, f"CVSS {c}:H and {i}:H")
    return Suggestion(TechnicalImpact.PARTIAL, f"CVSS {c} and {i} are not both High")
