"""Inline SVG bar charts: one horizontal bar per window result and per baseline, with its
95% interval as an error bar.

Built with ``xml.etree.ElementTree`` rather than string formatting, so every label (task
names, reference models) is escaped by the serializer; the same SVG works in a browser and
in WeasyPrint, and needs neither matplotlib nor a font file.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from markupsafe import Markup

from assay.reports._format import number
from assay.reports._view import DomainSection, MetricGroup
from assay.reports.stats import PROPORTION, Bounds, Interval

SVG_NS: Final = "http://www.w3.org/2000/svg"
WIDTH: Final = 640
PLOT_LEFT: Final = 250
PLOT_RIGHT: Final = 572
VALUE_X: Final = 580
LABEL_X: Final = 10
BAR_HEIGHT: Final = 13
ROW_STEP: Final = 19
HEADER_STEP: Final = 22
TOP: Final = 4
AXIS_SPACE: Final = 30
FONT: Final = "DejaVu Sans, Liberation Sans, Arial, sans-serif"
# Dark blue for the model under review, grey for reference models: distinct in greyscale
# print too.
FILL: Final = {"result": "#1f4e79", "baseline": "#a9b4c0"}
LABEL_CHARS: Final = 38
HEADER_CHARS: Final = 96

Kind = Literal["result", "baseline"]


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: a value, its interval and what it is."""

    label: str
    value: float
    interval: Interval | None
    kind: Kind
    tooltip: str


