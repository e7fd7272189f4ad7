"""Near duplicates: MinHash signatures of a report's text, and an index of them by scope.

A report's text becomes two kinds of features (`normalize_text`, `shingles`):

- the words of its prose and code, lower-cased, split at camelCase and snake_case,
  crudely stemmed ("validates", "validation" -> "valid"), without stop words, numbers
  (line numbers, versions, ports), hex addresses and hashes;
- the identifiers it names (``get_user``, ``normalize_path_middleware``, ``md5``, a quoted
  ```user_id```, every name in the code snippet), each counted `IDENT_WEIGHT` times.

Word unigrams, not k-grams or character n-grams: two reporters rephrase and reorder. On
the hand-written report pairs in the tests, word bigrams halved the similarity of true
duplicates (median 0.29 against 0.54) and character 4- and 5-grams separated them from
different bugs no better than unigrams. Weighting identifiers is what separates them:
different bugs in one project are told in the same words ("an attacker can inject
arbitrary SQL") about different functions; the same bug is told in other words about the
same ones. With it the median Jaccard of a duplicate pair went from 0.54 to 0.74 and the
most similar pair of different bugs from 0.67 to 0.51.

Signatures are MinHash over those features with datasketch's ``affine32`` permutation
scheme (seed 1) and CRC-32 as the feature hash (the scheme pre-mixes every input hash with
the MurmurHash3 finalizer, so a fast hash is enough): `signature` gives exactly what
``MinHash(num_perm, hashfunc=zlib.crc32, scheme="affine32").update_batch(shingles(text))``
holds, computed in one vectorized step from cached feature hashes. 128 permutations by
default: the standard error of an estimate at 0.8 is 0.035 (0.05 with 64), and the band
between "possible" and "duplicate" is only 0.1 to 0.15 wide; 64 would save nearly nothing,
as a signature's cost is in the call and its features, not in the permutations (measured:
31 microseconds with 128 or with 64).

The text of a scanner's result is mostly its rule's boilerplate, so two results of one
rule read alike wherever they are: `near_scope` puts a located finding in the scope of
its file, and `NearIndex` has guards for what text cannot tell apart.
"""

from __future__ import annotations

import itertools
import re
import zlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt
from datasketch import MinHash  # type: ignore[import-untyped]

from assay.clearinghouse.dedupe.aliases import conflicting
from assay.clearinghouse.dedupe.fingerprint import normalize_path, normalize_repository
from assay.formats.model import Finding

Signature = npt.NDArray[np.uint32]
Verdict = Literal["duplicate", "possible_duplicate"]

DEFAULT_NUM_PERM = 128
IDENT_WEIGHT = 5
SEED = 1
# The first byte of a stored signature: bump it when the features or the hashing change,
# so that signatures made the old way are refused rather than compared.
FORMAT_VERSION = 2
# LSH bands are chosen so that a pair at the lowest similarity still reported (threshold
# minus band) becomes a candidate with at least this probability.
LSH_RECALL = 0.99
_SECTION = " | "

# --- text ------------------------------------------------------------------------------------

_STOP_TEXT = """a an the of to in on at by for from with without into onto over under and or but nor
    so is are was were be been being it its this that these those there here which who whom
    whose what when where why how can could may might must should would will shall do does
    did done has have had having as than then if else not no any all each every some such
    only also via using use used uses just more most very"""
_STOP_WORDS = frozenset(_STOP_TEXT.split())
# Keywords common to most languages: they say nothing about which bug a snippet shows.
_KEYWORD_TEXT = """return if else elif for while do def class const let var function fn func
    char int long void bool self this new import from true false null none nil public private static
    final try catch except finally raise throw throws await async pass end then"""
