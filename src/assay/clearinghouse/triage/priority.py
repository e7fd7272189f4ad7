"""The triage queue's order: SSVC outcome, then KEV, then EPSS, then CVSS.

``priority_key`` is a sort key (ascending: most urgent first); ``priority_rank`` is the
same order as one integer for an indexed column (descending: most urgent first), so that
``sorted(xs, key=priority_key)`` and ``sorted(xs, key=priority_rank, reverse=True)`` agree
on every pair, ties included.

1. SSVC: Act, Attend, Track*, Track, then no decision.
2. In CISA's KEV catalog before not in it.
3. Higher EPSS first; no EPSS score last.
4. Higher CVSS base score first; no score last.

EPSS is compared at the precision FIRST publishes (5 decimals) and CVSS at its own (one
decimal): values closer than that are ties. That is what lets one integer carry the order.
"""

from __future__ import annotations

import math

from assay.clearinghouse.triage.ssvc import SsvcOutcome

SSVC_ORDER: tuple[SsvcOutcome, ...] = (
    SsvcOutcome.ACT,
    SsvcOutcome.ATTEND,
    SsvcOutcome.TRACK_STAR,
    SsvcOutcome.TRACK,
)
EPSS_STEPS = 100_000
"""EPSS in [0, 1] is compared in steps of 0.00001."""
CVSS_STEPS = 100
"""CVSS in [0, 10] is compared in steps of 0.1."""

_SSVC_LEVELS = len(SSVC_ORDER) + 1  # the outcomes and "no decision"
_EPSS_LEVELS = EPSS_STEPS + 2  # 0..EPSS_STEPS, and "missing"
_CVSS_LEVELS = CVSS_STEPS + 2
MAX_RANK = _SSVC_LEVELS * 2 * _EPSS_LEVELS * _CVSS_LEVELS - 1
"""About 1.0e8: the rank fits a 32-bit integer column."""

PriorityKey = tuple[int, int, int, int, int, int]


def _ssvc_index(ssvc: SsvcOutcome | str | None) -> int:
    """0 for Act ... 3 for Track, 4 for no decision."""
    if ssvc is None:
        return len(SSVC_ORDER)
    outcome = ssvc if isinstance(ssvc, SsvcOutcome) else SsvcOutcome.parse(ssvc)
    return SSVC_ORDER.index(outcome)


def _steps(value: float | None, top: float, steps: int, name: str) -> int | None:
    if value is None:
        return None
    if not math.isfinite(value) or not 0.0 <= value <= top:
        raise ValueError(f"{name} must be a number in [0, {top:g}], not {value!r}")
    return round(value * steps / top)


def priority_key(
    ssvc: SsvcOutcome | str | None, in_kev: bool, epss: float | None, cvss: float | None
) -> PriorityKey:
    """A key for ``sorted``: the most urgent item first. ``ssvc`` is an outcome, its display
    name or the table's spelling (``"track*"``), or None for no decision yet; an unknown
    name, an EPSS outside [0, 1] or a CVSS outside [0, 10] raises ``ValueError``."""
    e = _steps(epss, 1.0, EPSS_STEPS, "EPSS")
    c = _steps(cvss, 10.0, CVSS_STEPS, "CVSS")
    return (
        _ssvc_index(ssvc),
        0 if in_kev else 1,
        1 if e is None else 0,
        0 if e is None else -e,
        1 if c is None else 0,
        0 if c is None else -c,
    )


def priority_rank(
    ssvc: SsvcOutcome | str | None, in_kev: bool, epss: float | None, cvss: float | None
) -> int:
    """The same order as one integer in [0, MAX_RANK]: larger is more urgent, so a queue
    orders by it descending. Equal keys give equal ranks."""
    e = _steps(epss, 1.0, EPSS_STEPS, "EPSS")
    c = _steps(cvss, 10.0, CVSS_STEPS, "CVSS")
    ssvc_level = len(SSVC_ORDER) - _ssvc_index(ssvc)  # no decision 0 ... Act 4
    epss_level = 0 if e is None else e + 1
    cvss_level = 0 if c is None else c + 1
    return ((ssvc_level * 2 + int(in_kev)) * _EPSS_LEVELS + epss_level) * _CVSS_LEVELS + (
        cvss_level
    )