@dataclass(frozen=True, slots=True)
class Chart:
    """A rendered chart and the caption to print under it."""

    svg: Markup
    caption: str
    bars: int


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] with about ``count`` steps of 1, 2, 2.5 or 5
    times a power of ten."""
    span = high - low
    if span <= 0 or not math.isfinite(span):
        raise ValueError(f"need low < high, got {low}, {high}")
    magnitude = 10.0 ** math.floor(math.log10(span / count))
    step = next(
        m * magnitude for m in (1.0, 2.0, 2.5, 5.0, 10.0) if span / (m * magnitude) <= count
    )
    start = math.floor(low / step) * step
    stop = math.ceil(high / step) * step
    steps = round((stop - start) / step)
    return [start + i * step for i in range(steps + 1)]


def _bars(group: MetricGroup) -> list[Bar]:
    bars = [
        Bar(
            label=f"This model · run {r.row.run_id[:8]}",
            value=r.row.value,
            interval=r.interval,
            kind="result",
            tooltip=f"This model (run {r.row.run_id}): {_describe(r.row.value, r.interval)}",
        )
        for r in group.results
    ]
    bars += [
        Bar(
            label=f"Baseline: {b.row.reference_model}",
            value=b.row.value,
            interval=b.interval,
            kind="baseline",
            tooltip=f"Baseline {b.row.reference_model}: {_describe(b.row.value, b.interval)}",
        )
        for b in group.baselines
    ]
    return bars


def _describe(value: float, iv: Interval | None) -> str:
    if iv is None:
        return f"{number(value)} (no interval)"
    return f"{number(value)}, 95% interval {number(iv.low)} to {number(iv.high)}"


def _axis(bars: Sequence[Bar], bounds: Bounds | None) -> list[float]:
    if bounds is not None:
        return nice_ticks(*bounds)
    points = [0.0]
    for bar in bars:
        points.append(bar.value)
        if bar.interval is not None:
            points += [bar.interval.low, bar.interval.high]
    low, high = min(points), max(points)
    return nice_ticks(low, high if high > low else low + 1.0)


def _text(parent: ET.Element, x: float, y: float, text: str, **attrs: str) -> None:
    el = ET.SubElement(parent, "text", {"x": f"{x:.1f}", "y": f"{y:.1f}", **attrs})
    el.text = text


def _line(
    parent: ET.Element,
    x1: float,
    y1: float,
    x2: float,
    y2: float,
    *,
    cls: str,
    stroke: str = "#1a1a1a",
    width: float = 1.2,
) -> None:
    ends = {"x1": x1, "y1": y1, "x2": x2, "y2": y2}
    attrs = {"class": cls} | {k: f"{v:.1f}" for k, v in ends.items()}
    ET.SubElement(parent, "line", attrs | {"stroke": stroke, "stroke-width": str(width)})


def _root(title: str, height: float) -> ET.Element:
    svg = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "class": "chart",
            "role": "img",
            "width": str(WIDTH),
            "height": f"{height:.0f}",
            "viewBox": f"0 0 {WIDTH} {height:.0f}",
            "font-family": FONT,
            "font-size": "10.5",
        },
    )
    ET.SubElement(svg, "title").text = title
    desc = "Horizontal bars show each value; black error bars show its 95% interval."
    ET.SubElement(svg, "desc").text = desc
    return svg


def _grid(
    svg: ET.Element, ticks: Sequence[float], x: Callable[[float], float], bottom: float
) -> None:
    for tick in ticks:
        tx = x(tick)
        _line(svg, tx, TOP, tx, bottom, cls="grid", stroke="#d9dde2", width=0.8)
        _text(svg, tx, bottom + 14, number(tick, short=True), **{"text-anchor": "middle"})
    _line(svg, PLOT_LEFT, bottom, PLOT_RIGHT, bottom, cls="axis")


def bar_chart(groups: Sequence[MetricGroup], *, title: str, bounds: Bounds | None) -> Chart:
    """One chart for groups that share a scale: a header per group, then its bars."""
    all_bars = [bar for g in groups for bar in _bars(g)]
    ticks = _axis(all_bars, bounds)
    lo, hi = ticks[0], ticks[-1]

    def x(v: float) -> float:
        return PLOT_LEFT + (v - lo) / (hi - lo) * (PLOT_RIGHT - PLOT_LEFT)

    bottom = TOP + len(groups) * HEADER_STEP + len(all_bars) * ROW_STEP
    svg = _root(title, bottom + AXIS_SPACE)
    _grid(svg, ticks, x, bottom)
    zero = x(min(max(0.0, lo), hi))
    y = float(TOP)
    for group in groups:
        k = group.key
        header = _clip(f"{k.task} · {k.scorer} · {k.metric}", HEADER_CHARS)
        _text(svg, 0, y + 15, header, **{"font-weight": "bold"})
        y += HEADER_STEP
        for bar in _bars(group):
            _bar(svg, bar, y, x, zero)
            y += ROW_STEP
    # ElementTree has escaped every text and attribute, so the result is safe markup.
    markup = Markup(ET.tostring(svg, encoding="unicode"))  # noqa: S704 - escaped by ElementTree
    return Chart(svg=markup, caption=title, bars=len(all_bars))


def _bar(svg: ET.Element, bar: Bar, y: float, x: Callable[[float], float], zero: float) -> None:
    g = ET.SubElement(svg, "g", {"class": "bar-row", "data-kind": bar.kind})
    ET.SubElement(g, "title").text = bar.tooltip
    mid = y + BAR_HEIGHT / 2
    _text(g, LABEL_X, mid + 3.5, _clip(bar.label, LABEL_CHARS))
    end = x(bar.value)
    ET.SubElement(
        g,
        "rect",
        {
            "class": f"bar bar-{bar.kind}",
            "x": f"{min(zero, end):.1f}",
            "y": f"{y:.1f}",
            "width": f"{abs(end - zero):.1f}",
            "height": str(BAR_HEIGHT),
            "fill": FILL[bar.kind],
        },
    )
    if bar.interval is not None:
        left, right = x(bar.interval.low), x(bar.interval.high)
        _line(g, left, mid, right, mid, cls="err")
        _line(g, left, mid - 4, left, mid + 4, cls="err-cap")
        _line(g, right, mid - 4, right, mid + 4, cls="err-cap")
    _text(g, VALUE_X, mid + 3.5, number(bar.value))


def domain_charts(section: DomainSection) -> list[Chart]:
    """The charts of one domain: proportions share one 0-1 chart; any other metric gets a
    chart of its own, since values on different scales cannot share an axis."""
    groups = [g for g in section.groups if g.results or g.baselines]
    shared = [g for g in groups if g.bounds == PROPORTION]
    charts: list[Chart] = []
    if shared:
        charts.append(
            bar_chart(shared, title=f"{section.title}: proportions (0 to 1)", bounds=PROPORTION)
        )
    for g in groups:
        if g.bounds != PROPORTION:
            charts.append(bar_chart([g], title=f"{section.title}: {g.key.metric}", bounds=g.bounds))
    return charts
