"""One entry point for every format: `parse`, with format detection."""

from __future__ import annotations

import os
from dataclasses import dataclass

from assay.formats._document import Problems
from assay.formats._io import (
    DEFAULT_MAX_BYTES,
    DEFAULT_SARIF_MAX_BYTES,
    HEAD_BYTES,
    DepthGuard,
    Source,
    decode_utf8,
    is_seekable,
    loads_strict,
    read_head,
    source_label,
    spool,
)
from assay.formats.csaf import parse_csaf_document
from assay.formats.cve5 import parse_cve5_document
from assay.formats.detect import detect_format
from assay.formats.errors import FormatError
from assay.formats.model import FORMATS, Finding, FormatName
from assay.formats.osv import parse_osv_document
from assay.formats.sarif import SarifHeader, SarifStream


@dataclass(frozen=True, slots=True)
class ParseResult:
    """The findings of one document, its format, and (with `strict=False`) the schema
    violations that were tolerated. `sarif` is the log's header for SARIF input."""

    format: FormatName
    findings: tuple[Finding, ...]
    problems: tuple[FormatError, ...] = ()
    problem_count: int = 0
    sarif: SarifHeader | None = None


def parse(
    source: Source,
    fmt: FormatName | str = "auto",
    *,
    source_name: str | None = None,
    max_bytes: int | None = None,
    strict: bool = True,
) -> ParseResult:
    """Parse a document into findings.

    `source` is bytes, a path (`str` or `os.PathLike`; JSON text must be passed as bytes),
    or a binary file object. `fmt` is "auto" (detected from the first 64 KiB) or one of
    "sarif", "osv", "csaf", "cve5". `max_bytes` defaults to 2 GiB for SARIF and 50 MiB for
    the other formats; larger input is refused before it is read. All findings are kept in
    memory: use `iter_sarif` to stream a large SARIF log.

    Every problem with the input raises FormatError. With `strict=False`, violations of
    the format's JSON schema are collected in `problems` instead, and the document is
    normalized as far as it can be; malformed JSON, wrong encodings, duplicate keys,
    oversized input and documents of another format still raise.
    """
    file = source_label(source, source_name)
    if not isinstance(source, str | os.PathLike | bytes | bytearray | memoryview) and not (
        is_seekable(source)
    ):
        # Detection reads the head and SARIF reads twice: a pipe is copied first.
        limit = max_bytes if max_bytes is not None else _default_limit(fmt)
        with spool(source, file, limit) as copy:
            return parse(copy, fmt, source_name=file, max_bytes=max_bytes, strict=strict)
    if fmt == "auto":
        head = read_head(source, file, max_bytes if max_bytes is not None else _default_limit(fmt))
        try:
            fmt = detect_format(head, file)
        except FormatError:
            if len(head) < HEAD_BYTES:
                # The head is the whole input: if it is broken JSON, say so rather than
                # that its format is unknown.
                text = decode_utf8(head, file)
                if text.lstrip()[:1] in ("{", "["):
                    DepthGuard(file).feed(head)
                    loads_strict(text, file)
            raise
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: expected 'auto' or one of {FORMATS}")
    try:
        if fmt == "sarif":
            with SarifStream(
                source,
                file,
                max_bytes=max_bytes if max_bytes is not None else _default_limit(fmt),
                strict=strict,
            ) as stream:
                findings = tuple(stream)
                header = stream.header
            return ParseResult(
                "sarif",
                findings,
                tuple(header.problems),
                header.problem_count,
                header,
            )
        parser = {
            "osv": parse_osv_document,
            "csaf": parse_csaf_document,
            "cve5": parse_cve5_document,
        }[fmt]
        found, problems = parser(
            source,
            file,
            max_bytes=max_bytes if max_bytes is not None else _default_limit(fmt),
            strict=strict,
        )
    except RecursionError:
        raise FormatError(file, "", "a document nested less deeply") from None
    return _result(fmt, found, problems)


def _default_limit(fmt: str) -> int:
    # "auto" may turn out to be SARIF, whose logs are the large ones.
    return DEFAULT_SARIF_MAX_BYTES if fmt in ("auto", "sarif") else DEFAULT_MAX_BYTES


def _result(fmt: FormatName, findings: list[Finding], problems: Problems) -> ParseResult:
    return ParseResult(fmt, tuple(findings), tuple(problems.items), problems.count)
