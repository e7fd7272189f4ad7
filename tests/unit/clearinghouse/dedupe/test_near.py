"""Near duplicates: text features, signatures, and the index's verdicts."""

from __future__ import annotations

import zlib
from dataclasses import replace

import numpy as np
import pytest
from datasketch import MinHash, MinHashLSH
from hypothesis import given, settings
from hypothesis import strategies as st

from assay.clearinghouse.dedupe import near
from assay.clearinghouse.dedupe.near import (
    DEFAULT_NUM_PERM,
    NearIndex,
    from_bytes,
    lsh_params,
    near_scope,
    normalize_text,
    shingles,
    signature,
    signatures,
    similarity,
    to_bytes,
)
from assay.formats.model import Finding, Package

from .reports import DIFFERENT, LIGHT, SAME, Report

# The settings' defaults (near_duplicate_threshold, near_duplicate_band).
THRESHOLD, BAND = 0.8, 0.15


def sig_of(report: Report) -> near.Signature:
    return signature(normalize_text(*report))


def random_sig(rng: np.random.Generator, n: int = DEFAULT_NUM_PERM) -> near.Signature:
    return rng.integers(0, 2**32, n, dtype=np.uint32)


def variant(sig: near.Signature, agree: int, rng: np.random.Generator) -> near.Signature:
    """A signature that agrees with `sig` in exactly `agree` values."""
    out = sig.copy()
    out[agree:] = sig[agree:] ^ rng.integers(1, 2**32, len(sig) - agree, dtype=np.uint32)
    return out


# --- text ------------------------------------------------------------------------------------


def test_normalize_text_keeps_words_and_names() -> None:
    text = normalize_text(
        "SQL Injection in getUserById (CWE-89)",
        "Line 42 of app/db.py, commit 4ee28649c65c392d, at 0x7ffd5e8c: the `user_id` flows in.",
        "cursor.execute(q)",
    )
    words, _, names = text.partition(" | ")
    # Split at camelCase, stemmed, stop words ("by", "of", "the") and one-letter words,
    # numbers, the commit id and the address dropped; the CWE id kept whole.
    assert words.split() == [
        "sql", "inject", "get", "user", "id", "cwe89",
        "lin", "app", "db", "py", "commit", "user", "id", "flow", "cursor", "execut",
    ]  # fmt: skip
    # camelCase, dotted and quoted names and every name in the code, once each.
    assert names.split() == ["getuserbyid", "db", "py", "user_id", "cursor", "execute"]


def test_numbers_hex_and_spacing_do_not_count() -> None:
    a = normalize_text("Heap overflow at 0x7ffd5e8c", "In parse() at line 12 (v1.2.3).", None)
    b = normalize_text("heap   OVERFLOW at 0xdeadbeef", "In parse() at line 981 (v2.0).", None)
    assert a == b
    assert normalize_text(None, None, None) == ""
    assert normalize_text("12 34", "0x10 -- !!", "") == ""
    # Other scripts are not split or stemmed beyond the suffix rules, but they count.
    assert normalize_text("Débordement de TAMPON", None, None) == "débordement de tampon"
    assert normalize_text("缓冲区溢出", None, None) == "缓冲区溢出"


def test_shingles() -> None:
    assert shingles("b a b") == {b"a", b"b"}
    assert shingles("a b c", k=2) == {b"a b", b"b c"}
    assert shingles("a", k=3) == {b"a"}
    weighted = {f"get_user#{copy}".encode() for copy in range(near.IDENT_WEIGHT)}
    assert shingles("a | get_user") == {b"a", *weighted}
    assert shingles("") == set()
    with pytest.raises(ValueError, match="k must"):
        shingles("a", k=0)


# --- signatures ------------------------------------------------------------------------------


@pytest.mark.parametrize(("num_perm", "k"), [(128, 1), (64, 1), (128, 2)])
def test_signature_is_datasketch_minhash_with_crc32(num_perm: int, k: int) -> None:
    for _, a, b in SAME[:4]:
        for report in (a, b):
            text = normalize_text(*report)
            sketch = MinHash(num_perm=num_perm, hashfunc=zlib.crc32, scheme="affine32")
            sketch.update_batch(shingles(text, k))
            assert np.array_equal(signature(text, num_perm, k), sketch.hashvalues)


