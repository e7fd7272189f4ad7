"""Shared steps of the whole-document formats (OSV, CSAF, CVE JSON 5): read, gate, validate."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jsonschema.protocols import Validator

from assay.formats import _schemas
from assay.formats._io import (
    DepthGuard,
    Source,
    decode_utf8,
    loads_strict,
    loads_yaml,
    read_limited,
    walk,
)
from assay.formats.detect import guess_from_keys
from assay.formats.errors import FormatError, describe, pointer
from assay.formats.model import FormatName

MAX_PROBLEMS = 100

_FORMAT_NAMES: dict[str, str] = {
    "sarif": "a SARIF log",
    "osv": "an OSV record",
    "csaf": "a CSAF document",
    "cve5": "a CVE JSON 5 record",
}


def format_name(fmt: str | None) -> str | None:
    return _FORMAT_NAMES.get(fmt or "")


@dataclass
class Problems:
    """Schema violations: raised at once when strict, else collected (a bounded number)."""

    strict: bool
    items: list[FormatError] = field(default_factory=list)
    count: int = 0

    def add(self, error: FormatError) -> None:
        if self.strict:
            raise error
        self.count += 1
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(error)


def load_document(source: Source, file: str, max_bytes: int, *, allow_yaml: bool = False) -> Any:
    """Read a whole document (refusing oversized input before reading it) as JSON, or as
    YAML when allowed and the text does not start like JSON."""
    data = read_limited(source, file, max_bytes)
    text = decode_utf8(data, file)
    if text.lstrip()[:1] in ("{", "["):
        DepthGuard(file).feed(data)
    stripped = text.lstrip()
    if not stripped:
        raise FormatError(file, "", "a JSON document", found="an empty document")
    if stripped[0] in "{[" or not allow_yaml:
        document = loads_strict(text, file)
    else:
        document = loads_yaml(text, file)
    if _SURROGATE_ESCAPE.search(text):
        _refuse_lone_surrogates(document, file)
    return document


# A \uD800-\uDFFF escape (JSON, YAML) or \UD800... (YAML): pairs are fine, lone halves
# decode to strings that cannot be stored as UTF-8.
_SURROGATE_ESCAPE = re.compile(r"\\(?:u|U0000)[dD][89a-fA-F]")


def _refuse_lone_surrogates(document: Any, file: str) -> None:
    for path, value in walk(document):
        texts = (
            [value] if isinstance(value, str) else list(value) if isinstance(value, dict) else []
        )
        for text in texts:
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise FormatError(
                    file,
                    pointer(path if isinstance(value, str) else [*path, text]),
                    "strings without unpaired UTF-16 surrogate escapes",
                    found="an escape such as \\udc00 with no partner",
                ) from None


def validate(
    validator: Validator,
    instance: Any,
    file: str,
    problems: Problems,
    prefix: list[str | int] | None = None,
) -> None:
    if problems.strict:
        error = _schemas.first_error(validator, instance)
        if error is not None:
            problems.add(_schemas.to_format_error(error, file, prefix or []))
        return
    for error in _schemas.all_errors(validator, instance):
        problems.add(_schemas.to_format_error(error, file, prefix or []))


def require_object(
    document: Any,
    file: str,
    expected: str,
    fmt: FormatName,
    looks_right: Callable[[dict[str, Any]], bool],
) -> dict[str, Any]:
    """The wrong-format gate: a clear "expected X, found Y" before any schema detail."""
    if not isinstance(document, dict):
        raise FormatError(file, "", expected, found=describe(document))
    if not looks_right(document):
        guess = guess_from_keys(document)
        found = format_name(guess) if guess not in (None, fmt) else None
        if found is not None or not document:
            raise FormatError(file, "", expected, found=found or "an empty object")
    return document
