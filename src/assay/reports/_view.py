"""What every format shows, computed once: results grouped by domain and metric, each with
its 95% interval, and each window result compared with each baseline of the same metric.

The HTML, the chart and the JSON all read these values, so the three formats can never
disagree on an interval or a comparison.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, NamedTuple

from assay.frontier.models import Severity
from assay.reports.model import BaselineRow, FindingInfo, ResultRow, ReviewReport
from assay.reports.stats import Bounds, Comparison, Interval, compare, interval, resolve_bounds

NOTICE: Final = (
    "This report records the results of voluntary pre-release testing. It is not a licence "
    "or a pre-clearance: it grants no permission, places no condition on the model's "
    "release and does not delay it. The release date is the developer's own decision."
)
"""The fixed statement of what the report is not, printed in the overview and in the JSON."""

DOMAIN_TITLES: Final = {
    "cyber": "Cyber",
    "chem-bio": "Chemical and biological",
    "autonomy": "Autonomy",
    "safeguards": "Safeguards",
    "other": "Other",
}

# Most severe first: the order findings are listed and counted in.
SEVERITY_ORDER: Final = (
    Severity.CRITICAL,
    Severity.HIGH,
    Severity.MEDIUM,
    Severity.LOW,
    Severity.INFO,
)


def domain_title(domain: str) -> str:
    """A domain's heading; an unknown domain shows as written."""
    return DOMAIN_TITLES.get(domain, domain)


class MetricKey(NamedTuple):
    """What makes a window result and a baseline comparable."""

    suite: str
    task: str
    scorer: str
    metric: str


@dataclass(frozen=True, slots=True)
class ScoredResult:
    """A window result with its interval and its comparison with each baseline."""

    row: ResultRow
    interval: Interval | None
    comparisons: tuple[tuple[BaselineRow, Comparison], ...]


@dataclass(frozen=True, slots=True)
class ScoredBaseline:
    """A baseline with its interval."""

    row: BaselineRow
    interval: Interval | None


@dataclass(frozen=True, slots=True)
class MetricGroup:
    """The window's results and the baselines for one suite/task/scorer/metric."""

    key: MetricKey
    bounds: Bounds | None
    """The range intervals are clamped to (None: unbounded)."""
    results: tuple[ScoredResult, ...]
    baselines: tuple[ScoredBaseline, ...]


@dataclass(frozen=True, slots=True)
class DomainSection:
    """The results of one domain."""

    domain: str
    title: str
    in_scope: bool
    """False for a domain that has results but was not in the agreement's scope."""
    groups: tuple[MetricGroup, ...]


@dataclass(frozen=True, slots=True)
class ReportView:
    """The computed parts of a report."""

    sections: tuple[DomainSection, ...]
    unmatched_baselines: tuple[MetricGroup, ...]
    """Baselines for metrics the window has no result for (no results in these groups)."""
    findings: tuple[FindingInfo, ...]
    """Most severe first, then oldest first."""
    severity_counts: tuple[tuple[Severity, int], ...]


def _key(row: ResultRow | BaselineRow) -> MetricKey:
    return MetricKey(row.suite, row.task, row.scorer, row.metric)


def _group(
    key: MetricKey, results: Sequence[ResultRow], baselines: Sequence[BaselineRow]
) -> MetricGroup:
    # One range for the whole group, so that every interval in it is clamped alike.
    rows: list[ResultRow | BaselineRow] = [*results, *baselines]
    declared = next((r.bounds for r in rows if r.bounds is not None), None)
    values = [r.value for r in rows]
    bounds = resolve_bounds(key.metric, values, declared)
    scored = tuple(
        ScoredResult(
            row=r,
            interval=interval(r.value, r.stderr, bounds),
            comparisons=tuple(
                (b, compare(r.value, r.stderr, b.value, b.stderr, bounds)) for b in baselines
            ),
        )
        for r in results
    )
    scored_baselines = tuple(
        ScoredBaseline(row=b, interval=interval(b.value, b.stderr, bounds)) for b in baselines
    )
    return MetricGroup(key=key, bounds=bounds, results=scored, baselines=scored_baselines)


def build_view(report: ReviewReport) -> ReportView:
    """Groups and scores a report's results; pure and cheap."""
    baselines_by_key: dict[MetricKey, list[BaselineRow]] = {}
    for b in report.baselines:
        baselines_by_key.setdefault(_key(b), []).append(b)

    # Keys keep the order the collector gave, within each domain.
    by_domain: dict[str, dict[MetricKey, list[ResultRow]]] = {d: {} for d in report.domains}
    for r in report.results:
        by_domain.setdefault(r.domain, {}).setdefault(_key(r), []).append(r)

    scope = set(report.domains)
    sections = tuple(
        DomainSection(
            domain=domain,
            title=domain_title(domain),
            in_scope=domain in scope,
            groups=tuple(
                _group(key, rows, baselines_by_key.get(key, ())) for key, rows in groups.items()
            ),
        )
        for domain, groups in by_domain.items()
    )
    used = {key for groups in by_domain.values() for key in groups}
    unmatched = tuple(_group(k, (), rows) for k, rows in baselines_by_key.items() if k not in used)

    rank = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    findings = tuple(
        sorted(report.findings, key=lambda f: (rank[Severity(f.severity)], f.created_at))
    )
    counts = tuple((s, sum(1 for f in findings if f.severity == s)) for s in SEVERITY_ORDER)
    return ReportView(
        sections=sections,
        unmatched_baselines=unmatched,
        findings=findings,
        severity_counts=counts,
    )
