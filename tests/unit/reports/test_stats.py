"""The interval and comparison math, by example and by property."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assay.reports.stats import (
    PROPORTION,
    Z_95,
    Interval,
    Outcome,
    compare,
    interval,
    metric_bounds,
    overlaps,
    resolve_bounds,
)

VALUES = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
STDERRS = st.floats(min_value=0.0, max_value=1e6, allow_nan=False)
SHARES = st.floats(min_value=0.0, max_value=1.0)
SHARE_STDERRS = st.floats(min_value=0.0, max_value=2.0)
OPTIONAL_STDERRS = st.none() | STDERRS


def test_interval_is_value_plus_minus_1_96_stderr() -> None:
    iv = interval(0.5, 0.1)
    assert iv is not None
    assert (iv.low, iv.high) == pytest.approx((0.304, 0.696))


def test_interval_is_clamped_to_a_proportion() -> None:
    low = interval(0.02, 0.02, PROPORTION)
    high = interval(0.99, 0.05, PROPORTION)
    assert low is not None and high is not None
    assert low.low == 0.0 and low.high == pytest.approx(0.0592)
    assert high.low == pytest.approx(0.892) and high.high == 1.0


def test_no_stderr_no_interval() -> None:
    assert interval(0.5, None) is None


def test_an_interval_too_wide_to_be_finite_is_none() -> None:
    assert interval(0.0, 1e308) is None


@pytest.mark.parametrize(
    ("metric", "bounds"),
    [
        ("accuracy", PROPORTION),
        ("cwe_accuracy", PROPORTION),
        ("false_positive_rate", PROPORTION),
        ("Compliance_Rate", PROPORTION),
        ("mean", None),
        ("mean_tokens", None),
        ("stderr", None),
    ],
)
def test_metric_bounds_by_name(metric: str, bounds: tuple[float, float] | None) -> None:
    assert metric_bounds(metric) == bounds


def test_a_declared_range_wins_and_an_inferred_one_yields_to_the_values() -> None:
    assert resolve_bounds("mean", [0.4], (0.0, 1.0)) == (0.0, 1.0)
    assert resolve_bounds("accuracy", [0.4, 0.9]) == PROPORTION
    # A "rate" of 3.5 is not a proportion: clamping would lose the value itself.
    assert resolve_bounds("error_rate", [3.5]) is None


def test_compare_examples() -> None:
    assert compare(0.625, 0.05, 0.3, 0.04).outcome is Outcome.HIGHER
    assert compare(0.3, 0.04, 0.625, 0.05).outcome is Outcome.LOWER
    assert compare(0.625, 0.05, 0.6, 0.05).outcome is Outcome.NO_CLEAR_DIFFERENCE
    assert compare(0.625, 0.05, 0.6, None).outcome is Outcome.NOT_COMPARED
    assert compare(0.625, 0.05, 0.3, 0.04).difference == pytest.approx(0.325)


@given(VALUES, STDERRS)
def test_interval_contains_its_value_and_is_symmetric(value: float, stderr: float) -> None:
    iv = interval(value, stderr)
    assert iv is not None
    assert iv.contains(value)
    assert iv.high - value == pytest.approx(value - iv.low, rel=1e-9, abs=1e-6)
    assert iv.high - iv.low == pytest.approx(2 * Z_95 * stderr, rel=1e-9, abs=1e-6)


@given(SHARES, SHARE_STDERRS)
def test_clamped_interval_stays_in_range_and_contains_its_value(
    value: float, stderr: float
) -> None:
    iv = interval(value, stderr, PROPORTION)
    assert iv is not None
    assert 0.0 <= iv.low <= value <= iv.high <= 1.0
    unclamped = interval(value, stderr)
    assert unclamped is not None
    assert iv.low == max(0.0, unclamped.low)
    assert iv.high == min(1.0, unclamped.high)


@given(VALUES, STDERRS, STDERRS)
def test_interval_widens_with_stderr(value: float, a: float, b: float) -> None:
    narrow, wide = interval(value, min(a, b)), interval(value, max(a, b))
    assert narrow is not None and wide is not None
    assert wide.low <= narrow.low and narrow.high <= wide.high


@given(VALUES, VALUES, VALUES, VALUES)
def test_overlap_is_symmetric(a: float, b: float, c: float, d: float) -> None:
    first = Interval(min(a, b), max(a, b))
    second = Interval(min(c, d), max(c, d))
    assert overlaps(first, second) == overlaps(second, first)
    assert overlaps(first, first)


@given(VALUES, OPTIONAL_STDERRS, VALUES, OPTIONAL_STDERRS)
def test_compare_is_antisymmetric(v1: float, s1: float | None, v2: float, s2: float | None) -> None:
    forward, backward = compare(v1, s1, v2, s2), compare(v2, s2, v1, s1)
    assert forward.difference == -backward.difference
    mirror = {
        Outcome.HIGHER: Outcome.LOWER,
        Outcome.LOWER: Outcome.HIGHER,
        Outcome.NO_CLEAR_DIFFERENCE: Outcome.NO_CLEAR_DIFFERENCE,
        Outcome.NOT_COMPARED: Outcome.NOT_COMPARED,
    }
    assert backward.outcome is mirror[forward.outcome]


@given(VALUES, OPTIONAL_STDERRS, VALUES, OPTIONAL_STDERRS)
def test_a_clear_difference_agrees_with_the_sign_and_needs_both_intervals(
    v1: float, s1: float | None, v2: float, s2: float | None
) -> None:
    result = compare(v1, s1, v2, s2)
    if s1 is None or s2 is None:
        assert result.outcome is Outcome.NOT_COMPARED
    elif result.outcome is Outcome.HIGHER:
        assert v1 > v2
    elif result.outcome is Outcome.LOWER:
        assert v1 < v2
    if s1 is not None and s2 is not None and v1 == v2:
        assert result.outcome is Outcome.NO_CLEAR_DIFFERENCE


@given(SHARES, SHARE_STDERRS, SHARES, SHARE_STDERRS)
def test_clamping_never_changes_a_comparison_of_proportions(
    v1: float, s1: float, v2: float, s2: float
) -> None:
    assert compare(v1, s1, v2, s2, PROPORTION).outcome is compare(v1, s1, v2, s2).outcome


@given(VALUES, VALUES, STDERRS)
def test_equal_stderrs_differ_clearly_only_beyond_two_half_widths(
    v1: float, v2: float, stderr: float
) -> None:
    outcome = compare(v1, stderr, v2, stderr).outcome
    gap = abs(v1 - v2)
    half = Z_95 * stderr
    # Leave out values within rounding of the boundary, where either answer is right.
    if not math.isclose(gap, 2 * half, rel_tol=1e-9, abs_tol=1e-9):
        assert (outcome is Outcome.NO_CLEAR_DIFFERENCE) == (gap < 2 * half)
