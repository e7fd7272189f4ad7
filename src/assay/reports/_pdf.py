"""The report as PDF: the same HTML, laid out by WeasyPrint with the print CSS (A4, running
header, page numbers).

WeasyPrint is imported on first use: it loads pango through cffi, which takes about half a
second, and the HTML and JSON formats do not need it.
"""

from __future__ import annotations

from typing import Any, NoReturn

from assay.reports._html import render_html
from assay.reports.model import ReviewReport


def refuse_fetch(url: str, timeout: int = 10, ssl_context: Any = None) -> NoReturn:
    """WeasyPrint's URL fetcher for reports: fetches nothing.

    The HTML inlines its CSS and charts, so a URL can only come from user text; refusing it
    keeps PDF rendering off the network and off the local file system.
    """
    del timeout, ssl_context
    raise ValueError(f"the review report loads no external resources (asked for {url[:200]!r})")


def render_pdf(report: ReviewReport) -> bytes:
    """The report as PDF bytes."""
    # Imported here, not at the top: see the module docstring.
    import weasyprint  # type: ignore[import-untyped]  # noqa: PLC0415 - untyped; lazy on purpose

    document = weasyprint.HTML(string=render_html(report), base_url=None, url_fetcher=refuse_fetch)
    pdf: bytes = document.write_pdf()
    return pdf
