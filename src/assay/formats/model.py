"""The normalized record every format parses into, and the identifier helpers they share."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple
from urllib.parse import unquote

FormatName = Literal["sarif", "osv", "csaf", "cve5"]
FORMATS: tuple[FormatName, ...] = ("sarif", "osv", "csaf", "cve5")


class Package(NamedTuple):
    """An affected package: OSV ecosystem name when known, package name, package URL."""

    ecosystem: str | None
    name: str
    purl: str | None


@dataclass(frozen=True, slots=True)
class Finding:
    """One SARIF result, OSV record, CSAF vulnerability or CVE record, normalized.

    Sequences are tuples so that a finding is immutable; the fingerprint mappings are left
    out of the hash (equal findings still hash equal) because dicts cannot be hashed.
    The source document itself is not kept: a stream of findings must stay small.
    """

    source_format: FormatName
    source_ref: str
    tool: str | None = None
    rule_id: str | None = None
    title: str | None = None
    description: str | None = None
    cwe_ids: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    severity: str | None = None
    cvss_vectors: tuple[str, ...] = ()
    repository: str | None = None
    path: str | None = None
    start_line: int | None = None
    end_line: int | None = None
    snippet: str | None = None
    # The line number of the snippet's first line, when the source says it (SARIF gives the
    # snippet's region), so that the lines of the finding's own region can be found in it.
    snippet_line: int | None = None
    fingerprints: Mapping[str, str] = field(default_factory=dict, hash=False)
    partial_fingerprints: Mapping[str, str] = field(default_factory=dict, hash=False)
    packages: tuple[Package, ...] = ()
    published: str | None = None
    modified: str | None = None
    # Beyond the common fields: SARIF's result kind ("fail", "pass", ...) and suppression
    # state, and the withdrawal/rejection date of OSV and CVE records, which intake needs to
    # tell a live finding from one that was never (or no longer) a vulnerability.
    kind: str | None = None
    suppressed: bool = False
    withdrawn: str | None = None


# --- CWE identifiers -------------------------------------------------------------------------

# A CWE reference inside free text or a tag: "CWE-89", "cwe_089", "external/cwe/cwe-89",
# "CWE: 89", "CWE-79: Improper Neutralization...". The look-behind keeps "NVD-CWE-Other" and
# words that merely end in "cwe" out.
_CWE_IN_TEXT = re.compile(r"(?<![A-Za-z0-9])cwe[-_: ]?\s*0*([1-9][0-9]{0,5})(?![0-9])", re.I)
_BARE_NUMBER = re.compile(r"\s*0*([1-9][0-9]{0,5})\s*")


def normalize_cwe(value: object) -> str | None:
    """Return "CWE-<n>" for one CWE reference, or None if `value` is not one.

    Accepts the spellings scanners use (`external/cwe/cwe-089`, `CWE-089`, `cwe-89`,
    `CWE:89`), and bare numbers (`89`, `"89"`) because CWE taxonomy entries in SARIF and
    some tools' `cwe` properties carry only the number.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return f"CWE-{value}" if 0 < value < 10_000_000 else None
    if not isinstance(value, str):
        return None
    bare = _BARE_NUMBER.fullmatch(value)
    if bare:
        return f"CWE-{int(bare.group(1))}"
    match = _CWE_IN_TEXT.search(value)
    return f"CWE-{int(match.group(1))}" if match else None


def cwe_tuple(values: Iterable[str | None]) -> tuple[str, ...]:
    """Deduplicate normalized CWE ids and sort them numerically, for stable output."""
    unique = {value for value in values if value}
    return tuple(sorted(unique, key=lambda cwe: int(cwe[4:])))


def cwes_in_tags(tags: object) -> list[str]:
    """CWE ids among free-form tags; bare numbers are not CWE ids here (a tag "89" is not)."""
    if not isinstance(tags, list):
        return []
    found: list[str] = []
    for tag in tags:
        if isinstance(tag, str):
            found.extend(f"CWE-{int(m.group(1))}" for m in _CWE_IN_TEXT.finditer(tag))
    return found


