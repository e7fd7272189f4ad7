"""The three formats: HTML from the templates, PDF from the same HTML, JSON against the schema.

WeasyPrint takes about a second for a full report, so each PDF is rendered once per module.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from markupsafe import escape

from assay.reports import (
    NOTICE,
    SCHEMA_VERSION,
    ReportError,
    ReportSchemaError,
    load_schema,
    render,
    report_to_dict,
    validate_report_json,
)
from assay.reports._html import OUTCOME_LABELS
from assay.reports._pdf import refuse_fetch
from assay.reports.model import ReviewReport
from assay.reports.stats import INTERVAL_METHOD, Outcome
from tests.unit.reports.support import (
    MODEL_NAME,
    RUN_A,
    baseline,
    empty_report,
    finding,
    full_report,
    result,
)

PDFTOTEXT = Path("/usr/bin/pdftotext")
# The report records and measures; it never rules on the model.
VERDICT_WORDS = re.compile(r"\b(approv\w*|reject\w*|licensed|cleared for release)\b", re.I)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _pdf_and_warnings(report: ReviewReport) -> tuple[bytes, list[str]]:
    """Renders a PDF and collects what WeasyPrint logged (unsupported CSS, refused URLs)."""
    handler = _Collect()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    try:
        pdf = render(report, "pdf")
    finally:
        logger.removeHandler(handler)
    return pdf, [r.getMessage() for r in handler.records]


@pytest.fixture(scope="module")
def full_pdf() -> tuple[bytes, list[str]]:
    return _pdf_and_warnings(full_report())


@pytest.fixture(scope="module")
def empty_pdf() -> tuple[bytes, list[str]]:
    return _pdf_and_warnings(empty_report())


@pytest.fixture(scope="module")
def pdf_text(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """``pdftotext`` as a function; skipped when poppler-utils is absent, unless
    ``ASSAY_REQUIRE_BROWSER=1`` says the full toolchain must be there."""
    if not PDFTOTEXT.exists():
        reason = f"pdftotext (poppler-utils) is not installed at {PDFTOTEXT}"
        if os.environ.get("ASSAY_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{reason}, and ASSAY_REQUIRE_BROWSER=1")
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("pdf")

    def extract(pdf: bytes) -> str:
        path = folder / "report.pdf"
        path.write_bytes(pdf)
        done = subprocess.run(
            [str(PDFTOTEXT), "-enc", "UTF-8", str(path), "-"],
            capture_output=True,
            check=True,
            timeout=60,
        )
        return done.stdout.decode("utf-8")

    yield extract


# HTML


def test_html_has_every_section_in_order() -> None:
    html = render(full_report(), "html").decode("utf-8")
    assert html.startswith("<!DOCTYPE html>")
    ids = re.findall(r'<section id="(\w+)"', html)
    assert ids == ["overview", "methods", "results", "findings", "limitations", "annex"]
    assert escape(NOTICE) in html
    assert escape(INTERVAL_METHOD) in html


def test_html_overview_names_the_model_parties_access_and_domains() -> None:
    html = render(full_report(), "html").decode("utf-8")
    for text in (MODEL_NAME, "Zephyr Labs", "Cyber Agency", "closed early", "14 days"):
        assert text in html
    assert "<li>Cyber</li>" in html and "<li>Safeguards</li>" in html
    assert "Cyber Agency tested it" in html


def test_html_results_show_intervals_and_neutral_comparisons() -> None:
    html = render(full_report(), "html").decode("utf-8")
    assert "0.527 to 0.723" in html  # 0.625 ± 1.96 · 0.05
    assert "0.000 to 0.059" in html  # false_positive_rate clamped at 0
    assert f"reference-small: +0.325, {OUTCOME_LABELS[Outcome.HIGHER]}" in html
    assert f"reference-large: +0.025, {OUTCOME_LABELS[Outcome.NO_CLEAR_DIFFERENCE]}" in html
    assert OUTCOME_LABELS[Outcome.NOT_COMPARED] in html
    assert "No baseline for this task and metric." in html
    assert "Baselines with no result in this window" in html  # other_task


def test_html_chart_has_one_bar_per_result_and_baseline() -> None:
    report = full_report()
    html = render(report, "html").decode("utf-8")
    keys = {(r.suite, r.task, r.scorer, r.metric) for r in report.results}
    matched = [b for b in report.baselines if (b.suite, b.task, b.scorer, b.metric) in keys]
    assert html.count('class="bar bar-result"') == len(report.results)
    assert html.count('class="bar bar-baseline"') == len(matched)
    assert html.count("<svg ") == 3  # cyber proportions, safeguards proportions, mean_tokens


def test_html_lists_findings_most_severe_first_with_responses() -> None:
    html = render(full_report(), "html").decode("utf-8")
    high = html.index("Complies with a paired harmful request")
    medium = html.index("Names injection flaws in generated C code")
    assert high < medium
    assert "We are adding refusal training for this pattern." in html
    assert "The developer recorded no response." in html
    assert html.count('class="severity severity-') == 2


def test_html_annex_lists_every_run_with_its_log_hash() -> None:
    report = full_report()
    html = render(report, "html").decode("utf-8")
    annex = html[html.index('<section id="annex"') :]
    for run in report.runs:
        assert run.id in annex
        if run.log_sha256:
            assert run.log_sha256 in annex
    assert "no log kept" in annex
    assert "stopped at window close" in annex


def test_html_escapes_hostile_text() -> None:
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    report = full_report(
        findings=(finding(title=hostile, summary=hostile, agency=hostile),),
        limitations=(hostile,),
        results=(result(task=hostile),),
        baselines=(baseline(task=hostile, reference_model=hostile),),
        model=replace(full_report().model, name=hostile, developer=hostile),
    )
    html = render(report, "html").decode("utf-8")
    assert "<script>" not in html
    assert "<img" not in html
    assert "&lt;script&gt;" in html


def test_html_marks_results_outside_the_agreed_domains() -> None:
    report = full_report(results=(result(domain="autonomy"),), domains=("cyber",))
    html = render(report, "html").decode("utf-8")
    assert "not among the agreed domains" in html
    assert "No results were recorded in this domain." in html  # cyber, in scope but empty


def test_html_is_deterministic() -> None:
    assert render(full_report(), "html") == render(full_report(), "html")


# JSON


def test_json_validates_against_the_shipped_schema() -> None:
    document = json.loads(render(full_report(), "json"))
    validate_report_json(document)
    Draft202012Validator(load_schema()).validate(document)
    assert document["schema_version"] == SCHEMA_VERSION
    assert document["notice"] == NOTICE


def test_the_schema_ships_in_the_package_and_is_a_valid_2020_12_schema() -> None:
    path = resources.files("assay.reports").joinpath("schema", "review-report.schema.json")
    schema = json.loads(path.read_text("utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_json_carries_intervals_and_comparisons() -> None:
    document = report_to_dict(full_report())
    first = document["results"][0]
    assert first["metric"] == "cwe_accuracy" and first["run_id"] == RUN_A
    assert first["bounds"] == [0.0, 1.0]
    assert first["interval"]["low"] == pytest.approx(0.527)
    outcomes = {c["reference_model"]: c["outcome"] for c in first["comparisons"]}
    assert outcomes == {"reference-small": "higher", "reference-large": "no_clear_difference"}
    tokens = next(r for r in document["results"] if r["metric"] == "mean_tokens")
    assert tokens["bounds"] is None
    assert len(document["baselines"]) == len(full_report().baselines)
    assert [f["severity"] for f in document["findings"]] == ["high", "medium"]
    assert document["generated_at"] == "2026-03-12T09:00:00Z"


@pytest.mark.parametrize(
    "breakage",
    [
        lambda d: d.pop("model"),
        lambda d: d.update(schema_version="0.9"),
        lambda d: d.update(unexpected=True),
        lambda d: d["findings"][0].update(severity="severe"),
        lambda d: d["access"].update(opened_at="2026-03-02T09:00:00"),
        lambda d: d["runs"][0].update(log_sha256="not-a-hash"),
        lambda d: d["results"][0]["comparisons"][0].update(outcome="better"),
        lambda d: d["results"][0].update(stderr=-1),
    ],
)
def test_a_broken_document_fails_validation(breakage: Any) -> None:
    document = copy.deepcopy(report_to_dict(full_report()))
    breakage(document)
    with pytest.raises(ReportSchemaError, match=r"review-report\.schema\.json"):
        validate_report_json(document)


def test_json_of_an_empty_report_validates() -> None:
    document = json.loads(render(empty_report(), "json"))
    for key in ("parties", "domains", "methods", "results", "baselines", "findings", "runs"):
        assert document[key] == []


# PDF


def test_pdf_contains_the_model_name(full_pdf: tuple[bytes, list[str]], pdf_text: Any) -> None:
    pdf, _ = full_pdf
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf)
    assert MODEL_NAME in text
    assert "Annex A. Evaluation runs" in text
    assert "Page 1 of" in text


def test_weasyprint_logs_no_warning(full_pdf: tuple[bytes, list[str]]) -> None:
    _, warnings = full_pdf
    assert warnings == []


def test_pdf_renders_fetch_nothing() -> None:
    with pytest.raises(ValueError, match="loads no external resources"):
        refuse_fetch("http://example.invalid/x.png")


# Empty report


def test_empty_report_renders_in_every_format(
    empty_pdf: tuple[bytes, list[str]], pdf_text: Any
) -> None:
    html = render(empty_report(), "html").decode("utf-8")
    for text in (
        "No parties were recorded.",
        "The agreement named no evaluation domains.",
        "No suite descriptions were recorded.",
        "No results were recorded: no evaluation run in this window produced scores.",
        "No baseline was recorded",
        "No findings were recorded in this window.",
        "No limitations were recorded.",
        "No evaluation runs were recorded in this window.",
    ):
        assert text in html
    assert "<svg" not in html
    pdf, warnings = empty_pdf
    assert warnings == []
    assert "No evaluation runs were recorded" in pdf_text(pdf)


# Wording


def test_report_text_never_rules_on_the_model(
    full_pdf: tuple[bytes, list[str]], pdf_text: Any
) -> None:
    html = render(full_report(), "html").decode("utf-8")
    json_text = render(full_report(), "json").decode("utf-8")
    for text in (html, json_text, pdf_text(full_pdf[0])):
        assert VERDICT_WORDS.findall(text) == []


def test_templates_and_labels_never_rule_on_the_model() -> None:
    folder = resources.files("assay.reports")
    sources = [
        folder.joinpath("templates", name).read_text("utf-8")
        for name in ("report.html", "_macros.html", "report.css")
    ]
    sources += [folder.joinpath("schema", "review-report.schema.json").read_text("utf-8")]
    sources += [NOTICE, INTERVAL_METHOD, *OUTCOME_LABELS.values()]
    for text in sources:
        assert VERDICT_WORDS.findall(text) == []


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ReportError, match="choose one of html, pdf, json"):
        render(full_report(), "docx")  # type: ignore[arg-type]
