"""The report as one self-contained HTML page, from the Jinja2 templates in ``templates/``.

Autoescaping is on for every template: finding titles, descriptions and responses are
what users typed, and a report is opened in browsers and fed to WeasyPrint.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Final

from jinja2 import Environment, PackageLoader, StrictUndefined

from assay.reports._chart import Chart, domain_charts
from assay.reports._format import iso, number, signed, utc
from assay.reports._json import SCHEMA_VERSION
from assay.reports._view import NOTICE, build_view, domain_title
from assay.reports.model import ReviewReport
from assay.reports.stats import INTERVAL_METHOD, Outcome

OUTCOME_LABELS: Final = {
    Outcome.HIGHER: "higher (intervals do not overlap)",
    Outcome.LOWER: "lower (intervals do not overlap)",
    Outcome.NO_CLEAR_DIFFERENCE: "no clear difference",
    Outcome.NOT_COMPARED: "not compared (no standard error)",
}
"""How each comparison outcome reads in the report: neutral words, never a verdict."""

_BLANK_LINES = re.compile(r"\n\s*\n")


def paragraphs(text: str) -> list[str]:
    """Splits plain text at blank lines; single line breaks stay inside a paragraph."""
    return [p.strip() for p in _BLANK_LINES.split(text) if p.strip()]


def words(value: str) -> str:
    """A state as words: ``stopped_at_window_close`` reads "stopped at window close"."""
    return str(value).replace("_", " ")


def and_list(items: Iterable[str]) -> str:
    """``A``, ``A and B``, ``A, B and C``."""
    names = list(items)
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def short_id(value: str) -> str:
    """The first 8 characters of an id, enough to find it in the annex."""
    return value[:8]


@functools.cache
def environment() -> Environment:
    """The report's Jinja2 environment, built on first use and then shared (it holds no
    state that differs between reports)."""
    env = Environment(
        loader=PackageLoader("assay.reports", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        {
            "and_list": and_list,
            "domain_title": domain_title,
            "iso": iso,
            "number": number,
            "paragraphs": paragraphs,
            "short": short_id,
            "signed": signed,
            "utc": utc,
            "words": words,
        }
    )
    return env


def render_html(report: ReviewReport) -> str:
    """The report as a complete HTML document (CSS inlined, charts as inline SVG)."""
    view = build_view(report)
    charts: dict[str, list[Chart]] = {s.domain: domain_charts(s) for s in view.sections}
    template = environment().get_template("report.html")
    return template.render(
        report=report,
        view=view,
        charts=charts,
        notice=NOTICE,
        interval_method=INTERVAL_METHOD,
        outcome_labels=OUTCOME_LABELS,
        schema_version=SCHEMA_VERSION,
    )
