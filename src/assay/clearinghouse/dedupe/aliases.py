"""Public vulnerability identifiers: one spelling per identifier, and transitive merging.

Two records that share an identifier describe one vulnerability, and so do two records
linked through a chain of them (a PYSEC record aliasing a CVE that a GHSA also aliases).
`AliasGraph` is a union-find over identifiers that keeps that relation symmetric and
transitive by construction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_ALIAS_LENGTH = 100  # the width of the database column

# ASCII digits only: "\d" would also take other scripts' digits.
_CVE = re.compile(r"CVE-(\d{4})-(\d{4,19})", re.ASCII)
_GHSA = re.compile(r"GHSA((?:-[23456789cfghjmpqrvwx]{4}){3})")
# Databases whose ids are PREFIX-YEAR-NUMBER, written in capitals.
_YEAR_NUMBER = re.compile(r"(PYSEC|OSV|GO|RUSTSEC|GSD|GMS|HSEC|JLSEC|MAL)-(\d{4})-(\d+)", re.ASCII)
_STRUCTURED = {"CVE", "GHSA", "PYSEC", "OSV", "GO", "RUSTSEC", "GSD", "GMS", "HSEC", "JLSEC", "MAL"}
# Other databases whose ids are all capitals (Debian, Ubuntu, Red Hat, Alma, Rocky, Oracle,
# Snyk, Black Duck, Mageia, SUSE, Alpine, Chainguard, curl, Python Software Foundation).
_UPPER = {"DSA", "DLA", "DTSA", "USN", "RHSA", "RHBA", "RHEA", "ALSA", "ALBA", "ALEA", "RLSA"}
_UPPER |= {"RXSA", "ELSA", "SNYK", "BDSA", "MGASA", "SUSE", "DEBIAN", "UBUNTU", "ALPINE", "CGA"}
_UPPER |= {"CURL", "PSF", "UVI"}
# Weakness and attack-pattern catalogues are not vulnerabilities.
_NOT_VULNERABILITIES = {"CWE", "CAPEC", "NVD", "OWASP", "WASC"}
_OTHER = re.compile(r"([A-Za-z][A-Za-z0-9]{0,19})-([A-Za-z0-9][A-Za-z0-9._:-]*)")
_DIGIT = re.compile(r"\d", re.ASCII)


def normalize_alias(value: str) -> str | None:
    """The canonical spelling of a vulnerability identifier, or None if `value` is not one.

    CVE ids are upper case with the number's superfluous leading zeros dropped
    (``cve-2021-044228`` is ``CVE-2021-44228``); GHSA ids keep the prefix upper and the body
    lower, as GitHub writes them; PYSEC, OSV, GO, RUSTSEC and the like are upper case. An
    identifier of another database (``DSA-5012-1``, ``RHSA-2021:1234``, ``mal-2024-1``)
    must look like ``PREFIX-body`` with a digit in the body: its prefix is upper-cased and,
    for databases known to write ids in capitals, its body too. A URL whose last segment is
    an identifier (``https://osv.dev/vulnerability/PYSEC-2021-76``) gives that identifier.
    Ids of a known database that break its format, CWE and CAPEC ids, and anything longer
    than `MAX_ALIAS_LENGTH` give None.
    """
    text = value.strip()
    if "://" in text:
        text = text.rstrip("/").rsplit("/", 1)[-1]
    if not text or len(text) > MAX_ALIAS_LENGTH:
        return None
    upper = text.upper()
    prefix = upper.split("-", 1)[0]
    if prefix in _STRUCTURED:
        return _structured(prefix, upper)
    match = _OTHER.fullmatch(text)
    if match is None or prefix in _NOT_VULNERABILITIES or not _DIGIT.search(match.group(2)):
        return None
    if prefix in _UPPER:
        return upper
    return f"{prefix}-{match.group(2)}"


def _structured(prefix: str, upper: str) -> str | None:
    if prefix == "CVE":
        cve = _CVE.fullmatch(upper)
        if cve is None or int(cve.group(1)) < 1999:
            return None
        return f"CVE-{cve.group(1)}-{int(cve.group(2)):04d}"
    if prefix == "GHSA":
        ghsa = _GHSA.fullmatch(upper.lower().replace("ghsa", "GHSA", 1))
        return f"GHSA{ghsa.group(1)}" if ghsa else None
    return upper if _YEAR_NUMBER.fullmatch(upper) else None


def normalize_aliases(values: Iterable[str]) -> list[str]:
    """The valid identifiers among `values`, normalized, deduplicated, sorted."""
    return sorted({alias for alias in map(normalize_alias, values) if alias})


def conflicting(a: Iterable[str], b: Iterable[str]) -> bool:
    """Whether two sets of normalized identifiers name different vulnerabilities: they
    share none, and some database that gives each vulnerability one id (CVE, GHSA, PYSEC,
    OSV, GO, RUSTSEC, ...) has ids on both sides.

    A CVE on one side and a GHSA on the other do not conflict (the GHSA may be that CVE's
    advisory); ``CVE-2022-1`` against ``CVE-2022-2`` does, as the CVE program assigned two
    ids. Distribution advisories (DSA, USN, RHSA) never conflict: one covers many bugs.
    """
    mine: dict[str, set[str]] = {}
    for alias in a:
        mine.setdefault(alias.split("-", 1)[0], set()).add(alias)
    if not mine:
        return False
    theirs: dict[str, set[str]] = {}
    for alias in b:
        database = alias.split("-", 1)[0]
        if alias in mine.get(database, ()):
            return False
        theirs.setdefault(database, set()).add(alias)
    return any(database in theirs for database in mine if database in _STRUCTURED)


class AliasGraph:
    """Union-find over identifiers: path compression and union by size.

    Identifiers are taken as given (normalize them first with `normalize_alias`). An
    identifier never added is its own group. Symmetry and transitivity hold by
    construction; the partition depends only on which pairs were merged, never on their
    order, though which member represents a group may.
    """

    __slots__ = ("_parent", "_size")

    def __init__(self) -> None:
        self._parent: dict[str, str] = {}
        self._size: dict[str, int] = {}

    def __contains__(self, alias: object) -> bool:
        return alias in self._parent

    def __len__(self) -> int:
        return len(self._parent)

    def _ensure(self, alias: str) -> None:
        if alias not in self._parent:
            self._parent[alias] = alias
            self._size[alias] = 1

    def find(self, alias: str) -> str:
        """The representative of `alias`'s group (`alias` itself when unknown)."""
        parent = self._parent
        root = alias
        while True:
            up = parent.get(root, root)
            if up == root:
                break
            root = up
        while alias != root:  # compress: point the whole path at the root
            parent[alias], alias = root, parent[alias]
        return root

    def merge(self, a: str, b: str) -> str:
        """Put `a` and `b` in one group; return its representative."""
        self._ensure(a)
        self._ensure(b)
        root_a, root_b = self.find(a), self.find(b)
        if root_a == root_b:
            return root_a
        if self._size[root_a] < self._size[root_b]:
            root_a, root_b = root_b, root_a
        self._parent[root_b] = root_a
        self._size[root_a] += self._size.pop(root_b)
        return root_a

    def add(self, aliases: Iterable[str]) -> str:
        """Put all `aliases` in one group; return its representative. At least one is needed."""
        iterator = iter(aliases)
        try:
            first = next(iterator)
        except StopIteration:
            raise ValueError("add() needs at least one identifier") from None
        self._ensure(first)
        root = self.find(first)
        for alias in iterator:
            root = self.merge(root, alias)
        return root

    def same(self, a: str, b: str) -> bool:
        """Whether `a` and `b` are in one group."""
        return a == b or self.find(a) == self.find(b)

    def group(self, alias: str) -> tuple[str, ...]:
        """The sorted members of `alias`'s group (walks every identifier: for occasional use)."""
        root = self.find(alias)
        members = [other for other in self._parent if self.find(other) == root]
        return tuple(sorted(members)) if members else (alias,)

    def groups(self) -> list[tuple[str, ...]]:
        """Every group as a sorted tuple, groups sorted: the same partition always prints
        the same."""
        by_root: dict[str, list[str]] = {}
        for alias in self._parent:
            by_root.setdefault(self.find(alias), []).append(alias)
        return sorted(tuple(sorted(members)) for members in by_root.values())


def components(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, ...]]:
    """The connected components of identifier pairs (``(a, a)`` adds `a` alone), as
    `AliasGraph.groups` gives them."""
    graph = AliasGraph()
    for a, b in pairs:
        graph.merge(a, b)
    return graph.groups()
