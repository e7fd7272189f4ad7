"""The queue order: SSVC, then KEV, then EPSS, then CVSS; the rank agrees with the key."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assay.clearinghouse.triage.priority import MAX_RANK, priority_key, priority_rank
from assay.clearinghouse.triage.ssvc import SsvcOutcome

Item = tuple[str | None, bool, float | None, float | None]

SSVC_VALUES = [None, "Act", "Attend", "Track*", "Track", "act", "track*"]
items = st.tuples(
    st.sampled_from(SSVC_VALUES),
    st.booleans(),
    st.none() | st.floats(min_value=0.0, max_value=1.0),
    st.none() | st.floats(min_value=0.0, max_value=10.0),
)
# Values at the published precisions, so that ties and near-ties are common.
coarse_items = st.tuples(
    st.sampled_from(SSVC_VALUES),
    st.booleans(),
    st.none() | st.integers(0, 100_000).map(lambda n: n / 100_000),
    st.none() | st.integers(0, 100).map(lambda n: n / 10),
)


def _sign(n: int) -> int:
    return (n > 0) - (n < 0)


def _cmp(a: object, b: object) -> int:
    return _sign((a > b) - (a < b))  # type: ignore[operator]


@given(items | coarse_items, items | coarse_items)
def test_the_rank_orders_every_pair_as_the_key_does(a: Item, b: Item) -> None:
    by_key = _cmp(priority_key(*a), priority_key(*b))
    by_rank = _cmp(priority_rank(*b), priority_rank(*a))  # larger rank first
    assert by_key == by_rank


@settings(max_examples=50)
@given(st.lists(coarse_items, max_size=30))
def test_sorting_by_rank_descending_equals_sorting_by_key(xs: list[Item]) -> None:
    by_key = sorted(xs, key=lambda x: priority_key(*x))
    by_rank = sorted(xs, key=lambda x: priority_rank(*x), reverse=True)
    assert [priority_key(*x) for x in by_key] == [priority_key(*x) for x in by_rank]


@given(items)
def test_the_rank_fits_a_32_bit_column(x: Item) -> None:
    assert 0 <= priority_rank(*x) <= MAX_RANK < 2**31


def test_the_levels_in_order() -> None:
    expected: list[Item] = [
        ("Act", True, 0.9, 9.8),
        ("Act", True, 0.9, 5.0),
        ("Act", True, 0.9, None),
        ("Act", True, 0.1, 10.0),
        ("Act", True, None, 10.0),
        ("Act", False, 1.0, 10.0),
        ("Attend", True, 1.0, 10.0),
        ("Track*", True, 1.0, 10.0),
        ("Track", True, 1.0, 10.0),
        ("Track", False, None, None),
        (None, True, 1.0, 10.0),
        (None, False, None, None),
    ]
    shuffled = expected.copy()
    random.Random(7).shuffle(shuffled)
    assert sorted(shuffled, key=lambda x: priority_key(*x)) == expected
    assert sorted(shuffled, key=lambda x: priority_rank(*x), reverse=True) == expected
    assert priority_rank(None, False, None, None) == 0
    assert priority_rank("Act", True, 1.0, 10.0) == MAX_RANK


def test_outcomes_may_be_enum_members_or_either_spelling() -> None:
    assert priority_key(SsvcOutcome.TRACK_STAR, False, None, None) == priority_key(
        "track*", False, None, None
    )


@pytest.mark.parametrize(
    ("ssvc", "epss", "cvss", "message"),
    [
        ("Defer", None, None, "unknown SSVC outcome"),
        (None, 1.5, None, r"EPSS must be a number in \[0, 1\]"),
        (None, float("nan"), None, "EPSS must be"),
        (None, None, 10.1, r"CVSS must be a number in \[0, 10\]"),
        (None, None, -1.0, "CVSS must be"),
    ],
)
def test_bad_values_are_refused(
    ssvc: str | None, epss: float | None, cvss: float | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        priority_key(ssvc, False, epss, cvss)
    with pytest.raises(ValueError, match=message):
        priority_rank(ssvc, False, epss, cvss)
