"""CSAF 2.0 documents, one finding per vulnerability."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from assay.formats import _schemas
from assay.formats._document import Problems, load_document, require_object, validate
from assay.formats._io import DEFAULT_MAX_BYTES, Source, source_label
from assay.formats.errors import FormatError, pointer
from assay.formats.model import (
    Finding,
    Package,
    cvss_vector,
    cwe_tuple,
    normalize_cwe,
    package_from_purl,
    unique,
)

EXPECTED = "a CSAF 2.0 document: an object with 'document'"
CSAF_VERSION = "2.0"
# Statuses that mean "this product has the vulnerability" (CSAF 2.0 section 3.2.3.9).
_AFFECTED_STATUSES = ("first_affected", "known_affected", "last_affected")


def parse_csaf_document(
    source: Source,
    source_name: str | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    strict: bool = True,
) -> tuple[list[Finding], Problems]:
    file = source_label(source, source_name)
    document = require_object(
        load_document(source, file, max_bytes), file, EXPECTED, "csaf", lambda d: "document" in d
    )
    meta = document.get("document")
    version = meta.get("csaf_version") if isinstance(meta, dict) else None
    if isinstance(meta, dict) and "csaf_version" in meta and version != CSAF_VERSION:
        # Checked before the schema, whose first complaint about a CSAF 1.x/CVRF-era
        # document would be some missing 2.0 field rather than the version itself.
        raise FormatError(
            file,
            "/document/csaf_version",
            f"'{CSAF_VERSION}' (only CSAF 2.0 is supported)",
            found=repr(version),
        )
    problems = Problems(strict)
    validate(_schemas.csaf_validator(), document, file, problems)
    return normalize_csaf(document), problems


def _s(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _products(tree: dict[str, Any]) -> dict[str, tuple[str | None, str | None]]:
    """product_id -> (name, purl) over branches, full product names and relationships."""
    products: dict[str, tuple[str | None, str | None]] = {}

    def add(full_name: Any) -> None:
        full_name = _d(full_name)
        product_id = _s(full_name.get("product_id"))
        if product_id is not None:
            helper = _d(full_name.get("product_identification_helper"))
            products.setdefault(product_id, (_s(full_name.get("name")), _s(helper.get("purl"))))

    def branches(items: Any) -> Iterator[dict[str, Any]]:
        stack = list(_list(items))
        while stack:
            branch = _d(stack.pop())
            yield branch
            stack.extend(_list(branch.get("branches")))

    for branch in branches(tree.get("branches")):
        add(branch.get("product"))
    for full_name in _list(tree.get("full_product_names")):
        add(full_name)
    for raw in _list(tree.get("relationships")):
        relationship = _d(raw)
        full_name = _d(relationship.get("full_product_name"))
        add(full_name)
        product_id = _s(full_name.get("product_id"))
        component = products.get(_s(relationship.get("product_reference")) or "")
        if product_id in products and component is not None:
            name, purl = products[product_id]
            if purl is None and component[1] is not None:
                # A composed product ("component X of platform Y") is the component's package.
                products[product_id] = (name, component[1])
    return products


def _packages(
    vulnerability: dict[str, Any], products: dict[str, tuple[str | None, str | None]]
) -> tuple[Package, ...]:
    status = _d(vulnerability.get("product_status"))
    packages: list[Package] = []
    for key in _AFFECTED_STATUSES:
        for product_id in _list(status.get(key)):
            if not isinstance(product_id, str):
                continue
            name, purl = products.get(product_id, (None, None))
            parsed = package_from_purl(purl) if purl else None
            if parsed is not None:
                packages.append(parsed)
            else:
                packages.append(Package(None, name or product_id, purl))
    return tuple(dict.fromkeys(packages))


def _notes_text(notes: Any, *categories: str) -> str | None:
    for category in categories:
        for raw in _list(notes):
            note = _d(raw)
            if note.get("category") == category and _s(note.get("text")):
                return _s(note.get("text"))
    return None


def _severity(vulnerability: dict[str, Any], meta: dict[str, Any]) -> str | None:
    for score in _list(vulnerability.get("scores")):
        severity = _s(_d(_d(score).get("cvss_v3")).get("baseSeverity"))
        if severity:
            return severity
    for raw in _list(vulnerability.get("threats")):
        threat = _d(raw)
        details = _s(threat.get("details")) or ""
        # Vendors such as Red Hat put their rating ("Important") in an impact threat; VEX
        # documents put a sentence there explaining why a product is not affected.
        if threat.get("category") == "impact" and details and " " not in details.strip():
            return details.strip()
    return _s(_d(meta.get("aggregate_severity")).get("text"))


def normalize_csaf(document: dict[str, Any]) -> list[Finding]:
    meta = _d(document.get("document"))
    tracking = _d(meta.get("tracking"))
    products = _products(_d(document.get("product_tree")))
    findings = []
    for index, raw in enumerate(_list(document.get("vulnerabilities"))):
        vulnerability = _d(raw)
        cwe = _d(vulnerability.get("cwe"))
        ids = [_s(_d(item).get("text")) for item in _list(vulnerability.get("ids"))]
        vectors = [
            cvss_vector(_d(_d(score).get("cvss_v3")).get("vectorString"))
            for score in _list(vulnerability.get("scores"))
        ]
        title = _s(vulnerability.get("title")) or _s(meta.get("title"))
        findings.append(
            Finding(
                source_format="csaf",
                source_ref=pointer(["vulnerabilities", index]),
                title=title,
                description=_notes_text(
                    vulnerability.get("notes"), "description", "summary", "details", "general"
                )
                or title,
                cwe_ids=cwe_tuple([normalize_cwe(cwe.get("id"))]),
                aliases=unique([_s(vulnerability.get("cve")), *ids]),
                severity=_severity(vulnerability, meta),
                cvss_vectors=unique(vectors),
                packages=_packages(vulnerability, products),
                published=_s(vulnerability.get("release_date"))
                or _s(tracking.get("initial_release_date")),
                modified=_s(tracking.get("current_release_date")),
            )
        )
    return findings
