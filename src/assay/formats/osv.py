"""OSV records (JSON or YAML), one finding per record."""

from __future__ import annotations

from typing import Any

from assay.formats import _schemas
from assay.formats._document import Problems, load_document, require_object, validate
from assay.formats._io import DEFAULT_MAX_BYTES, Source, source_label
from assay.formats.errors import FormatError, describe, pointer
from assay.formats.model import (
    Finding,
    Package,
    cvss_vector,
    cwe_tuple,
    normalize_cwe,
    package_from_purl,
    unique,
)

EXPECTED = "an OSV record: an object with 'id' and 'modified'"


def parse_osv_document(
    source: Source,
    source_name: str | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    strict: bool = True,
) -> tuple[list[Finding], Problems]:
    """Parse one OSV record, or a JSON array of records, from JSON or YAML."""
    file = source_label(source, source_name)
    document = load_document(source, file, max_bytes, allow_yaml=True)
    problems = Problems(strict)
    if isinstance(document, list):
        findings = []
        for index, record in enumerate(document):
            if not isinstance(record, dict):
                raise FormatError(file, pointer([index]), EXPECTED, found=describe(record))
            findings.append(_record(record, file, problems, [index]))
        return findings, problems
    record = require_object(document, file, EXPECTED, "osv", lambda d: "id" in d)
    return [_record(record, file, problems, [])], problems


def _record(record: dict[str, Any], file: str, problems: Problems, at: list[str | int]) -> Finding:
    validate(_schemas.osv_validator(), record, file, problems, at)
    return normalize_osv(record, pointer(at))


def _s(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _title(record: dict[str, Any]) -> str | None:
    summary = _s(record.get("summary"))
    if summary:
        return summary.strip()
    details = _s(record.get("details"))
    if details:
        line = details.strip().split("\n", 1)[0].strip()
        return line[:299] + "…" if len(line) > 300 else line or None
    return None


def _packages(record: dict[str, Any]) -> tuple[Package, ...]:
    packages: list[Package] = []
    for affected in _list(record.get("affected")):
        package = _d(_d(affected).get("package"))
        name = _s(package.get("name"))
        purl = _s(package.get("purl"))
        if name:
            packages.append(Package(_s(package.get("ecosystem")), name, purl))
        elif purl and (parsed := package_from_purl(purl)):
            packages.append(parsed)
    return tuple(dict.fromkeys(packages))


def normalize_osv(record: dict[str, Any], source_ref: str = "") -> Finding:
    database_specific = _d(record.get("database_specific"))
    cwe_ids = database_specific.get("cwe_ids")
    severity = database_specific.get("severity")
    record_id = _s(record.get("id"))
    return Finding(
        source_format="osv",
        source_ref=source_ref,
        rule_id=None,
        title=_title(record),
        description=_s(record.get("details")) or _s(record.get("summary")),
        cwe_ids=cwe_tuple(normalize_cwe(item) for item in _list(cwe_ids)),
        aliases=unique([record_id, *(_s(alias) for alias in _list(record.get("aliases")))]),
        severity=severity if isinstance(severity, str) else None,
        cvss_vectors=unique(
            cvss_vector(_d(item).get("score")) for item in _list(record.get("severity"))
        ),
        packages=_packages(record),
        published=_s(record.get("published")),
        modified=_s(record.get("modified")),
        withdrawn=_s(record.get("withdrawn")),
    )
