"""The one error every parser in `assay.formats` raises for bad input."""

from __future__ import annotations

from collections.abc import Iterable


def escape_token(token: str | int) -> str:
    """Escape one reference token for a JSON pointer (RFC 6901).

    A key holding an unpaired surrogate (from a "\\udc00" escape) is shown backslash-escaped,
    so that the pointer itself can always be printed and stored as UTF-8.
    """
    text = str(token)
    if not text.isascii():
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text.replace("~", "~0").replace("/", "~1")


def pointer(parts: Iterable[str | int]) -> str:
    """Build a JSON pointer ("" is the whole document) from path parts."""
    return "".join("/" + escape_token(part) for part in parts)


class FormatError(Exception):
    """Input that cannot be accepted as the format it was read as.

    `pointer` is a JSON pointer (RFC 6901) to the offending element, "" for the document as a
    whole; `expected` says what would have been accepted there, and `found` (when known)
    what was there instead. `line`/`column` locate syntax errors that have no pointer yet.
    """

    def __init__(
        self,
        file: str,
        pointer: str,
        expected: str,
        *,
        found: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.file = file
        self.pointer = pointer
        self.expected = expected
        self.found = found
        self.line = line
        self.column = column
        super().__init__(file, pointer, expected)

    def __str__(self) -> str:
        where = self.file
        if self.pointer:
            where += f" at {self.pointer}"
        if self.line is not None:
            where += f" (line {self.line}" + (
                f", column {self.column})" if self.column is not None else ")"
            )
        text = f"{where}: expected {self.expected}"
        if self.found is not None:
            text += f", found {self.found}"
        return text

    def __repr__(self) -> str:
        return f"FormatError({str(self)!r})"


def describe(value: object, limit: int = 60) -> str:
    """A short, single-line rendering of a JSON value for `FormatError.found`."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text
