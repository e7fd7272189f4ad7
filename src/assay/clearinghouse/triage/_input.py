"""Shared helpers of the KEV and EPSS parsers: error collection, dates, CSV reading.

Every problem becomes a ``FieldError`` whose field names the file and the place in it
(``name.json#/vulnerabilities/12/dateAdded``, ``name.csv:14:dateAdded``), and the parser
raises one ``InvalidInput`` holding them all (at most ``MAX_ERRORS``), so nothing is
written from a file that is wrong anywhere.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from datetime import date

from assay.core.errors import FieldError, InvalidInput

MAX_ERRORS = 20
CVE_ID = re.compile(r"^CVE-[0-9]{4}-[0-9]{4,19}$")
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


class Errors:
    """Collects FieldErrors for one file; ``raise_if_any`` ends the parse."""

    def __init__(self, source_name: str, what: str) -> None:
        self.source_name = source_name
        self.what = what
        self.items: list[FieldError] = []
        self.count = 0

    def add(self, where: str, expected: str) -> None:
        self.count += 1
        if len(self.items) < MAX_ERRORS:
            self.items.append(FieldError(where, expected))

    def fail(self, where: str, expected: str) -> InvalidInput:
        self.add(where, expected)
        return self.error()

    def error(self) -> InvalidInput:
        first = self.items[0]
        more = f" (and {self.count - 1} more problems)" if self.count > 1 else ""
        return InvalidInput(
            f"{self.source_name} is not a valid {self.what}: {first.field}: expected "
            f"{first.message}{more}",
            errors=list(self.items),
        )

    def raise_if_any(self) -> None:
        if self.items:
            raise self.error()


def json_pointer(parts: Iterable[str | int]) -> str:
    """An RFC 6901 JSON pointer ("" is the whole document)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def parse_date(text: str) -> date | None:
    """A ``YYYY-MM-DD`` date, or None if ``text`` is not one."""
    if not _ISO_DATE.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def decode_text(data: bytes, errors: Errors) -> str:
    """UTF-8 text (a byte-order mark is dropped)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise errors.fail(f"{errors.source_name}@byte {exc.start}", "UTF-8 text") from None


def csv_records(
    text: str, errors: Errors, *, first_line: int = 1
) -> Iterator[tuple[int, list[str]]]:
    """Each CSV record with the file line it starts on (a quoted cell may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    last = 0
    try:
        for record in reader:
            start = last + 1
            last = reader.line_num
            if not record:
                continue
            yield start + first_line - 1, record
    except csv.Error as exc:
        raise errors.fail(
            f"{errors.source_name}:{last + first_line}", f"well-formed CSV ({exc})"
        ) from None
