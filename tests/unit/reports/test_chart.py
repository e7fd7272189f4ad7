"""The inline SVG chart: one bar per result and baseline, error bars, escaped labels."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assay.reports._chart import domain_charts, nice_ticks
from assay.reports._view import build_view
from tests.unit.reports.support import baseline, full_report, result

SVG = "{http://www.w3.org/2000/svg}"


def _rects(svg: str, kind: str) -> list[ET.Element]:
    root = ET.fromstring(svg)
    return [r for r in root.iter(f"{SVG}rect") if r.get("class") == f"bar bar-{kind}"]


def test_one_bar_per_result_and_matching_baseline_per_domain() -> None:
    view = build_view(full_report())
    cyber, safeguards = view.sections
    cyber_charts = domain_charts(cyber)
    # cwe_accuracy, line_accuracy and false_positive_rate are proportions: one shared chart.
    assert len(cyber_charts) == 1
    svg = str(cyber_charts[0].svg)
    assert len(_rects(svg, "result")) == 3
    assert len(_rects(svg, "baseline")) == 3  # two for cwe_accuracy, one for line_accuracy
    # compliance_rate shares the 0-1 chart; mean_tokens is on its own scale.
    safeguard_charts = domain_charts(safeguards)
    assert [c.bars for c in safeguard_charts] == [2, 1]


def test_error_bars_only_where_there_is_an_interval() -> None:
    report = full_report(
        results=(result(stderr=None),), baselines=(baseline(stderr=0.04),), domains=("cyber",)
    )
    (chart,) = domain_charts(build_view(report).sections[0])
    root = ET.fromstring(str(chart.svg))
    rows = [g for g in root.iter(f"{SVG}g") if g.get("class") == "bar-row"]
    errs = [[ln for ln in g.iter(f"{SVG}line") if ln.get("class") == "err"] for g in rows]
    assert [len(e) for e in errs] == [0, 1]


def test_bar_width_follows_the_value_on_a_zero_to_one_axis() -> None:
    report = full_report(results=(result(value=0.5),), baselines=(), domains=("cyber",))
    (chart,) = domain_charts(build_view(report).sections[0])
    (bar,) = _rects(str(chart.svg), "result")
    assert float(bar.get("width") or 0) == pytest.approx((572 - 250) / 2, abs=0.1)


def test_labels_are_escaped_and_the_svg_is_well_formed() -> None:
    hostile = '<script>alert("x")</script> & co'
    report = full_report(
        results=(result(task=hostile),),
        baselines=(baseline(task=hostile, reference_model=hostile),),
        domains=("cyber",),
    )
    (chart,) = domain_charts(build_view(report).sections[0])
    svg = str(chart.svg)
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    root = ET.fromstring(svg)  # well-formed XML, or this raises
    texts = "".join(root.itertext())
    assert "<script>" in texts  # the label survives as text, not as markup


def test_negative_values_get_an_axis_through_zero() -> None:
    report = full_report(
        results=(result(metric="score_delta", value=-2.0, stderr=0.5),),
        baselines=(),
        domains=("cyber",),
    )
    (chart,) = domain_charts(build_view(report).sections[0])
    assert chart.bars == 1
    texts = "".join(ET.fromstring(str(chart.svg)).itertext())
    assert "-3" in texts  # the axis reaches below the interval's low end (-2.98)


@given(
    st.floats(min_value=-1e6, max_value=1e6),
    st.floats(min_value=1e-6, max_value=1e6),
)
def test_nice_ticks_cover_the_range(low: float, span: float) -> None:
    high = low + span
    if high <= low:  # span lost to rounding at this magnitude
        return
    ticks = nice_ticks(low, high)
    slack = 1e-9 * max(abs(low), abs(high))  # floor/ceil on floats may land an ulp inside
    assert ticks[0] <= low + slack and ticks[-1] >= high - slack
    assert 2 <= len(ticks) <= 12
    assert ticks == sorted(ticks)


def test_nice_ticks_refuse_an_empty_range() -> None:
    with pytest.raises(ValueError, match="low < high"):
        nice_ticks(1.0, 1.0)