def test_batch_signatures_equal_single_ones() -> None:
    texts = [normalize_text(*r) for _, a, b in SAME + DIFFERENT for r in (a, b)] * 40
    batch = signatures(texts)
    assert len(batch) == len(texts)
    assert all(np.array_equal(s, signature(t)) for s, t in zip(batch, texts, strict=True))
    assert signatures([]) == []
    with pytest.raises(ValueError, match="empty"):
        signatures(["a", ""])
    with pytest.raises(ValueError, match="empty"):
        signature("")


def test_similarity_estimates_jaccard() -> None:
    for _, a, b in SAME + DIFFERENT:
        x, y = shingles(normalize_text(*a)), shingles(normalize_text(*b))
        exact = len(x & y) / len(x | y)
        estimate = similarity(sig_of(a), sig_of(b))
        # Four standard errors of a 128-permutation estimate.
        assert abs(estimate - exact) <= 4 * (exact * (1 - exact) / 128) ** 0.5 + 1e-9
    s = sig_of(SAME[0][1])
    assert similarity(s, s) == 1.0
    with pytest.raises(ValueError, match="different sizes"):
        similarity(s, s[:64])


def test_signatures_survive_storage() -> None:
    s = sig_of(SAME[0][1])
    data = to_bytes(s)
    assert len(data) == 1 + 4 * DEFAULT_NUM_PERM
    back = from_bytes(data)
    assert back.dtype == np.uint32 and np.array_equal(back, s)
    back[0] = 0  # a writable copy, not a view of the stored bytes
    # Another format version (signatures made with other features) is refused, as are
    # bytes of the wrong length.
    other_versions = [bytes((v,)) + data[1:] for v in (0, near.FORMAT_VERSION + 1)]
    for bad in (b"", data[:-1], *other_versions, data[:5]):
        with pytest.raises(ValueError, match="not a signature"):
            from_bytes(bad)
        assert not near.is_current(bad)
    assert near.is_current(data) and not near.is_current(None)
    assert not near.is_current(data, num_perm=64)


def test_many_stored_signatures_decode_at_once() -> None:
    sigs = [sig_of(report) for _, a, b in SAME for report in (a, b)]
    matrix = near.from_bytes_many([to_bytes(s) for s in sigs])
    assert matrix.shape == (len(sigs), DEFAULT_NUM_PERM) and matrix.dtype == np.uint32
    assert all(np.array_equal(row, s) for row, s in zip(matrix, sigs, strict=True))
    assert near.from_bytes_many([]).shape == (0, DEFAULT_NUM_PERM)
    with pytest.raises(ValueError, match="not a signature"):
        near.from_bytes_many([to_bytes(sigs[0]), b"\x00" + to_bytes(sigs[0])[1:]])


# --- the report pairs ------------------------------------------------------------------------


def verdict(a: Report, b: Report) -> str | None:
    index = NearIndex(THRESHOLD, BAND)
    index.add("first", "pkg:pypi/shop", sig_of(a))
    matches = index.query("pkg:pypi/shop", sig_of(b))
    return matches[0].verdict if matches else None


def test_paraphrased_reports_of_one_bug_are_found() -> None:
    verdicts = {label: verdict(a, b) for label, a, b in SAME}
    found = [label for label, v in verdicts.items() if v is not None]
    # Measured: 5 duplicates and 6 possible duplicates of 14; the three misses are the
    # heaviest rewordings (reflected XSS, ReDoS, and the authorization pair with no code).
    assert len(found) >= 11, verdicts
    assert sum(v == "duplicate" for v in verdicts.values()) >= 5, verdicts
    assert all(verdicts[label] == "duplicate" for label in LIGHT), verdicts


def test_different_bugs_in_one_project_are_not_matched() -> None:
    verdicts = {label: verdict(a, b) for label, a, b in DIFFERENT}
    assert all(v is None for v in verdicts.values()), verdicts
    # Even the hardest pair, two SQL injections in one file told by one reporter, stays
    # below the possible-duplicate floor.
    hardest = max(similarity(sig_of(a), sig_of(b)) for _, a, b in DIFFERENT)
    assert hardest < THRESHOLD - BAND


