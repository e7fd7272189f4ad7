"""CISA's Known Exploited Vulnerabilities catalog: the JSON form and the CSV form.

The JSON form is validated against the catalog's own schema (``data/kev.schema.json``, from
cisagov/kev-data) with jsonschema, then checked further: dates are real ``YYYY-MM-DD`` dates,
``count`` matches the list, no CVE is listed twice, and ``knownRansomwareCampaignUse`` is
``Known`` or ``Unknown``. The CSV form (the same columns, ``cwes`` comma-separated) gets the
same checks. Every problem is reported with its place in the file; see ``_input``.

The CSV form carries no catalog version: it is taken as the newest ``dateAdded`` written
``YYYY.MM.DD``, which is how CISA numbers its catalogs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache, partial
from importlib import resources
from typing import Any, Literal

import fastjsonschema
import orjson
from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

from assay.clearinghouse.triage._input import (
    CVE_ID,
    Errors,
    csv_records,
    decode_text,
    json_pointer,
    parse_date,
)

SCHEMA_FILE = "kev.schema.json"
WHAT = "KEV catalog"
REQUIRED_COLUMNS = (
    "cveID",
    "vendorProject",
    "product",
    "vulnerabilityName",
    "dateAdded",
    "shortDescription",
    "requiredAction",
    "dueDate",
)
MAX_VERSION_LENGTH = 40
OPTIONAL_COLUMNS = ("knownRansomwareCampaignUse", "notes", "cwes")
_CWE = re.compile(r"^CWE-[0-9]+$")


@dataclass(frozen=True)
class KevEntry:
    """One known exploited vulnerability."""

    cve_id: str
    vendor: str
    product: str
    name: str
    date_added: date
    due_date: date
    known_ransomware: bool | None
    """True when CISA knows of use in a ransomware campaign; None when it does not
    ("Unknown": CISA never states that a vulnerability was *not* so used)."""
    notes: str
    cwes: tuple[str, ...]
    short_description: str
    required_action: str


@dataclass(frozen=True)
class KevCatalog:
    version: str
    """``catalogVersion`` (JSON) or the newest ``dateAdded`` as ``YYYY.MM.DD`` (CSV)."""
    released: str | None
    """``dateReleased`` as written (JSON only)."""
    format: Literal["json", "csv"]
    entries: tuple[KevEntry, ...]


@cache
def schema() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("data", SCHEMA_FILE).read_bytes()
    loaded: dict[str, Any] = orjson.loads(text)
    return loaded


@cache
def _validator() -> Draft7Validator:
    return Draft7Validator(schema(), format_checker=Draft7Validator.FORMAT_CHECKER)


@cache
def _fast_check() -> Callable[[Any], Any]:
    """fastjsonschema's compiled check: a quick pass for the usual, valid file. jsonschema
    remains the judge: it runs whenever the quick check fails, and names every error."""
    check: Callable[[Any], Any] = fastjsonschema.compile(schema())
    return check


def _schema_errors(document: Any) -> list[ValidationError]:
    try:
        _fast_check()(document)
    except fastjsonschema.JsonSchemaException:
        return sorted(_validator().iter_errors(document), key=lambda e: list(e.path))
    return []


def parse_kev(data: bytes, *, source_name: str) -> KevCatalog:
    """The catalog in either form: JSON when the content starts with ``{``, CSV otherwise."""
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head == b"{":
        return parse_kev_json(data, source_name=source_name)
    return parse_kev_csv(data, source_name=source_name)


def parse_kev_json(data: bytes, *, source_name: str) -> KevCatalog:
    errors = Errors(source_name, WHAT)
    try:
        document = orjson.loads(data.removeprefix(b"\xef\xbb\xbf"))
    except orjson.JSONDecodeError as exc:
        raise errors.fail(source_name, f"JSON ({exc})") from None
    for err in _schema_errors(document):
        errors.add(f"{source_name}#{json_pointer(err.absolute_path)}", _expected(err))
    errors.raise_if_any()

    vulns: list[dict[str, Any]] = document["vulnerabilities"]
    if not 0 < len(document["catalogVersion"].strip()) <= MAX_VERSION_LENGTH:
        errors.add(
            f"{source_name}#/catalogVersion", f"a version of 1 to {MAX_VERSION_LENGTH} characters"
        )
    if document["count"] != len(vulns):
        errors.add(
            f"{source_name}#/count",
            f"the number of vulnerabilities listed ({len(vulns)}), not {document['count']}",
        )
    entries = _entries(
        vulns,
        errors,
        lambda i, key: f"{source_name}#{json_pointer(['vulnerabilities', i, key])}",
    )
    errors.raise_if_any()
    return KevCatalog(
        version=document["catalogVersion"].strip(),
        released=str(document["dateReleased"]),
        format="json",
        entries=entries,
    )


def _expected(err: ValidationError) -> str:
    """What the schema wanted at the error's place, in a few words."""
    kind = err.validator
    if kind == "required":
        return err.message
    if kind == "type":
        return f"a value of type {err.validator_value}"
    if kind == "pattern":
        return f"a string matching {err.validator_value}"
    if kind == "format" and err.validator_value == "date":
        return "a date (such as 2025-08-25)"
    if kind == "format":
        return f"a {err.validator_value}"
    message = err.message
    return message if len(message) <= 200 else message[:197] + "..."


def parse_kev_csv(data: bytes, *, source_name: str) -> KevCatalog:
    errors = Errors(source_name, WHAT)
    text = decode_text(data, errors)
    records = csv_records(text, errors)
    first = next(records, None)
    if first is None:
        raise errors.fail(f"{source_name}:1", "a header row naming the KEV columns")
    header = [cell.strip() for cell in first[1]]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise errors.fail(f"{source_name}:1", f"the columns {', '.join(missing)}")
    entries: list[KevEntry] = []
    seen: dict[str, str] = {}
    for line, cells in records:
        if len(cells) != len(header):
            errors.add(f"{source_name}:{line}", f"{len(header)} cells, not {len(cells)}")
            continue
        row: dict[str, Any] = dict(zip(header, cells, strict=True))
        cwes = row.get("cwes")
        row["cwes"] = [c.strip() for c in cwes.split(",") if c.strip()] if cwes else []
        at = partial(_csv_place, source_name, line)
        entry = _entry(row, errors, at)
        if entry is not None and _once(entry, seen, f"line {line}", errors, at):
            entries.append(entry)
    if not entries and not errors.items:
        raise errors.fail(f"{source_name}:2", "at least one entry after the header")
    errors.raise_if_any()
    newest = max(e.date_added for e in entries)
    return KevCatalog(
        version=newest.strftime("%Y.%m.%d"), released=None, format="csv", entries=tuple(entries)
    )


def _csv_place(source_name: str, line: int, key: str) -> str:
    return f"{source_name}:{line}:{key}"


def _entries(
    items: list[dict[str, Any]], errors: Errors, where: Callable[[int, str], str]
) -> tuple[KevEntry, ...]:
    entries: list[KevEntry] = []
    seen: dict[str, str] = {}
    for i, item in enumerate(items):
        at = partial(where, i)
        entry = _entry(item, errors, at)
        if entry is not None and _once(entry, seen, f"entry {i + 1}", errors, at):
            entries.append(entry)
    return tuple(entries)


def _once(
    entry: KevEntry, seen: dict[str, str], place: str, errors: Errors, at: Callable[[str], str]
) -> bool:
    """True the first time a CVE is seen; an error naming the earlier place after that."""
    if entry.cve_id in seen:
        errors.add(at("cveID"), f"a CVE listed once ({entry.cve_id} is also {seen[entry.cve_id]})")
        return False
    seen[entry.cve_id] = place
    return True


def _entry(item: Mapping[str, Any], errors: Errors, at: Callable[[str], str]) -> KevEntry | None:
    before = errors.count
    text = {
        key: str(item.get(key) or "").strip()
        for key in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
        if key != "cwes"
    }
    for key in REQUIRED_COLUMNS:
        if key not in ("dateAdded", "dueDate") and not text[key]:
            errors.add(at(key), "a value")
    if text["cveID"] and not CVE_ID.match(text["cveID"]):
        errors.add(at("cveID"), "a CVE id such as CVE-2024-3400")
    date_added = parse_date(text["dateAdded"])
    if date_added is None:
        errors.add(at("dateAdded"), "a date written YYYY-MM-DD")
    due_date = parse_date(text["dueDate"])
    if due_date is None:
        errors.add(at("dueDate"), "a date written YYYY-MM-DD")
    ransomware = text["knownRansomwareCampaignUse"].lower()
    if ransomware not in ("known", "unknown", ""):
        errors.add(at("knownRansomwareCampaignUse"), "Known or Unknown")
    cwes = tuple(str(c) for c in item.get("cwes") or ())
    bad = [c for c in cwes if not _CWE.match(c)]
    if bad:
        errors.add(at("cwes"), f"CWE ids such as CWE-79, not {', '.join(bad)}")
    if errors.count > before or date_added is None or due_date is None:
        return None
    return KevEntry(
        cve_id=text["cveID"],
        vendor=text["vendorProject"],
        product=text["product"],
        name=text["vulnerabilityName"],
        date_added=date_added,
        due_date=due_date,
        known_ransomware=True if ransomware == "known" else None,
        notes=text["notes"],
        cwes=cwes,
        short_description=text["shortDescription"],
        required_action=text["requiredAction"],
    )
