"""Telling SARIF, OSV, CSAF and CVE JSON 5 apart from the first kilobytes of a file."""

from __future__ import annotations

import io
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import ijson  # type: ignore[import-untyped]

from assay.formats._io import UTF8_BOM, DepthGuard, check_encoding
from assay.formats.errors import FormatError
from assay.formats.model import FormatName

_OSV_KEYS = frozenset(
    {"modified", "published", "affected", "aliases", "schema_version", "withdrawn", "details"}
)
_YAML_TOP_KEY = re.compile(rb"^([A-Za-z_$][\w$-]*)[ \t]*:", re.M)
_MAX_PROBE_EVENTS = 20_000
_SCALARS = frozenset({"string", "number", "boolean", "null"})


@dataclass
class HeadGuess:
    """What the start of a document shows: its top-level keys and scalar values (for an
    array, those of its first element), a few nested markers, and the resulting guess."""

    format: FormatName | None
    syntax: str
    keys: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    too_deep: FormatError | None = None


def guess_from_keys(
    keys: Collection[str] | Mapping[str, Any],
    values: Mapping[str, Any] | None = None,
) -> FormatName | None:
    """Which format a top-level object with these keys (and scalar values) belongs to."""
    if values is None:
        values = keys if isinstance(keys, Mapping) else {}
    key_set = set(keys)
    schema_uri = values.get("$schema")
    if "runs" in key_set or (isinstance(schema_uri, str) and "sarif" in schema_uri.lower()):
        return "sarif"
    if "cveMetadata" in key_set or values.get("dataType") == "CVE_RECORD":
        return "cve5"
    if "document" in key_set or {"product_tree", "vulnerabilities"} <= key_set:
        return "csaf"
    if "id" in key_set and key_set & _OSV_KEYS:
        return "osv"
    return None


def guess_from_head(head: bytes) -> HeadGuess:
    """Probe the first bytes of a document; never raises (a truncated head is expected)."""
    if head.startswith(UTF8_BOM):
        head = head[len(UTF8_BOM) :]
    stripped = head.lstrip()
    if not stripped:
        return HeadGuess(None, "empty")
    if stripped[:1] not in (b"{", b"["):
        keys = [match.decode("utf-8", "replace") for match in _YAML_TOP_KEY.findall(head)]
        guess = guess_from_keys(keys)
        # Only OSV is published as YAML; other formats are JSON by definition.
        return HeadGuess("osv" if guess == "osv" else None, "yaml", keys)
    try:
        # ijson's cost grows with the square of the nesting depth: check it first.
        DepthGuard("<input>").feed(stripped)
    except FormatError as exc:
        return HeadGuess(None, "json", too_deep=exc)
    keys, values = _probe_json(stripped)
    return HeadGuess(guess_from_keys(keys, values), "json", keys, values)


def _probe_json(head: bytes) -> tuple[list[str], dict[str, Any]]:
    keys: list[str] = []
    values: dict[str, Any] = {}
    object_prefix = ""
    pending: str | None = None
    try:
        for count, (prefix, event, value) in enumerate(ijson.parse(io.BytesIO(head))):
            if count == 0 and event == "start_array":
                object_prefix = "item"  # a list of records: look at the first one
            if count > _MAX_PROBE_EVENTS:
                break
            if pending is not None:
                # The event right after a key starts that key's value.
                if event in _SCALARS:
                    values[pending] = value
                pending = None
            if event == "map_key" and prefix == object_prefix:
                keys.append(value)
                pending = value
            elif event == "end_map" and prefix == object_prefix:
                break
    except (ijson.JSONError, UnicodeDecodeError):
        pass
    return keys, values


def detect_format(head: bytes, source_name: str = "<input>") -> FormatName:
    """Which of `sarif`, `osv`, `csaf`, `cve5` a document is, from its first kilobytes.

    Raises FormatError when the start of the document does not decide it.
    """
    check_encoding(head[:4], source_name)
    guess = guess_from_head(head)
    if guess.format is not None:
        return guess.format
    if guess.too_deep is not None:
        raise FormatError(source_name, "", guess.too_deep.expected, found=guess.too_deep.found)
    expected = "a SARIF 2.1.0 log, an OSV record, a CSAF 2.0 document or a CVE JSON 5 record"
    if guess.syntax == "empty":
        found = "an empty document"
    elif guess.keys:
        shown = ", ".join(repr(key) for key in guess.keys[:8])
        found = f"{guess.syntax.upper()} with the top-level keys {shown}"
    elif guess.syntax == "yaml":
        found = "text that is neither JSON nor an OSV record in YAML"
    else:
        found = "JSON whose first kilobytes show no known top-level keys"
    raise FormatError(source_name, "", expected, found=found)