# --- the index -------------------------------------------------------------------------------


def test_verdicts_follow_threshold_and_band() -> None:
    rng = np.random.default_rng(1)
    base = random_sig(rng)
    index = NearIndex(threshold=0.8, band=0.1)
    for agree in (128, 103, 102, 90, 89, 40):  # 1.0, .805, .797, .703, .695, .31
        index.add(f"agree-{agree}", "scope", variant(base, agree, rng))
    matches = index.query("scope", base)
    assert [(m.item_id, m.verdict) for m in matches] == [
        ("agree-128", "duplicate"),
        ("agree-103", "duplicate"),
        ("agree-102", "possible_duplicate"),
        ("agree-90", "possible_duplicate"),
    ]
    assert matches[1].similarity == 103 / 128


def test_scopes_are_kept_apart() -> None:
    rng = np.random.default_rng(2)
    s = random_sig(rng)
    index = NearIndex()
    index.add("a", "pkg:npm/left", s)
    assert index.query("pkg:npm/right", s) == []
    assert [m.item_id for m in index.query("pkg:npm/left", s)] == ["a"]
    assert index.scopes() == ["pkg:npm/left"] and len(index) == 1


def test_an_item_is_reported_once_with_its_best_verdict() -> None:
    rng = np.random.default_rng(3)
    base = random_sig(rng)
    index = NearIndex(threshold=0.8, band=0.15)
    index.add("v1", "s", variant(base, 95, rng))
    index.add("v1", "s", variant(base, 120, rng))
    index.add("v2", "s", variant(base, 110, rng))
    assert [(m.item_id, m.verdict) for m in index.query("s", base)] == [
        ("v1", "duplicate"),
        ("v2", "duplicate"),
    ]


def test_conflicting_identifiers_make_at_most_a_possible_duplicate() -> None:
    rng = np.random.default_rng(4)
    s = random_sig(rng)
    index = NearIndex()
    index.add("cve-1", "pkg:pypi/rdiffweb", s, ids=["CVE-2022-3221", "PYSEC-2022-278"])
    index.add("plain", "pkg:pypi/rdiffweb", s)
    found = index.query("pkg:pypi/rdiffweb", s, ids=["CVE-2022-3267"])
    assert [(m.item_id, m.verdict) for m in found] == [
        ("plain", "duplicate"),
        ("cve-1", "possible_duplicate"),
    ]
    same_cve = index.query("pkg:pypi/rdiffweb", s, ids=["CVE-2022-3221"])
    assert {m.verdict for m in same_cve} == {"duplicate"}
    # A GHSA against a CVE is no conflict: the GHSA may be that CVE's advisory.
    ghsa = index.query("pkg:pypi/rdiffweb", s, ids=["GHSA-v6wp-4m6f-gcjg"])
    assert {m.verdict for m in ghsa} == {"duplicate"}


def test_far_apart_lines_make_at_most_a_possible_duplicate() -> None:
    rng = np.random.default_rng(5)
    s = random_sig(rng)
    index = NearIndex(max_line_distance=20)
    index.add("near", "repo:file.py", s, line=100)
    index.add("far", "repo:file.py", s, line=200)
    index.add("unknown", "repo:file.py", s)
    found = {m.item_id: m.verdict for m in index.query("repo:file.py", s, line=110)}
    assert found == {"near": "duplicate", "far": "possible_duplicate", "unknown": "duplicate"}
    unguarded = NearIndex(max_line_distance=None)
    unguarded.add("far", "repo:file.py", s, line=200)
    assert unguarded.query("repo:file.py", s, line=1)[0].verdict == "duplicate"


