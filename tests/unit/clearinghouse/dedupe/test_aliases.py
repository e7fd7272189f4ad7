"""Identifier spelling, and merging identifiers transitively."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assay.clearinghouse.dedupe.aliases import (
    MAX_ALIAS_LENGTH,
    AliasGraph,
    components,
    conflicting,
    normalize_alias,
    normalize_aliases,
)

CHECK = settings(max_examples=50, deadline=None)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("CVE-2021-44228", "CVE-2021-44228"),
        (" cve-2021-44228 ", "CVE-2021-44228"),
        ("CVE-2021-044228", "CVE-2021-44228"),
        ("CVE-2014-0160", "CVE-2014-0160"),
        ("ghsa-V6WP-4m6f-GCJG", "GHSA-v6wp-4m6f-gcjg"),
        ("pysec-2021-76", "PYSEC-2021-76"),
        ("osv-2020-111", "OSV-2020-111"),
        ("go-2022-0001", "GO-2022-0001"),
        ("rustsec-2021-0001", "RUSTSEC-2021-0001"),
        ("mal-2024-1234", "MAL-2024-1234"),
        ("dsa-5012-1", "DSA-5012-1"),
        ("RHSA-2021:1234", "RHSA-2021:1234"),
        ("snyk-js-lodash-567746", "SNYK-JS-LODASH-567746"),
        ("BIT-airflow-2023-50943", "BIT-airflow-2023-50943"),
        ("openSUSE-SU-2024:10003-1", "OPENSUSE-SU-2024:10003-1"),
        ("https://osv.dev/vulnerability/PYSEC-2021-76", "PYSEC-2021-76"),
        ("https://github.com/advisories/GHSA-v6wp-4m6f-gcjg/", "GHSA-v6wp-4m6f-gcjg"),
    ],
)
def test_known_spellings(raw: str, expected: str) -> None:
    assert normalize_alias(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "CVE-21-1234",  # two-digit year
        "CVE-2021-123",  # fewer than four digits
        "CVE-1988-1234",  # before the CVE program
        "CVE-2021-12a4",
        "CVE-\u0662\u0660\u0662\u0661-44228",  # Arabic-Indic digits
        "GHSA-aaaa-bbbb-cccc",  # letters GitHub never uses
        "GHSA-v6wp-4m6f",
        "PYSEC-2021",
        "RUSTSEC-21-1",
        "CWE-79",
        "NVD-CWE-Other",
        "CAPEC-66",
        "foo",
        "no digits-here",
        "BDSA-2020-1001 (CVE-2020-11022)",
        "X-" + "1" * MAX_ALIAS_LENGTH,
    ],
)
def test_invalid_identifiers(raw: str) -> None:
    assert normalize_alias(raw) is None


@CHECK
@given(st.text(max_size=40))
def test_normalizing_is_idempotent(raw: str) -> None:
    once = normalize_alias(raw)
    if once is not None:
        assert normalize_alias(once) == once
        assert len(once) <= MAX_ALIAS_LENGTH


@CHECK
@given(
    st.sampled_from(["CVE-{y}-{n:04d}", "PYSEC-{y}-{n}", "GO-{y}-{n:04d}", "RUSTSEC-{y}-{n:04d}"]),
    st.integers(1999, 2099),
    st.integers(1, 10**7),
    st.randoms(use_true_random=False),
)
def test_case_does_not_matter(template: str, year: int, number: int, rnd: random.Random) -> None:
    text = template.format(y=year, n=number)
    mixed = "".join(c.upper() if rnd.random() < 0.5 else c.lower() for c in text)
    assert normalize_alias(mixed) == normalize_alias(text) == text


def test_normalize_aliases_sorts_and_drops_the_invalid() -> None:
    assert normalize_aliases(["cve-2021-1234", "junk", "CVE-2021-1234", "GHSA-v6wp-4m6f-gcjg"]) == [
        "CVE-2021-1234",
        "GHSA-v6wp-4m6f-gcjg",
    ]


def test_conflicting_identifiers() -> None:
    assert conflicting({"CVE-2022-1000"}, {"CVE-2022-2000"})
    assert conflicting({"CVE-2022-1000", "GHSA-v6wp-4m6f-gcjg"}, {"CVE-2022-2000"})
    assert not conflicting({"CVE-2022-1000"}, {"CVE-2022-1000", "CVE-2022-2000"})
    # Ids of different databases may alias each other: no conflict.
    assert not conflicting({"CVE-2022-1000"}, {"GHSA-v6wp-4m6f-gcjg"})
    assert not conflicting(set(), {"CVE-2022-1000"})
    assert not conflicting({"CVE-2022-1000"}, set())
    # Any shared identifier, and they are one vulnerability.
    assert not conflicting({"CVE-2022-1000", "PYSEC-2022-1"}, {"CVE-2022-2000", "PYSEC-2022-1"})
    # A distribution advisory covers many vulnerabilities: two of them do not conflict.
    assert not conflicting({"DSA-5012-1"}, {"DSA-5020-1"})
    assert conflicting({"DSA-5012-1", "GHSA-v6wp-4m6f-gcjg"}, {"DSA-5020-1", "GHSA-jfh8-c2jp-5v3q"})


# --- merging ---------------------------------------------------------------------------------

IDS = st.sampled_from([f"ID-{i}" for i in range(12)])
PAIRS = st.lists(st.tuples(IDS, IDS), max_size=20)


def reference_partition(pairs: list[tuple[str, str]]) -> list[tuple[str, ...]]:
    """Connected components by graph search: what union-find must agree with."""
    neighbours: dict[str, set[str]] = {}
    for a, b in pairs:
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    seen: set[str] = set()
    groups = []
    for start in neighbours:
        if start in seen:
            continue
        stack, group = [start], set()
        while stack:
            node = stack.pop()
            if node not in group:
                group.add(node)
                stack.extend(neighbours[node] - group)
        seen |= group
        groups.append(tuple(sorted(group)))
    return sorted(groups)


@CHECK
@given(PAIRS)
def test_the_partition_is_the_connected_components(pairs: list[tuple[str, str]]) -> None:
    assert components(pairs) == reference_partition(pairs)


@CHECK
@given(PAIRS, st.randoms(use_true_random=False))
def test_order_and_direction_of_unions_do_not_matter(
    pairs: list[tuple[str, str]], rnd: random.Random
) -> None:
    shuffled = [(b, a) if rnd.random() < 0.5 else (a, b) for a, b in pairs]
    rnd.shuffle(shuffled)
    assert components(shuffled) == components(pairs)


@CHECK
@given(PAIRS)
def test_unions_are_idempotent(pairs: list[tuple[str, str]]) -> None:
    graph = AliasGraph()
    for a, b in pairs:
        graph.merge(a, b)
    before = graph.groups()
    for a, b in pairs:
        graph.merge(a, b)
        graph.merge(b, a)
    assert graph.groups() == before


@CHECK
@given(PAIRS, IDS, IDS, IDS)
def test_same_group_is_symmetric_and_transitive(
    pairs: list[tuple[str, str]], a: str, b: str, c: str
) -> None:
    graph = AliasGraph()
    for x, y in pairs:
        graph.merge(x, y)
    assert graph.same(a, b) == graph.same(b, a)
    if graph.same(a, b) and graph.same(b, c):
        assert graph.same(a, c)
    assert graph.same(a, a)


@CHECK
@given(st.lists(st.lists(IDS, min_size=1, max_size=5), max_size=8))
def test_add_unions_a_whole_record(records: list[list[str]]) -> None:
    graph = AliasGraph()
    roots = [graph.add(record) for record in records]
    for record, root in zip(records, roots, strict=True):
        assert all(graph.same(alias, record[0]) for alias in record)
        assert graph.same(root, record[0])
    pairs = [(record[0], alias) for record in records for alias in record]
    assert graph.groups() == components(pairs)


def test_graph_basics() -> None:
    graph = AliasGraph()
    root = graph.add(["PYSEC-2021-76", "CVE-2021-21330"])
    assert graph.find("CVE-2021-21330") == graph.find("PYSEC-2021-76") == root
    graph.add(["GHSA-v6wp-4m6f-gcjg", "CVE-2021-21330"])
    assert graph.group("GHSA-v6wp-4m6f-gcjg") == (
        "CVE-2021-21330",
        "GHSA-v6wp-4m6f-gcjg",
        "PYSEC-2021-76",
    )
    assert len(graph) == 3 and "CVE-2021-21330" in graph and "CVE-1999-0001" not in graph
    # An identifier never added is a group of its own.
    assert graph.find("CVE-1999-0001") == "CVE-1999-0001"
    assert graph.group("CVE-1999-0001") == ("CVE-1999-0001",)
    assert not graph.same("CVE-1999-0001", "CVE-2021-21330")
    with pytest.raises(ValueError, match="at least one"):
        graph.add([])


def test_long_chains_stay_shallow() -> None:
    graph = AliasGraph()
    for i in range(10_000):
        graph.merge(f"A-{i}", f"A-{i + 1}")
    assert graph.find("A-0") == graph.find("A-10000")
    assert len(graph.groups()) == 1
