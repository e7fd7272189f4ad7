"""One entry point for every format of the review report."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final, Literal, get_args

from assay.reports._html import render_html
from assay.reports._json import render_json
from assay.reports._pdf import render_pdf
from assay.reports.errors import ReportError
from assay.reports.model import ReviewReport

Format = Literal["html", "pdf", "json"]
"""The formats a report renders to."""

FORMATS: Final[tuple[Format, ...]] = get_args(Format)

MEDIA_TYPES: Final[Mapping[Format, str]] = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "json": "application/json",
}
"""The Content-Type of each format, for an HTTP response."""

FILE_SUFFIXES: Final[Mapping[Format, str]] = {"html": ".html", "pdf": ".pdf", "json": ".json"}


def _html_bytes(report: ReviewReport) -> bytes:
    return render_html(report).encode("utf-8")


_RENDERERS: Final[Mapping[Format, Callable[[ReviewReport], bytes]]] = {
    "html": _html_bytes,
    "pdf": render_pdf,
    "json": render_json,
}


def render(report: ReviewReport, fmt: Format) -> bytes:
    """The report in ``fmt``: UTF-8 HTML, PDF, or UTF-8 JSON validated against the schema.

    Raises ``ReportError`` for an unknown format (a CLI may pass any string), and
    ``ReportSchemaError`` if the JSON breaks its schema, which would be a bug here.
    """
    renderer = _RENDERERS.get(fmt)
    if renderer is None:
        raise ReportError(f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return renderer(report)