def test_lsh_params_reach_the_floor() -> None:
    for floor in (0.5, 0.65, 0.7, 0.8, 0.9):
        bands, rows = lsh_params(floor, 128)
        assert bands * rows <= 128
        assert 1 - (1 - floor**rows) ** bands >= near.LSH_RECALL
        # One more row per band would miss the recall: the banding is as strict as allowed.
        more = rows + 1
        assert 1 - (1 - floor**more) ** (128 // more) < near.LSH_RECALL
    assert NearIndex(0.8, 0.15).bands * NearIndex(0.8, 0.15).rows <= 128


def test_large_scopes_use_lsh_and_agree_with_datasketch() -> None:
    rng = np.random.default_rng(6)
    index = NearIndex(threshold=0.8, band=0.15)
    reference = MinHashLSH(num_perm=128, params=(index.bands, index.rows))
    permutations = np.stack(near._permutations(128))
    sigs: dict[str, near.Signature] = {}
    queries = [random_sig(rng) for _ in range(20)]
    for i in range(near.SCAN_LIMIT * 3):
        if i % 10 == 0:
            # Planted look-alikes of the queries, at similarities around the floor.
            sig = variant(queries[i // 10 % 20], int(rng.integers(70, 129)), rng)
        else:
            sig = random_sig(rng)
        sigs[f"item-{i}"] = sig
        index.add(f"item-{i}", "big", sig)
        reference.insert(
            f"item-{i}", MinHash(hashvalues=sig, permutations=permutations, scheme="affine32")
        )
    assert index._scopes["big"].buckets is not None  # the banding is in use
    for query in queries:
        candidates = reference.query(
            MinHash(hashvalues=query, permutations=permutations, scheme="affine32")
        )
        expected = {key for key in candidates if similarity(query, sigs[key]) >= index.floor}
        assert {m.item_id for m in index.query("big", query)} == expected
        # What the banding misses is what it is allowed to miss: nothing at or above the
        # threshold in these draws.
        exact = {key for key, sig in sigs.items() if similarity(query, sig) >= THRESHOLD}
        assert exact <= expected


def test_the_index_checks_its_input() -> None:
    with pytest.raises(ValueError, match="threshold"):
        NearIndex(threshold=0)
    with pytest.raises(ValueError, match="band"):
        NearIndex(threshold=0.5, band=0.5)
    with pytest.raises(ValueError, match="num_perm"):
        NearIndex(num_perm=1)
    index = NearIndex()
    with pytest.raises(ValueError, match="128 values"):
        index.add("a", "s", np.zeros(64, dtype=np.uint32))
    with pytest.raises(ValueError, match="128 values"):
        index.query("s", np.zeros(64, dtype=np.uint32))
    assert index.query("nowhere", np.zeros(128, dtype=np.uint32)) == []


# --- scopes ----------------------------------------------------------------------------------


def test_near_scope() -> None:
    npm = Package("npm", "lodash", "pkg:npm/lodash@4.17.20")
    pypi = Package("PyPI", "Django", None)
    f = Finding(source_format="osv", source_ref="x", packages=(npm, pypi))
    assert near_scope(f) == "pkg:npm/lodash"
    assert (
        near_scope(Finding(source_format="osv", source_ref="x", packages=(pypi,))) == "pypi:django"
    )
    located = Finding(
        source_format="sarif",
        source_ref="x",
        repository="git@github.com:Acme/Shop.git",
        path="file:///github/workspace/app/db.py",
    )
    assert near_scope(located) == "github.com/acme/shop:app/db.py"
    assert near_scope(
        Finding(source_format="sarif", source_ref="x", repository="https://github.com/acme/shop")
    ) == ("github.com/acme/shop")
    # A path without a repository could be anyone's "src/index.js": no near matching.
    assert near_scope(Finding(source_format="sarif", source_ref="x", path="src/index.js")) == ""


def test_one_origin_never_duplicates_itself() -> None:
    rng = np.random.default_rng(7)
    s = random_sig(rng)
    index = NearIndex()
    index.add("first", "scope", s, origin="submission-1")
    assert index.query("scope", s, origin="submission-1")[0].verdict == "possible_duplicate"
    assert index.query("scope", s, origin="submission-2")[0].verdict == "duplicate"
    assert index.query("scope", s)[0].verdict == "duplicate"


# --- the fast path intake takes ------------------------------------------------------------

# Text like reports: words, names in every case style, code punctuation, numbers, CWE ids,
# quotes and other scripts.
REPORT_TEXT = st.lists(
    st.sampled_from(
        [
            "SQL",
            "injection",
            "in",
            "getUserById",
            "user_id",
            "`user_id`",
            "os.path.join",
            "CWE-89",
            "cwe_79",
            "0x7ffd5e8c",
            "v1.2.3",
            "42",
            "the",
            "a",
            "Débordement",
            "缓冲区",
            "'quoted'",
            "(x)",
            "=",
            ";",
            "\n",
            "  ",
            "validates",
            "validation",
            "parse()",
            'request.args.get("q")',
            "MAX_SIZE",
            "def",
            "return",
        ]
    )
    | st.text(max_size=8),
    max_size=25,
).map(" ".join)
OPTIONAL_TEXT = st.none() | REPORT_TEXT


@settings(max_examples=200, deadline=None)
@given(OPTIONAL_TEXT, OPTIONAL_TEXT, OPTIONAL_TEXT)
def test_feature_hashes_are_the_features_of_the_normalized_text(
    title: str | None, description: str | None, code: str | None
) -> None:
    text = normalize_text(title, description, code)
    features = near.feature_hashes(title, description, code)
    assert features == set(near._feature_hashes(text, 1))
    if features:
        [sig] = near.minhash([features])
        assert np.array_equal(sig, signature(text))


def test_minhash_of_many_feature_sets_equals_one_by_one() -> None:
    reports = [r for _, a, b in SAME + DIFFERENT for r in (a, b)] * 30
    sets = [near.feature_hashes(*r) for r in reports]
    for sig, report in zip(near.minhash(sets), reports, strict=True):
        assert np.array_equal(sig, sig_of(report))
    assert near.minhash([]) == []
    with pytest.raises(ValueError, match="empty"):
        near.minhash([{1}, set()])


SNIPPET = "def handler(request):\n    name = request.args['q']\n    run(name)\n    return ok\n"


def test_near_code_is_the_region_within_its_context() -> None:
    located = Finding(
        source_format="sarif",
        source_ref="x",
        snippet=SNIPPET,
        snippet_line=10,
        start_line=12,
        end_line=12,
    )
    assert near.near_code(located) == "    run(name)"
    assert near.near_code(replace(located, end_line=13)) == "    run(name)\n    return ok"
    # Without the snippet's position, or with a region outside it, the snippet counts whole.
    for unknown in (
        replace(located, snippet_line=None),
        replace(located, start_line=None),
        replace(located, start_line=9),
        replace(located, start_line=30, end_line=30),
        replace(located, end_line=11),
    ):
        assert near.near_code(unknown) == SNIPPET
    assert near.near_code(replace(located, snippet=None)) is None


@settings(max_examples=100, deadline=None)
@given(
    # Lines of code: no line breaks inside, not empty (a trailing empty line is no line).
    st.lists(st.text(st.characters(exclude_characters="\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"),
                     min_size=1), min_size=1, max_size=8),
    st.integers(1, 10_000),
    st.data(),
)  # fmt: skip
def test_near_code_shifts_with_its_context(
    lines: list[str], first_line: int, data: st.DataObject
) -> None:
    # The same flagged line shown with other context, or at other line numbers, gives the
    # same code: what a second reporter's snippet of the same bug differs in.
    flagged = data.draw(st.integers(0, len(lines) - 1))
    f = Finding(
        source_format="sarif",
        source_ref="x",
        snippet="\n".join(lines),
        snippet_line=first_line,
        start_line=first_line + flagged,
    )
    shifted = replace(
        f,
        snippet="\n".join(["context above", *lines, "context below"]),
        snippet_line=first_line + 40,
        start_line=first_line + 41 + flagged,
    )
    assert near.near_code(f) == lines[flagged] == near.near_code(shifted)


def test_an_index_can_be_cleared() -> None:
    rng = np.random.default_rng(8)
    index = NearIndex()
    index.add("a", "scope", random_sig(rng))
    index.clear()
    assert len(index) == 0 and index.scopes() == []