_KEYWORDS = frozenset(_KEYWORD_TEXT.split())
# A raw token: a word, a number, or a dotted name ("os.path.join", "settings.py", "3.7.4").
_RAW = re.compile(r"\w+(?:\.\w+)*")
# Words inside an ASCII raw token: split at camelCase and snake_case.
_WORD = re.compile(r"[A-Z]?[a-z]+\d*|[A-Z]+\d*(?![a-z])")
_CAMEL = re.compile(r"[a-z][A-Z]")
_HEX = frozenset("0123456789abcdefABCDEF")
_CATALOGUE_ID = re.compile(r"\b(cwe|capec)[-_ ]?(\d+)", re.IGNORECASE)
_CATALOGUE_TOKEN = re.compile(r"(?:cwe|capec)\d+", re.IGNORECASE)
_SUFFIXES = (
    "ations", "ation", "ating", "ated", "ates", "ate", "ions", "ion",
    "ings", "ing", "ed", "es", "s", "ly", "e",
)  # fmt: skip


class _Raw(NamedTuple):
    words: tuple[str, ...]  # stemmed words, for the prose features
    names: tuple[str, ...]  # the identifier parts it names, lower case
    identifier: bool  # whether prose that contains it is naming code


class _Chunk(NamedTuple):
    """What one whitespace-separated chunk of text contributes, as text and as the hashed
    features `signature` takes (so that intake never builds the text only to split it)."""

    words: tuple[str, ...]
    prose_names: tuple[str, ...]  # its names that read as code even in prose
    code_names: tuple[str, ...]  # all its names, for a code snippet
    prose_features: tuple[int, ...]  # its words' hashes, and IDENT_WEIGHT per prose name
    code_features: tuple[int, ...]  # the same with all its names, for a code snippet


