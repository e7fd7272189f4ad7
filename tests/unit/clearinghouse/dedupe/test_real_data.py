"""The engine on real public data: DefectDojo's SARIF deduplication pairs, Semgrep's OWASP
Benchmark log and PyPA advisories. Skipped when the shared data is absent."""

from __future__ import annotations

from dataclasses import replace

import pytest

from assay.clearinghouse.dedupe.aliases import AliasGraph, normalize_aliases
from assay.clearinghouse.dedupe.fingerprint import ExactKey, exact_keys
from assay.clearinghouse.dedupe.near import NearIndex, near_scope, normalize_text, signature
from assay.formats import Finding, parse
from tests.shared_data import SHARED_DATA

# tests/unit/clearinghouse/dedupe -> the repository root -> its sibling "shared" folder.
DATA = SHARED_DATA
BENCHMARK = "https://github.com/OWASP-Benchmark/BenchmarkJava"


def sarif(name: str) -> tuple[Finding, ...]:
    path = DATA / "sarif" / name
    if not path.is_file():
        pytest.skip(f"shared public data not present at {path}")
    return parse(path).findings


def groups(findings: tuple[Finding, ...]) -> list[tuple[int, ...]]:
    """Findings joined by any shared exact key, as lists of their positions."""
    graph = AliasGraph()
    for index, f in enumerate(findings):
        graph.add([f"#{index}", *(key.value for key in exact_keys(f))])
    found = [tuple(int(m[1:]) for m in group if m[0] == "#") for group in graph.groups()]
    return sorted(group for group in found if group)


def first_match(known: tuple[Finding, ...], f: Finding) -> ExactKey | None:
    keys = {key.value for g in known for key in exact_keys(g)}
    return next((key for key in exact_keys(f) if key.value in keys), None)


def test_fabricated_log_has_no_internal_duplicates() -> None:
    findings = sarif("bash-report-fabricated-no-internal-dupes.sarif")
    assert len(findings) == 5
    assert groups(findings) == [(0,), (1,), (2,), (3,), (4,)]


def test_the_subset_is_found_again_by_its_partial_fingerprints() -> None:
    full = sarif("bash-report-fabricated-no-internal-dupes.sarif")
    subset = sarif("bash-report-fabricated-no-internal-dupes-subset.sarif")
    matches = [first_match(full, f) for f in subset]
    assert [m.kind if m else None for m in matches] == ["partial_fingerprint"] * 4


def test_the_computed_key_sees_through_changed_file_hashes() -> None:
    # The fabricated log is the original with its scanFileHash values altered: the partial
    # fingerprints no longer match, the code at the same place does.
    original = sarif("bash-report.sarif")
    fabricated = sarif("bash-report-fabricated-no-internal-dupes.sarif")
    matches = [first_match(original, f) for f in fabricated]
    assert [m.kind if m else None for m in matches] == ["computed"] * 5


def test_one_line_hash_in_two_files_is_two_findings() -> None:
    # Four results with one scanPrimaryLocationHash and one scanFileHash: three at
    # entrypoint_scripts/common/dojo-shared-resources.sh:143, one at
    # setup/scripts/common/dojo-shared-resources.sh:142. Same code, different files: two
    # places to fix (DefectDojo's unique-id rule makes them one).
    findings = sarif("bash-report-subset-same-hash-code-same-unique-id.sarif")
    assert groups(findings) == [(0, 2, 3), (1,)]
    original = sarif("bash-report.sarif")
    assert all(first_match(original, f) is not None for f in findings)


def test_original_log_collapses_to_its_distinct_rule_and_place() -> None:
    findings = sarif("bash-report.sarif")
    found = groups(findings)
    assert len(findings) == 27
    # Twelve (rule, file, line) combinations; DefectDojo counts nine by its hash code,
    # which leaves the file or the rule out.
    assert len(found) == 12
    for group in found:
        assert (
            len({(findings[i].rule_id, findings[i].path, findings[i].start_line) for i in group})
            == 1
        )


def test_rule_boilerplate_in_one_file_is_never_called_a_duplicate() -> None:
    # Semgrep's OWASP Benchmark log has no snippets: results of one rule have one text.
    # In a repository scope 39% of its result pairs are over 0.8 similar; in file scopes,
    # with the line guard, none is called a duplicate.
    findings = sarif("semgrepowasp-benchmark-sample.sarif")
    index = NearIndex(threshold=0.8, band=0.15)
    duplicates = 0
    for position, f in enumerate(findings):
        scope = near_scope(replace(f, repository=f.repository or BENCHMARK))
        sig = signature(normalize_text(f.title, f.description, f.snippet))
        matches = index.query(scope, sig, line=f.start_line)
        duplicates += bool(matches) and matches[0].verdict == "duplicate"
        index.add(str(position), scope, sig, line=f.start_line)
    assert duplicates == 0


@pytest.mark.parametrize(
    ("package", "flagged"), [("rdiffweb", True), ("pillow", False), ("moin", False)]
)
def test_templated_advisories_with_different_cves_are_not_merged(
    package: str, flagged: bool
) -> None:
    # rdiffweb's huntr.dev advisories are word for word alike ("Cross-site Scripting (XSS)
    # - Generic in GitHub repository ikus060/rdiffweb prior to 2.5.0a4") and each has its
    # own CVE: similarity 1.0, and only the identifier guard keeps them apart.
    folder = DATA / "osv" / "pypa" / package
    if not folder.is_dir():
        pytest.skip(f"shared public data not present at {folder}")
    index = NearIndex(threshold=0.8, band=0.15)
    verdicts = []
    for path in sorted(folder.glob("*.yaml")):
        for f in parse(path, "osv", strict=False).findings:
            ids = normalize_aliases(f.aliases)
            sig = signature(normalize_text(f.title, f.description, f.snippet))
            verdicts += [m.verdict for m in index.query(near_scope(f), sig, ids=ids)]
            index.add(f.source_ref or path.stem, near_scope(f), sig, ids=ids)
    assert "duplicate" not in verdicts
    # The look-alikes are still shown to an analyst, as possible duplicates.
    assert "possible_duplicate" in verdicts
