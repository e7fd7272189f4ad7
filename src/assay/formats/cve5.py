"""CVE JSON 5.x records (published or rejected), one finding per record."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from assay.formats import _schemas
from assay.formats._document import Problems, load_document, require_object, validate
from assay.formats._io import DEFAULT_MAX_BYTES, Source, source_label
from assay.formats.model import (
    Finding,
    Package,
    cvss_vector,
    cwe_tuple,
    normalize_cwe,
    unique,
)

EXPECTED = "a CVE JSON 5 record: an object with 'dataType' 'CVE_RECORD' and 'cveMetadata'"

# collectionURL host -> (OSV ecosystem, purl type), for collections whose package names
# map directly onto package URLs.
_COLLECTIONS = {
    "pypi.org": ("PyPI", "pypi"),
    "pypi.python.org": ("PyPI", "pypi"),
    "www.npmjs.com": ("npm", "npm"),
    "npmjs.com": ("npm", "npm"),
    "registry.npmjs.org": ("npm", "npm"),
    "crates.io": ("crates.io", "cargo"),
    "rubygems.org": ("RubyGems", "gem"),
    "www.nuget.org": ("NuGet", "nuget"),
    "nuget.org": ("NuGet", "nuget"),
    "packagist.org": ("Packagist", "composer"),
    "hex.pm": ("Hex", "hex"),
    "pub.dev": ("Pub", "pub"),
    "pkg.go.dev": ("Go", "golang"),
    "proxy.golang.org": ("Go", "golang"),
}


def parse_cve5_document(
    source: Source,
    source_name: str | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    strict: bool = True,
) -> tuple[list[Finding], Problems]:
    file = source_label(source, source_name)
    record = require_object(
        load_document(source, file, max_bytes),
        file,
        EXPECTED,
        "cve5",
        lambda d: "cveMetadata" in d or d.get("dataType") == "CVE_RECORD",
    )
    problems = Problems(strict)
    validate(_schemas.cve5_validator(), record, file, problems)
    return [normalize_cve5(record)], problems


def _s(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _english(descriptions: Any) -> str | None:
    items = [_d(item) for item in _list(descriptions)]
    for item in items:
        if (_s(item.get("lang")) or "").lower().startswith("en") and _s(item.get("value")):
            return _s(item.get("value"))
    for item in items:
        if _s(item.get("value")):
            return _s(item.get("value"))
    return None


def _package(affected: dict[str, Any]) -> Package | None:
    name = _s(affected.get("packageName")) or _s(affected.get("product"))
    if not name:
        return None
    collection = _s(affected.get("collectionURL"))
    host = urlsplit(collection).netloc.lower() if collection else ""
    ecosystem, purl_type = _COLLECTIONS.get(host, (None, None))
    purl = None
    if purl_type and affected.get("packageName"):
        package_name = name.lower().replace("_", "-") if purl_type == "pypi" else name
        purl = f"pkg:{purl_type}/" + quote(package_name, safe="/")
    return Package(ecosystem, name, purl)


def normalize_cve5(record: dict[str, Any]) -> Finding:
    metadata = _d(record.get("cveMetadata"))
    containers = _d(record.get("containers"))
    cna = _d(containers.get("cna"))
    every = [cna, *(_d(adp) for adp in _list(containers.get("adp")))]
    cwes = [
        normalize_cwe(_d(description).get("cweId"))
        for container in every
        for problem in _list(container.get("problemTypes"))
        for description in _list(_d(problem).get("descriptions"))
    ]
    vectors: list[str | None] = []
    severity: str | None = None
    for container in every:
        for metric in _list(container.get("metrics")):
            for key in ("cvssV4_0", "cvssV3_1", "cvssV3_0"):
                cvss = _d(_d(metric).get(key))
                vectors.append(cvss_vector(cvss.get("vectorString")))
                severity = severity or _s(cvss.get("baseSeverity"))
    affected = [_d(item) for item in _list(cna.get("affected"))]
    packages = [package for item in affected if (package := _package(item)) is not None]
    repository = next((repo for item in affected if (repo := _s(item.get("repo")))), None)
    rejected = metadata.get("state") == "REJECTED"
    description = _english(cna.get("rejectedReasons") if rejected else cna.get("descriptions"))
    title = _s(cna.get("title"))
    if not title and description:
        title = description.strip().split("\n", 1)[0].strip()[:300] or None
    return Finding(
        source_format="cve5",
        source_ref="",
        title=title,
        description=description,
        cwe_ids=cwe_tuple(cwes),
        aliases=unique([_s(metadata.get("cveId"))]),
        severity=severity,
        cvss_vectors=unique(vectors),
        repository=repository,
        packages=tuple(dict.fromkeys(packages)),
        published=_s(metadata.get("datePublished")),
        modified=_s(metadata.get("dateUpdated")),
        withdrawn=_s(metadata.get("dateRejected")) if rejected else None,
    )