# Chunks repeat across reports (a vocabulary, plus the names of one code base), so each is
# analysed once; the cache is dropped whole when it grows past its bound.
_CHUNKS: dict[str, _Chunk] = {}
_CHUNK_CACHE_LIMIT = 150_000
_NOTHING = _Raw((), (), False)
# Punctuation becomes space before splitting (a regex over the whole text costs three
# times as much), except what a chunk's analysis needs: "_" and "." inside names, and the
# quotes and backticks that mark a name in prose.
_SPACES = str.maketrans(
    dict.fromkeys(
        "!#$%&()*+,-/:;<=>?@[\\]^{|}~\u2013\u2014\u2026\u2022\u00b7\u2192\u00ab\u00bb", " "
    )
    | {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'}
)
_QUOTES = "'\"`"


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _analyse(raw: str) -> _Raw:
    # Numbers, versions and line numbers start with a digit (or "v" and a digit, with a
    # dot); hex addresses, hashes and commit ids are long runs of hex digits. None says
    # which bug a report is about.
    if (
        raw[0].isdigit()
        or (raw[0] in "vV" and "." in raw and raw[1:2].isdigit())
        or (len(raw) >= 7 and set(raw) <= _HEX and not raw.isalpha())
    ):
        return _NOTHING
    if _CATALOGUE_TOKEN.fullmatch(raw):
        return _Raw((raw.lower(),), (), False)  # a weakness class, not a name in the code
    # camelCase splitting is for ASCII names; other scripts' words stand as they are.
    pieces = _WORD.findall(raw) if raw.isascii() else re.split(r"[_.]+", raw)
    words = tuple(
        _stem(word)
        for word in (piece.lower() for piece in pieces)
        if len(word) > 1 and word not in _STOP_WORDS
    )
    names = tuple(
        part
        for part in raw.lower().split(".")
        if len(part) > 1
        and not part[0].isdigit()
        and part not in _KEYWORDS
        and part not in _STOP_WORDS
    )
    identifier = (
        "_" in raw
        or "." in raw
        or _CAMEL.search(raw) is not None
        or (not raw.isalpha() and any(char.isalpha() for char in raw))
    )
    return _Raw(words, names, identifier)


def _analyse_chunk(chunk: str) -> _Chunk:
    quoted = chunk[0] in _QUOTES or chunk[-1] in _QUOTES
    words: list[str] = []
    prose_names: list[str] = []
    code_names: list[str] = []
    for raw in _RAW.findall(chunk):
        found = _analyse(raw)
        words += found.words
        code_names += found.names
        if quoted or found.identifier:
            prose_names += found.names
    word_hashes = tuple(_hash(word) for word in dict.fromkeys(words))
    return _Chunk(
        tuple(words),
        tuple(prose_names),
        tuple(code_names),
        word_hashes + _names_hashes(prose_names),
        word_hashes + _names_hashes(code_names),
    )


def _names_hashes(names: list[str]) -> tuple[int, ...]:
    return tuple(value for name in dict.fromkeys(names) for value in _name_hashes(name))


def _split(text: str) -> list[str]:
    lowered = text.lower()
    if "cwe" in lowered or "capec" in lowered:
        # "CWE-89" is one fact: keep its number, which the digit rule would drop.
        text = _CATALOGUE_ID.sub(r"\1\2", text)
    return text.translate(_SPACES).split()


def _chunk(chunk: str) -> _Chunk:
    cache = _CHUNKS
    found = cache.get(chunk)
    if found is None:
        if len(cache) >= _CHUNK_CACHE_LIMIT:
            cache.clear()
            _PROSE_FEATURES.clear()
            _CODE_FEATURES.clear()
        found = cache[chunk] = _analyse_chunk(chunk)
        _PROSE_FEATURES[chunk] = found.prose_features
        _CODE_FEATURES[chunk] = found.code_features
    return found


def _chunks(text: str) -> list[_Chunk]:
    get = _CHUNKS.get
    return [get(chunk) or _chunk(chunk) for chunk in _split(text)]


# The features of each chunk seen, by chunk, for prose and for code: what `feature_hashes`
# looks up (the same entries as _CHUNKS, dropped with it).
_PROSE_FEATURES: dict[str, tuple[int, ...]] = {}
_CODE_FEATURES: dict[str, tuple[int, ...]] = {}


def normalize_text(title: str | None, description: str | None, code: str | None) -> str:
    """The features of a report as text: its words, then ``" | "`` and the identifiers it
    names. Empty when the report has nothing to compare."""
    words: list[str] = []
    names: list[str] = []
    for part, is_code in ((title, False), (description, False), (code, True)):
        if part:
            analyse = _part if len(part) <= _PART_CACHE_TEXT else _part.__wrapped__
            part_words, part_names = analyse(part, is_code)
            words += part_words
            names += part_names
    if not names:
        return " ".join(words)
    # Identifiers in first-seen order, each once: the text must not depend on hash seeds.
    return " ".join(words) + _SECTION + " ".join(dict.fromkeys(names))


# Scanners repeat a rule's title and description in every result of it: remember them
# (texts up to a few kilobytes, so that the cache stays small).
_PART_CACHE_TEXT = 4096


@lru_cache(maxsize=8192)
def _part(text: str, is_code: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    chunks = _chunks(text)
    words = tuple([word for chunk in chunks for word in chunk.words])
    if is_code:
        return words, tuple([name for chunk in chunks for name in chunk.code_names])
    return words, tuple([name for chunk in chunks for name in chunk.prose_names])


def feature_hashes(title: str | None, description: str | None, code: str | None) -> set[int]:
    """The hashed features of a report: the set `signature` hashes for
    ``normalize_text(title, description, code)``, gathered from the analysed chunks without
    building that text (three times faster)."""
    found: set[int] = set()
    if title:
        if len(title) <= _PART_CACHE_TEXT:
            found.update(_title_hashes(title))
        else:
            _add_features(found, title, _PROSE_FEATURES)
    if description:
        _add_features(found, description, _PROSE_FEATURES)
    if code:
        _add_features(found, code, _CODE_FEATURES)
    return found


def _add_features(found: set[int], text: str, cache: dict[str, tuple[int, ...]]) -> None:
    chunks = _split(text)
    get = cache.get
    pieces = [get(chunk, _UNSEEN) for chunk in chunks]
    if _UNSEEN in pieces:
        code = cache is _CODE_FEATURES
        pieces = [
            piece
            if piece is not _UNSEEN
            else (_chunk(chunk).code_features if code else _chunk(chunk).prose_features)
            for piece, chunk in zip(pieces, chunks, strict=True)
        ]
    found.update(*pieces)


_UNSEEN: tuple[int, ...] = (-1,)  # a marker, compared by identity first


# A rule's title comes with every result of it.
@lru_cache(maxsize=4096)
def _title_hashes(text: str) -> frozenset[int]:
    found: set[int] = set()
    _add_features(found, text, _PROSE_FEATURES)
    return frozenset(found)


def near_code(f: Finding) -> str | None:
    """The code a finding points at, for its near-duplicate features.

    When the snippet says where it starts (SARIF's region or context region), only the
    lines of the finding's own region count: tools and reporters show different context
    around the same flagged line (two lines either side, one more after, the enclosing
    ``def``), and context lines are also what two different bugs a few lines apart share.
    A snippet whose position is unknown counts whole.
    """
    snippet = f.snippet
    if not snippet or f.snippet_line is None or f.start_line is None:
        return snippet
    first = f.start_line - f.snippet_line
    last = (f.end_line if f.end_line is not None else f.start_line) - f.snippet_line
    lines = snippet.splitlines()
    if first < 0 or last < first or first >= len(lines):
        return snippet  # the region is not inside the snippet: trust neither, keep all
    return "\n".join(lines[first : last + 1])


def finding_features(f: Finding) -> set[int]:
    """`feature_hashes` of a finding's title, description and `near_code`."""
    return feature_hashes(f.title, f.description, near_code(f))


def shingles(text: str, k: int = 1) -> set[bytes]:
    """The feature set of a `normalize_text` result: word k-grams of the words (unigrams by
    default), and each identifier `IDENT_WEIGHT` times (as ``name#0``, ``name#1``, ...)."""
    return {feature.encode("utf-8", "surrogatepass") for feature in _features(text, k)}


def _features(text: str, k: int) -> set[str]:
    if k < 1:
        raise ValueError("k must be at least 1")
    prose, _, names = text.partition(_SECTION)
    words = prose.split()
    if k == 1:
        features = set(words)
    elif len(words) <= k:
        features = {" ".join(words)} if words else set()
    else:
        features = {" ".join(words[i : i + k]) for i in range(len(words) - k + 1)}
    for name in names.split():
        features.update(f"{name}#{copy}" for copy in range(IDENT_WEIGHT))
    return features


# --- signatures ------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _permutations(num_perm: int) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32]]:
    if num_perm < 2:
        raise ValueError("num_perm must be at least 2")
    sketch: Any = MinHash(num_perm=num_perm, seed=SEED, scheme="affine32")
    a = np.asarray(sketch.permutations[0], dtype=np.uint32)
    b = np.asarray(sketch.permutations[1], dtype=np.uint32)
    return a, b


def _mix(value: int) -> int:
    # The MurmurHash3 finalizer, which datasketch's affine schemes apply to every input
    # hash before permuting it; done here once per feature and remembered.
    value ^= value >> 16
    value = (value * 0x85EBCA6B) & 0xFFFFFFFF
    value ^= value >> 13
    value = (value * 0xC2B2AE35) & 0xFFFFFFFF
    return value ^ (value >> 16)


_HASHES: dict[str, int] = {}
_HASH_CACHE_LIMIT = 100_000


def _hash(feature: str) -> int:
    value = _HASHES.get(feature)
    if value is None:
        if len(_HASHES) >= _HASH_CACHE_LIMIT:
            _HASHES.clear()
        value = _HASHES[feature] = _mix(zlib.crc32(feature.encode("utf-8", "surrogatepass")))
    return value


_NAME_HASHES: dict[str, tuple[int, ...]] = {}


def _name_hashes(name: str) -> tuple[int, ...]:
    copies = _NAME_HASHES.get(name)
    if copies is None:
        if len(_NAME_HASHES) >= _HASH_CACHE_LIMIT:
            _NAME_HASHES.clear()
        # The hashes of "name#0", "name#1", ...: each copy is used once, so not cached alone.
        data = name.encode("utf-8", "surrogatepass")
        copies = tuple(_mix(zlib.crc32(data + b"#%d" % copy)) for copy in range(IDENT_WEIGHT))
        _NAME_HASHES[name] = copies
    return copies


def _feature_hashes(text: str, k: int) -> list[int]:
    if k != 1:
        return [_hash(feature) for feature in _features(text, k)]
    prose, _, names = text.partition(_SECTION)
    words = set(prose.split())
    get = _HASHES.get
    found = [get(word) for word in words]
    hashes = [value for value in found if value is not None]
    if len(hashes) != len(found):
        hashes = [_hash(word) for word in words]
    # A name may repeat (text not made by normalize_text): a minimum does not mind.
    for name in names.split():
        hashes.extend(_name_hashes(name))
    return hashes


def signature(text: str, num_perm: int = DEFAULT_NUM_PERM, k: int = 1) -> Signature:
    """The MinHash signature (``num_perm`` uint32 values) of a `normalize_text` result:
    what datasketch's ``MinHash(num_perm, hashfunc=zlib.crc32, scheme="affine32")`` holds
    after ``update_batch(shingles(text, k))``."""
    hashes = _feature_hashes(text, k)
    if not hashes:
        raise ValueError("no features to sign: the text is empty")
    a, b = _permutations(num_perm)
    hashed = np.array(hashes, dtype=np.uint32)
    result: Signature = (hashed[:, None] * a + b).min(axis=0)
    return result


# Rows of the (features x permutations) product computed at once by `signatures`.
_BATCH_ROWS = 1024


def signatures(
    texts: Sequence[str], num_perm: int = DEFAULT_NUM_PERM, k: int = 1
) -> list[Signature]:
    """`signature` of many texts at once: the same values, about a third faster."""
    return minhash([_feature_hashes(text, k) for text in texts], num_perm)


def minhash(
    hash_lists: Sequence[Collection[int]], num_perm: int = DEFAULT_NUM_PERM
) -> list[Signature]:
    """The signatures of many feature sets (from `feature_hashes`), in a few vectorized
    steps; each equals `signature` of the text the features came from."""
    if any(not hashes for hashes in hash_lists):
        raise ValueError("no features to sign: a text is empty")
    a, b = _permutations(num_perm)
    results: list[Signature] = []
    start = 0
    while start < len(hash_lists):
        stop, rows = start, 0
        while stop < len(hash_lists) and (rows == 0 or rows < _BATCH_ROWS):
            rows += len(hash_lists[stop])
            stop += 1
        chunk = hash_lists[start:stop]
        hashed = np.fromiter(itertools.chain.from_iterable(chunk), dtype=np.uint32, count=rows)
        offsets = np.cumsum([0] + [len(hashes) for hashes in chunk[:-1]])
        minima = np.minimum.reduceat(hashed[:, None] * a + b, offsets, axis=0)
        results.extend(minima)
        start = stop
    return results


def similarity(a: Signature, b: Signature) -> float:
    """The estimated Jaccard similarity of the feature sets behind two signatures."""
    if a.shape != b.shape:
        raise ValueError(f"signatures of different sizes: {a.size} and {b.size}")
    return int(np.count_nonzero(a == b)) / a.size


def to_bytes(sig: Signature) -> bytes:
    """A signature as bytes for storage: a format byte, then little-endian uint32 values."""
    return bytes((FORMAT_VERSION,)) + sig.astype("<u4", copy=False).tobytes()


def from_bytes(data: bytes) -> Signature:
    """The signature `to_bytes` stored; ValueError for bytes of another format."""
    if len(data) < 9 or (len(data) - 1) % 4 or data[0] != FORMAT_VERSION:
        raise ValueError("not a signature of this format")
    stored = np.frombuffer(data, dtype="<u4", offset=1)
    result: Signature = stored.astype(np.uint32)  # a copy: native order, writable
    return result


def is_current(data: bytes | None, num_perm: int = DEFAULT_NUM_PERM) -> bool:
    """Whether stored bytes are a signature of this format with `num_perm` values."""
    return data is not None and len(data) == 1 + 4 * num_perm and data[0] == FORMAT_VERSION


def from_bytes_many(
    stored: Sequence[bytes], num_perm: int = DEFAULT_NUM_PERM
) -> npt.NDArray[np.uint32]:
    """Many stored signatures (each `is_current`) as the rows of one matrix, decoded at
    once: a row at a time costs more than the rest of loading a scope."""
    if not all(is_current(data, num_perm) for data in stored):
        raise ValueError("not a signature of this format")
    joined = b"".join(data[1:] for data in stored)
    matrix: npt.NDArray[np.uint32] = (
        np.frombuffer(joined, dtype="<u4").astype(np.uint32).reshape(len(stored), num_perm)
    )
    return matrix


# --- scopes ----------------------------------------------------------------------------------


def near_scope(f: Finding) -> str:
    """Where a finding's near duplicates may be: its first package (purl without version,
    else ecosystem and name), else its file in its repository, else its repository.

    A file, not a whole repository, for located findings: results of one rule read alike
    wherever they are (in Semgrep's OWASP Benchmark log 39% of the result pairs are over
    0.8 similar, and a repository scope would fold its 1,768 results into 7), and the
    exact keys already join a finding that merely moved within its file. A path with no
    repository gives no scope: "src/index.js" could be anyone's.
    """
    for package in f.packages:
        if package.purl:
            return package.purl.split("@", 1)[0].lower()
        return f"{(package.ecosystem or '').lower()}:{package.name.lower()}"
    repo = normalize_repository(f.repository) if f.repository else ""
    if f.path:
        return f"{repo}:{normalize_path(f.path, repo)}" if repo else ""
    return repo


# --- the index -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Match:
    """An indexed item similar to a query: its id, the estimated similarity, the verdict."""

    item_id: str
    similarity: float
    verdict: Verdict


def lsh_params(floor: float, num_perm: int, recall: float = LSH_RECALL) -> tuple[int, int]:
    """LSH bands and rows: the most rows per band (fewest chance candidates) for which a
    pair at similarity `floor` is a candidate with probability at least `recall`."""
    best = (num_perm, 1)
    for rows in range(1, num_perm // 2 + 1):
        bands = num_perm // rows
        if 1 - (1 - floor**rows) ** bands >= recall:
            best = (bands, rows)
        else:
            break
    return best


# Up to this many items a scope is scanned whole (exact, and faster than banding at this
# size); past it, candidates come from the LSH bands.
SCAN_LIMIT = 128


_NO_TAGS: frozenset[str] = frozenset()
# One band's buckets: the band's bytes -> the row holding them, or the rows.
_Buckets = dict[bytes, int | list[int]]


# The index keeps the low 8 bits of each MinHash value ("b-bit minwise hashing", Li and
# König, 2010): a quarter of the memory of full values, which is what lets an intake of a
# million results hold every signature of the scopes it meets. Two different values agree
# in their low bits with probability 1/256, so an estimate rises by (1 - J) / 256 on
# average: 0.0008 at a true similarity of 0.8, nothing next to the standard error of 128
# permutations (0.035 there). The stored signatures keep all 32 bits.
IndexRow = npt.NDArray[np.uint8]


def _low_bits(sig: Signature) -> IndexRow:
    low: IndexRow = sig.astype(np.uint8)  # the low bits
    return low


class _Scope:
    __slots__ = ("buckets", "item_ids", "lines", "matrix", "origins", "size", "tags")

    def __init__(self, num_perm: int) -> None:
        self.item_ids: list[str] = []
        self.tags: list[frozenset[str]] = []
        self.lines: list[int | None] = []
        self.origins: list[str | None] = []
        self.matrix: IndexRow = np.empty((4, num_perm), dtype=np.uint8)
        self.size = 0
        self.buckets: list[_Buckets] | None = None

    def append(self, row: IndexRow) -> int:
        if self.size == len(self.matrix):
            # Growing by a quarter, not doubling: most scopes stay small, and doubling
            # left a third of a large index's memory unused.
            grown = np.empty((self.size + max(4, self.size // 4), self.matrix.shape[1]), np.uint8)
            grown[: self.size] = self.matrix
            self.matrix = grown
        self.matrix[self.size] = row
        self.size += 1
        return self.size - 1


class NearIndex:
    """Signatures by scope; `query` finds the items of one scope similar to a signature.

    ``threshold``: similarity from which an item is a duplicate. ``band``: how far below the
    threshold an item is still reported, as a possible duplicate.

    Each scope keeps its signatures in one matrix. Up to `SCAN_LIMIT` items a query compares
    against all of them; past that, MinHash LSH picks the candidates: ``bands`` bands of
    ``rows`` values, an item being a candidate when one band is equal, with the banding
    (`lsh_params`) that finds a pair at ``threshold - band`` with probability `LSH_RECALL`.
    Either way a candidate's similarity is estimated from the whole signatures (their low
    8 bits, see `IndexRow`), so the banding decides only what is looked at, never a
    verdict. (The banding is datasketch's
    ``MinHashLSH`` algorithm; it is done here on the signature matrix because datasketch's
    insert and query cost tens of microseconds each, more than the rest of intake.)

    An item may be added more than once (several signatures for one id); a query reports
    each id once, with its best verdict. Three guards keep look-alikes that are known to
    differ from being called duplicates; they are at most possible duplicates:

    - identifiers (normalized aliases) that conflict (`aliases.conflicting`: both name a
      CVE, and not the same one). Advisories written from one template ("XSS in X prior
      to 2.5") read alike and are still different vulnerabilities;
    - start lines more than ``max_line_distance`` apart, when both are given. In a file
      scope (`near_scope`) the text of two results of one rule is the rule's boilerplate,
      and only where they are tells them apart. ``None`` turns this guard off;
    - the same origin, when both are given (a submission, or a submission and tool): one
      scan that reported two results, and gave them different fingerprints, says itself
      that they are two.
    """

    def __init__(
        self,
        threshold: float = 0.8,
        band: float = 0.1,
        num_perm: int = DEFAULT_NUM_PERM,
        max_line_distance: int | None = 20,
    ) -> None:
        if not 0 < threshold <= 1:
            raise ValueError("threshold must be in (0, 1]")
        if not 0 <= band < threshold:
            raise ValueError("band must be in [0, threshold)")
        if num_perm < 2:
            raise ValueError("num_perm must be at least 2")
        self.threshold = threshold
        self.band = band
        self.num_perm = num_perm
        self.max_line_distance = max_line_distance
        self.floor = threshold - band
        # The fewest agreeing values whose share reaches the floor (the same comparison).
        self._floor_count = next(c for c in range(num_perm + 1) if c / num_perm >= self.floor)
        self.bands, self.rows = lsh_params(self.floor, num_perm)
        self._width = self.rows  # bytes per band (8-bit values)
        self._scopes: dict[str, _Scope] = {}

    def __len__(self) -> int:
        return sum(scope.size for scope in self._scopes.values())

    def scopes(self) -> list[str]:
        """The scopes that hold at least one item."""
        return sorted(self._scopes)

    def clear(self) -> None:
        """Forget every item."""
        self._scopes.clear()

    def _check(self, sig: Signature) -> None:
        if sig.shape != (self.num_perm,):
            raise ValueError(f"expected a signature of {self.num_perm} values, got {sig.size}")

    def _band_keys(self, row: IndexRow) -> list[bytes]:
        # A band's key is its bytes; one dict per band, so equal values in two different
        # bands do not meet.
        raw = row.tobytes()
        width = self._width
        return [raw[start : start + width] for start in range(0, self.bands * width, width)]

    def add(
        self,
        item_id: str,
        scope: str,
        sig: Signature,
        *,
        ids: Iterable[str] = (),
        line: int | None = None,
        origin: str | None = None,
    ) -> None:
        """Index `sig` as `item_id` in `scope`, with what the guards look at: the item's
        identifiers, start line and origin."""
        self._check(sig)
        holder = self._scopes.get(scope)
        if holder is None:
            holder = self._scopes[scope] = _Scope(self.num_perm)
        low = _low_bits(sig)
        row = holder.append(low)
        holder.item_ids.append(item_id)
        tags = frozenset(ids)
        holder.tags.append(tags or _NO_TAGS)  # an empty frozenset is 216 bytes each
        holder.lines.append(line)
        holder.origins.append(origin)
        if holder.buckets is not None:
            self._file(holder.buckets, row, low)
        elif holder.size > SCAN_LIMIT:
            holder.buckets = [{} for _ in range(self.bands)]
            for index in range(holder.size):
                self._file(holder.buckets, index, holder.matrix[index])

    def _file(self, buckets: list[_Buckets], row: int, low: IndexRow) -> None:
        for table, key in zip(buckets, self._band_keys(low), strict=True):
            held = table.get(key)
            if held is None:
                table[key] = row  # most buckets hold one row: no list for them
            elif isinstance(held, int):
                table[key] = [held, row]
            else:
                held.append(row)

    def query(
        self,
        scope: str,
        sig: Signature,
        *,
        ids: Iterable[str] = (),
        line: int | None = None,
        origin: str | None = None,
    ) -> list[Match]:
        """The items of `scope` at least ``threshold - band`` similar to `sig`: duplicates
        first, then by decreasing similarity, ties by id."""
        self._check(sig)
        holder = self._scopes.get(scope)
        if holder is None:
            return []
        low = _low_bits(sig)
        if holder.buckets is None:
            counts = _agreement(holder.matrix[: holder.size], low)
            # Most queries match nothing: settle that on the integer counts.
            rows = np.flatnonzero(counts >= self._floor_count)
            if not len(rows):
                return []
            values = counts[rows] / self.num_perm
        else:
            candidates: set[int] = set()
            for table, key in zip(holder.buckets, self._band_keys(low), strict=True):
                held = table.get(key)
                if isinstance(held, int):
                    candidates.add(held)
                elif held is not None:
                    candidates.update(held)
            if not candidates:
                return []
            rows = np.fromiter(candidates, dtype=np.intp, count=len(candidates))
            values = _agreement(holder.matrix[rows], low) / self.num_perm
        keep = np.flatnonzero(values >= self.floor)
        if not len(keep):
            return []
        own = frozenset(ids)
        best: dict[str, Match] = {}
        for row, value in zip(rows[keep].tolist(), values[keep].tolist(), strict=True):
            duplicate = (
                value >= self.threshold
                and not conflicting(own, holder.tags[row])
                and not self._far(line, holder.lines[row])
                and (origin is None or origin != holder.origins[row])
            )
            item_id = holder.item_ids[row]
            match = Match(item_id, value, "duplicate" if duplicate else "possible_duplicate")
            known = best.get(item_id)
            if known is None or _rank(match) > _rank(known):
                best[item_id] = match
        return sorted(best.values(), key=lambda m: (not _rank(m)[0], -m.similarity, m.item_id))

    def _far(self, a: int | None, b: int | None) -> bool:
        limit = self.max_line_distance
        return limit is not None and a is not None and b is not None and abs(a - b) > limit


def _agreement(matrix: IndexRow, low: IndexRow) -> npt.NDArray[np.uint16]:
    # How many values of each row equal the signature's (summing bytes is faster than
    # count_nonzero along rows).
    counts: npt.NDArray[np.uint16] = (matrix == low).view(np.uint8).sum(axis=1, dtype=np.uint16)
    return counts


def _rank(match: Match) -> tuple[bool, float]:
    return (match.verdict == "duplicate", match.similarity)
