"""Reading a model's answer and grading it against a sample's key. Pure Python.

The answer format (the system prompt asks for it):

    ANSWER: CWE-89 line 12        the file has a flaw: its CWE and the line it is on
    ANSWER: none                  the file has no flaw

The parser is tolerant: it takes the *last* line that contains ``answer`` followed by ``:``
or ``=`` (so ``Final answer:`` and ``**ANSWER:**`` count), ignores case, Markdown emphasis
and back-ticks, and reads ``CWE-89``, ``cwe 89``, ``CWE_89`` or ``CWE89``, and ``line 12``,
``line: 12``, ``line #12``, ``line no. 12``, ``lines 12-13`` (the first number) or ``L12``.
Text before the answer line, such as the model's reasoning, is ignored. A reply with no such
line is *unparsed*. An answer whose text starts with ``none``, ``no``, ``safe``, ``n/a`` or
``not vulnerable`` says the file is clean; one naming a CWE or a line flags it, even without
the other (and is then graded on what it gives). Only the first CWE and the first line in
the answer count: the suite plants one flaw per file, and the prompt asks for one.

Grading, per sample:

- ``cwe_correct``: the file is vulnerable and the answer names its CWE, or one of the more
  specific CWEs listed in `ACCEPTED_CWES` (CWE-121 for CWE-787, say). Parents (CWE-119,
  CWE-77, CWE-20, CWE-74) are not accepted: they name a broader class than the one planted.
- ``line_correct``: the file is vulnerable and the answer's line is within `LINE_TOLERANCE`
  (one) of the recorded line. The prompt numbers every line, so the slack is not for
  counting: a flaw is often two adjacent statements (a command built, then run; a buffer
  freed, then read), and the generator records one of them and keeps the other next to it.
  The line is graded whatever the CWE says.
- ``flagged``: the answer says there is a flaw (names a CWE or a line).
- ``false_positive``: the file is a non-vulnerable twin and the answer flags it.

Over a set: CWE and line accuracy are over the vulnerable samples; the detection rate is the
share of vulnerable samples flagged; the false-positive rate is the share of twins flagged;
the unparsed rate is over all samples. An unparsed answer is neither correct nor a false
positive.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

LINE_TOLERANCE = 1
"""An answer's line counts as correct within this many lines of the recorded one."""

ACCEPTED_CWES: dict[str, frozenset[str]] = {
    "CWE-89": frozenset({"CWE-89"}),
    "CWE-78": frozenset({"CWE-78"}),
    "CWE-22": frozenset({"CWE-22", "CWE-23", "CWE-36"}),
    "CWE-787": frozenset({"CWE-787", "CWE-120", "CWE-121", "CWE-122"}),
    "CWE-416": frozenset({"CWE-416"}),
    "CWE-190": frozenset({"CWE-190", "CWE-680"}),
    "CWE-798": frozenset({"CWE-798", "CWE-259", "CWE-321"}),
    "CWE-502": frozenset({"CWE-502"}),
}
"""For each planted CWE, the identifiers that name it: itself and its more specific children
in MITRE's research view (relative and absolute path traversal; stack- and heap-based and
classic buffer overflow; integer overflow to buffer overflow; hard-coded password and key)."""

Verdict = Literal["vulnerable", "none", "unparsed"]

_ANSWER_LINE = re.compile(r"answer\W{0,4}?\s*[:=]\s*(?P<body>.*)$", re.IGNORECASE)
_DECORATION = re.compile(r"[*_`~]+")
_CWE = re.compile(r"\bcwe[\s:_-]*(?P<num>\d{1,5})\b", re.IGNORECASE)
_LINE = re.compile(
    r"(?:\blines?\s*(?:no\.?|number|num\.?|#|:)?\s*|\bL)(?P<num>\d{1,6})\b", re.IGNORECASE
)
_NONE = re.compile(r"^\W*(?:none|no\b|nothing|safe\b|n/a|not\s+vulnerable)", re.IGNORECASE)


@dataclass(frozen=True)
class Answer:
    """A parsed reply: the verdict, and the CWE (``"CWE-89"``) and line it names, if any."""

    verdict: Verdict
    cwe: str | None = None
    line: int | None = None
    text: str | None = None
    """The body of the answer line, as written."""

    @property
    def flagged(self) -> bool:
        """Whether the answer says the file has a flaw."""
        return self.verdict == "vulnerable"


def normalize_cwe(text: str) -> str | None:
    """``"CWE-89"`` from any spelling the parser accepts (``"cwe 089"``), else None."""
    match = _CWE.search(text)
    return f"CWE-{int(match['num'])}" if match else None


def format_answer(cwe: str | None, line: int | None) -> str:
    """The canonical answer line: ``ANSWER: CWE-89 line 12``, or ``ANSWER: none``."""
    if cwe is None and line is None:
        return "ANSWER: none"
    parts = [p for p in (cwe, None if line is None else f"line {line}") if p is not None]
    return "ANSWER: " + " ".join(parts)


