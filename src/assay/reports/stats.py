"""95% intervals from Inspect's standard errors, and the comparison with a baseline.

Inspect's ``stderr()`` metric is the standard error of the mean by the central limit
theorem (the sample standard deviation over the square root of n, or a clustered variant).
An interval of ``value ± 1.96 · stderr`` is therefore the normal approximation that this
standard error supports, and nothing stronger: with few samples, or a proportion near 0 or
1, it is only approximate. The report says so in its methods section.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

Z_95: Final = 1.96
"""The normal quantile for a two-sided 95% interval, rounded as evaluation reports use it."""

Bounds = tuple[float, float]
"""The range a metric can take: (low, high)."""

PROPORTION: Final[Bounds] = (0.0, 1.0)

# Names of metrics that are shares of samples. Inspect's own ``accuracy`` and the built-in
# suites' ``*_accuracy`` and ``*_rate`` metrics are all proportions. ``mean`` is left out on
# purpose: it averages whatever a scorer returns (0/1, 0-10, ...), so its range must be
# declared on the row instead.
_PROPORTION_NAMES: Final = frozenset({"accuracy", "precision", "recall", "f1", "proportion"})
_PROPORTION_SUFFIXES: Final = ("_accuracy", "_rate", "_proportion", "_share")

INTERVAL_METHOD: Final = (
    "95% intervals are the metric's value plus or minus 1.96 times the standard error that "
    "Inspect reports (a normal approximation), limited to the metric's range where that range "
    "is known (0 to 1 for proportions). Two results show a clear difference only when their "
    "intervals do not overlap; this test is conservative, so overlapping intervals do not "
    "show that two models perform alike."
)
"""The method in words, printed in the report and carried in its JSON."""


def metric_bounds(metric: str) -> Bounds | None:
    """The range implied by a metric's name: ``(0, 1)`` for proportions, else None."""
    name = metric.strip().lower()
    if name in _PROPORTION_NAMES or name.endswith(_PROPORTION_SUFFIXES):
        return PROPORTION
    return None


def resolve_bounds(
    metric: str, values: Iterable[float], declared: Bounds | None = None
) -> Bounds | None:
    """The range to clamp intervals to.

    A declared range wins. A range inferred from the name applies only if every value lies
    in it: a value outside means the name misled us, and clamping would then give an
    interval that does not contain its own value.
    """
    if declared is not None:
        return declared
    inferred = metric_bounds(metric)
    if inferred is None or not all(inferred[0] <= v <= inferred[1] for v in values):
        return None
    return inferred


@dataclass(frozen=True, slots=True)
class Interval:
    """A closed interval [low, high]."""

    low: float
    high: float

    def contains(self, x: float) -> bool:
        return self.low <= x <= self.high


def interval(value: float, stderr: float | None, bounds: Bounds | None = None) -> Interval | None:
    """The 95% interval ``value ± 1.96 · stderr``, clamped to ``bounds`` when given.

    This is the normal approximation that Inspect's standard error of the mean supports.
    None when there is no standard error, or when it is so large that the interval is not
    a finite number.
    """
    if stderr is None:
        return None
    half = Z_95 * stderr
    low, high = value - half, value + half
    if not (math.isfinite(low) and math.isfinite(high)):
        return None
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return Interval(low, high)


def overlaps(a: Interval, b: Interval) -> bool:
    """Whether two closed intervals share at least one point."""
    return a.low <= b.high and b.low <= a.high


class Outcome(StrEnum):
    """How a window result sits against a baseline. The words are neutral on purpose: a
    difference is a measurement, not a verdict."""

    HIGHER = "higher"
    LOWER = "lower"
    NO_CLEAR_DIFFERENCE = "no_clear_difference"
    NOT_COMPARED = "not_compared"
    """One side has no standard error, so there is no interval to compare."""


@dataclass(frozen=True, slots=True)
class Comparison:
    """A window result against one baseline."""

    difference: float
    """The window's value minus the baseline's."""
    outcome: Outcome
    """``higher``/``lower`` when the 95% intervals do not overlap, else
    ``no_clear_difference``; ``not_compared`` when either interval is missing."""


def compare(
    value: float,
    stderr: float | None,
    baseline_value: float,
    baseline_stderr: float | None,
    bounds: Bounds | None = None,
) -> Comparison:
    """Compares a window result with a baseline by the overlap of their 95% intervals."""
    difference = value - baseline_value
    mine = interval(value, stderr, bounds)
    theirs = interval(baseline_value, baseline_stderr, bounds)
    if mine is None or theirs is None:
        return Comparison(difference, Outcome.NOT_COMPARED)
    if overlaps(mine, theirs):
        return Comparison(difference, Outcome.NO_CLEAR_DIFFERENCE)
    return Comparison(difference, Outcome.HIGHER if difference > 0 else Outcome.LOWER)