# --- vulnerability identifiers ---------------------------------------------------------------

_VULN_ID = re.compile(
    r"(?<![A-Za-z0-9])(CVE-\d{4}-\d{4,}|GHSA(?:-[23456789cfghjmpqrvwx]{4}){3}|PYSEC-\d{4}-\d+)"
    r"(?![A-Za-z0-9])",
    re.I,
)


def vulnerability_ids(text: str | None) -> list[str]:
    """CVE, GHSA and PYSEC identifiers inside an identifier-like string (a rule id)."""
    if not text:
        return []
    ids = []
    for match in _VULN_ID.finditer(text):
        token = match.group(1)
        # GHSA ids are conventionally lowercase after the prefix; CVE and PYSEC are upper.
        ids.append("GHSA" + token[4:].lower() if token[:4].upper() == "GHSA" else token.upper())
    return ids


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`'\"(])")


def short_title(text: str | None, limit: int = 200) -> str | None:
    """A one-line title from descriptive text: its first sentence (scanners wrap long
    descriptions over several lines), cut to `limit` characters."""
    if not text:
        return None
    paragraph = " ".join(text.strip().split("\n\n", 1)[0].split())
    sentence = _SENTENCE_END.split(paragraph, maxsplit=1)[0]
    if len(sentence) > limit:
        sentence = sentence[: limit - 1].rstrip() + "…"
    return sentence or None


def unique(values: Iterable[str | None]) -> tuple[str, ...]:
    """Drop empties and duplicates, keeping first-seen order."""
    return tuple(dict.fromkeys(value for value in values if value))


# --- CVSS vectors ----------------------------------------------------------------------------

_CVSS_VECTOR = re.compile(r"CVSS:(?:3\.[01]|4\.0)/[A-Za-z:/]+")


def cvss_vector(value: object) -> str | None:
    """A CVSS v3.x or v4.0 vector string, or None (v2 vectors carry no version prefix and
    cannot be told apart from other text, so they are not collected)."""
    if isinstance(value, str) and _CVSS_VECTOR.fullmatch(value.strip()):
        return value.strip()
    return None


# --- package URLs ----------------------------------------------------------------------------

# purl type -> OSV ecosystem name, for the types whose names map one to one.
_PURL_ECOSYSTEMS = {
    "pypi": "PyPI",
    "npm": "npm",
    "maven": "Maven",
    "golang": "Go",
    "cargo": "crates.io",
    "gem": "RubyGems",
    "nuget": "NuGet",
    "composer": "Packagist",
    "hex": "Hex",
    "pub": "Pub",
    "hackage": "Hackage",
    "cran": "CRAN",
    "swift": "SwiftURL",
    "conan": "ConanCenter",
    "bitnami": "Bitnami",
    "github": "GitHub Actions",
}
_PURL = re.compile(r"pkg:/*(?P<type>[A-Za-z.+-][A-Za-z0-9.+-]*)/(?P<rest>[^?#]+)")


def package_from_purl(purl: str) -> Package | None:
    """Split a package URL into (ecosystem, name, purl); None if it is not a purl."""
    match = _PURL.match(purl.strip())
    if not match:
        return None
    purl_type = match.group("type").lower()
    rest = match.group("rest").strip("/")
    path = rest.rsplit("@", 1)[0] if "@" in rest.split("/")[-1] else rest
    segments = [unquote(segment) for segment in path.split("/") if segment]
    if not segments:
        return None
    name_only, namespace = segments[-1], segments[:-1]
    if purl_type == "maven" and namespace:
        # OSV spells Maven packages "group:artifact".
        name = ".".join(namespace) + ":" + name_only
    else:
        name = "/".join([*namespace, name_only])
    if purl_type in {"deb", "rpm", "apk"} and namespace:
        ecosystem: str | None = namespace[0].capitalize()
        name = name_only
    else:
        ecosystem = _PURL_ECOSYSTEMS.get(purl_type, purl_type)
    return Package(ecosystem, name, purl.strip())