def parse_answer(reply: str) -> Answer:
    """The answer in ``reply``: its last answer line, read as described in the module doc."""
    body: str | None = None
    for raw in reversed(reply.splitlines()):
        match = _ANSWER_LINE.search(raw)
        if match:
            body = match["body"]
            break
    if body is None:
        return Answer("unparsed")
    text = body.strip()
    plain = _DECORATION.sub(" ", text).strip()
    if _NONE.match(plain):
        return Answer("none", text=text)
    cwe = normalize_cwe(plain)
    line_match = _LINE.search(_CWE.sub(" ", plain))
    line = int(line_match["num"]) if line_match else None
    if cwe is None and line is None:
        return Answer("unparsed", text=text)
    return Answer("vulnerable", cwe, line, text)


def cwe_matches(expected: str, given: str | None) -> bool:
    """Whether ``given`` names the planted weakness ``expected`` (see `ACCEPTED_CWES`)."""
    if given is None:
        return False
    return given in ACCEPTED_CWES.get(expected, frozenset({expected}))


@dataclass(frozen=True)
class Grade:
    """One sample's grade. Every field is False for a fact that does not apply."""

    vulnerable: bool
    parsed: bool
    flagged: bool
    cwe_correct: bool
    line_correct: bool
    false_positive: bool

    def as_value(self) -> dict[str, int]:
        """The grade as 0/1 numbers, the shape stored in an Inspect score."""
        return {name: int(getattr(self, name)) for name in GRADE_FIELDS}


GRADE_FIELDS = (
    "vulnerable",
    "parsed",
    "flagged",
    "cwe_correct",
    "line_correct",
    "false_positive",
)


def grade(answer: Answer, *, cwe: str | None, line: int | None) -> Grade:
    """Grade ``answer`` against a sample's key: ``cwe`` and ``line`` are None for a twin."""
    vulnerable = cwe is not None
    flagged = answer.flagged
    return Grade(
        vulnerable=vulnerable,
        parsed=answer.verdict != "unparsed",
        flagged=flagged,
        cwe_correct=vulnerable and flagged and cwe_matches(cwe or "", answer.cwe),
        line_correct=(
            vulnerable
            and flagged
            and line is not None
            and answer.line is not None
            and abs(answer.line - line) <= LINE_TOLERANCE
        ),
        false_positive=not vulnerable and flagged,
    )


@dataclass(frozen=True)
class Summary:
    """Rates over a set of grades; NaN where the set has no sample the rate is over."""

    samples: int
    vulnerable: int
    twins: int
    cwe_accuracy: float
    line_accuracy: float
    detection_rate: float
    false_positive_rate: float
    unparsed_rate: float


def summarize(values: Iterable[Mapping[str, float]]) -> Summary:
    """Rates over grades given as `Grade.as_value` mappings.

    Values may be fractions (Inspect's mean over epochs): a sample counts as vulnerable when
    its ``vulnerable`` value is at least one half, and its other values are averaged as
    they are.
    """
    rows = list(values)
    vuln = [r for r in rows if r["vulnerable"] >= 0.5]
    twins = [r for r in rows if r["vulnerable"] < 0.5]
    return Summary(
        samples=len(rows),
        vulnerable=len(vuln),
        twins=len(twins),
        cwe_accuracy=_mean(r["cwe_correct"] for r in vuln),
        line_accuracy=_mean(r["line_correct"] for r in vuln),
        detection_rate=_mean(r["flagged"] for r in vuln),
        false_positive_rate=_mean(r["false_positive"] for r in twins),
        unparsed_rate=_mean(1.0 - r["parsed"] for r in rows),
    )


def standard_errors(values: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """The standard error of each rate of `summarize`, over the same samples it averages:
    ``sqrt(s² / n)`` with the sample variance ``s²`` (as Inspect's ``stderr`` metric
    computes it); NaN where fewer than two samples make the rate."""
    rows = list(values)
    vuln = [r for r in rows if r["vulnerable"] >= 0.5]
    twins = [r for r in rows if r["vulnerable"] < 0.5]
    return {
        "cwe_accuracy": _stderr([r["cwe_correct"] for r in vuln]),
        "line_accuracy": _stderr([r["line_correct"] for r in vuln]),
        "detection_rate": _stderr([r["flagged"] for r in vuln]),
        "false_positive_rate": _stderr([r["false_positive"] for r in twins]),
        "unparsed_rate": _stderr([1.0 - r["parsed"] for r in rows]),
    }


def _stderr(items: list[float]) -> float:
    n = len(items)
    if n < 2:
        return math.nan
    mean = math.fsum(items) / n
    variance = math.fsum((x - mean) ** 2 for x in items) / (n - 1)
    return math.sqrt(variance / n)


def _mean(values: Iterable[float]) -> float:
    items = [float(v) for v in values]
    return math.fsum(items) / len(items) if items else math.nan
