"""CVSS vectors, parsed and scored with RedHat's ``cvss`` library.

Versions 3.0, 3.1 and 4.0 are accepted; a CVSS v2 vector is refused by name. A vector
is taken as written (CVSS vectors are case-sensitive) apart from surrounding whitespace.
Some formats (CycloneDX ratings, for one) carry a vector without its ``CVSS:3.1/`` prefix
and name the version elsewhere: pass that version as ``assume_version``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, cast

from cvss import CVSS3, CVSS4  # type: ignore[import-untyped, unused-ignore]
from cvss.exceptions import CVSSError  # type: ignore[import-untyped, unused-ignore]

CvssVersion = Literal["3.0", "3.1", "4.0"]

VERSIONS: tuple[CvssVersion, ...] = ("3.0", "3.1", "4.0")
"""Oldest first: ``best_score`` prefers a later entry."""

_BASE_METRICS_4 = frozenset({"AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA"})
_PREFIX = re.compile(r"^CVSS:(\d+\.\d+)/")
_V2_SHAPE = re.compile(r"(^|/)Au:[MSN](/|$)")


class InvalidCvssVector(ValueError):
    """A vector that cannot be parsed; the message names the vector and what is wrong."""

    def __init__(self, vector: str, reason: str) -> None:
        super().__init__(f"invalid CVSS vector {vector!r}: {reason}")
        self.vector = vector
        self.reason = reason


@dataclass(frozen=True)
class CvssScore:
    """One parsed vector and its scores."""

    version: CvssVersion
    vector: str
    """The normalized vector: metrics in the specification's order, ``X`` values dropped."""
    base_score: float
    """The base score (CVSS-B for 4.0): threat, temporal and environmental metrics ignored."""
    severity: str
    """The qualitative rating of ``base_score``: None, Low, Medium, High or Critical."""
    score: float
    """The score with every metric the vector gives: 3.x's environmental score (which is the
    temporal, or the base, score when those metrics are absent), 4.0's CVSS-BT/BE/BTE score.
    Equal to ``base_score`` for a vector of base metrics only."""


def parse_cvss(vector: str, *, assume_version: CvssVersion | None = None) -> CvssScore:
    """Parse and score a CVSS 3.0, 3.1 or 4.0 vector.

    ``assume_version`` supplies the ``CVSS:x.y/`` prefix of a vector written without one; a
    vector's own prefix always wins (CycloneDX's ``CVSSv3`` method, for one, is used for
    3.0 and 3.1 vectors alike). Raises ``InvalidCvssVector``.
    """
    text = vector.strip()
    if not text:
        raise InvalidCvssVector(vector, "the vector is empty")
    match = _PREFIX.match(text)
    if match is None and assume_version is not None:
        text = f"CVSS:{assume_version}/{text}"
        match = _PREFIX.match(text)
    if match is None:
        if _V2_SHAPE.search(text):
            raise InvalidCvssVector(
                vector, "CVSS v2 vectors are not supported (only 3.0, 3.1, 4.0)"
            )
        raise InvalidCvssVector(
            vector, "expected it to start with CVSS:3.0/, CVSS:3.1/ or CVSS:4.0/"
        )
    version = match.group(1)
    if version in ("3.0", "3.1"):
        return _parse3(vector, text, cast(CvssVersion, version))
    if version == "4.0":
        return _parse4(vector, text)
    raise InvalidCvssVector(vector, f"CVSS version {version} is not supported (3.0, 3.1, 4.0)")


def _parse3(original: str, text: str, version: CvssVersion) -> CvssScore:
    try:
        parsed = CVSS3(text)
    except CVSSError as exc:
        raise InvalidCvssVector(original, str(exc)) from exc
    scores = parsed.scores()
    return CvssScore(
        version=version,
        vector=str(parsed.clean_vector()),
        base_score=float(scores[0]),
        severity=str(parsed.severities()[0]),
        score=float(scores[2]),
    )


def _parse4(original: str, text: str) -> CvssScore:
    try:
        full = CVSS4(text)
        clean = str(full.clean_vector())
        prefix, *metrics = clean.split("/")
        base_only = "/".join(
            [prefix, *(m for m in metrics if m.split(":", 1)[0] in _BASE_METRICS_4)]
        )
        base = full if base_only == clean else CVSS4(base_only)
    except CVSSError as exc:
        raise InvalidCvssVector(original, str(exc)) from exc
    return CvssScore(
        version="4.0",
        vector=clean,
        base_score=float(base.base_score),
        severity=str(base.severity),
        score=float(full.base_score),
    )


def best_score(
    vectors: Iterable[str | CvssScore], *, skip_invalid: bool = False
) -> CvssScore | None:
    """The score to show for a vulnerability that has several vectors, or None if it has none.

    The newest CVSS version present wins (4.0, then 3.1, then 3.0): a newer specification
    describes the same flaw better, and a 4.0 score and a 3.1 score are not on the same
    scale. Among vectors of that version the highest base score wins (the worst case), and
    among equal scores the vector that sorts first, so the choice never depends on order.

    A malformed vector raises ``InvalidCvssVector``, unless ``skip_invalid`` is set.
    """
    parsed: list[CvssScore] = []
    for item in vectors:
        if isinstance(item, CvssScore):
            parsed.append(item)
            continue
        try:
            parsed.append(parse_cvss(item))
        except InvalidCvssVector:
            if not skip_invalid:
                raise
    if not parsed:
        return None
    return min(parsed, key=lambda s: (-VERSIONS.index(s.version), -s.base_score, s.vector))
