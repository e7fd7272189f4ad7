"""The review report as plain, frozen values: what the renderers read.

Nothing here touches the database. The collector fills these from the records of one
review window; the renderers turn them into HTML, PDF or JSON. Every value is checked when
it is built, so a renderer never meets a naive datetime, a non-finite score or an unknown
severity.

Ids are text (``str(uuid)``), because the report is a document, not a query.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from assay.frontier.models import Decision, PartyRole, Severity, WindowState
from assay.reports.errors import InvalidReport

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


def _aware(name: str, value: datetime | None) -> None:
    """Refuses a naive datetime: a report read in another zone must not shift its times."""
    if value is not None and value.utcoffset() is None:
        raise InvalidReport(f"{name} must be timezone-aware (use datetime(..., tzinfo=UTC))")


def _non_negative(name: str, value: int) -> None:
    if value < 0:
        raise InvalidReport(f"{name} must be 0 or more, got {value}")


def _score(name: str, value: float, stderr: float | None) -> None:
    """A score must be a finite number and its standard error finite and not negative.

    Inspect can report NaN for a metric with no samples; the collector must leave such a
    metric out (or pass ``stderr=None``) rather than print "nan" in a report.
    """
    if not math.isfinite(value):
        raise InvalidReport(f"{name}: value must be finite, got {value}; leave the metric out")
    if stderr is not None and (not math.isfinite(stderr) or stderr < 0):
        raise InvalidReport(
            f"{name}: stderr must be finite and 0 or more, got {stderr}; pass None if unknown"
        )


def _bounds(name: str, bounds: tuple[float, float] | None, value: float) -> None:
    if bounds is None:
        return
    low, high = bounds
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise InvalidReport(f"{name}: bounds must be finite with low < high, got {bounds}")
    if not low <= value <= high:
        raise InvalidReport(f"{name}: value {value} lies outside its declared bounds {bounds}")


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """The model under review."""

    id: str
    """The model's id in Assay."""
    name: str
    """The name the developer registered."""
    version: str
    """The version the developer registered."""
    developer: str
    """The developer organization's name."""
    planned_release: datetime
    """The developer's planned release date at the time of the report."""

    def __post_init__(self) -> None:
        _aware("model.planned_release", self.planned_release)


@dataclass(frozen=True, slots=True)
class PartyInfo:
    """A party to the testing agreement and its decision on that agreement."""

    org_id: str
    """The organization's id in Assay."""
    name: str
    """The organization's name."""
    role: PartyRole
    """``developer`` or ``agency``."""
    decision: Decision | None = None
    """The party's decision on the testing agreement (``accepted``, ``declined``,
    ``pending``); None when not recorded."""
    decided_at: datetime | None = None
    """When the decision was recorded."""

    def __post_init__(self) -> None:
        PartyRole(self.role)
        if self.decision is not None:
            Decision(self.decision)
        _aware(f"party {self.name}: decided_at", self.decided_at)


@dataclass(frozen=True, slots=True)
class AccessPeriod:
    """The review window: when agencies could reach the model through the gateway."""

    window_id: str
    """The window's id in Assay."""
    state: WindowState
    """``scheduled``, ``open``, ``closed_early`` or ``expired`` when the report was built."""
    opened_at: datetime
    """When access opened."""
    closes_at: datetime
    """The latest the window could close: opening plus the agreed days, or the planned
    release if that came first."""
    agreed_days: int
    """The review length the parties agreed (at most 30)."""
    closed_at: datetime | None = None
    """When access ended, once it has; None while the window is scheduled or open."""

    def __post_init__(self) -> None:
        WindowState(self.state)
        _aware("access.opened_at", self.opened_at)
        _aware("access.closes_at", self.closes_at)
        _aware("access.closed_at", self.closed_at)
        if self.agreed_days < 1:
            raise InvalidReport(f"access.agreed_days must be 1 or more, got {self.agreed_days}")


@dataclass(frozen=True, slots=True)
class SuiteMethod:
    """How one evaluation suite works, for the methods section."""

    suite: str
    """The suite's task name, e.g. ``assay/vuln_detect``."""
    title: str
    """A short human title."""
    domain: str
    """The evaluation domain it belongs to (``cyber``, ...)."""
    description: str
    """What it measures, how it scores and its limits (plain text; blank lines split
    paragraphs)."""


@dataclass(frozen=True, slots=True)
class ResultRow:
    """One metric of one scorer of one task, from one eval run in the window."""

    domain: str
    """The evaluation domain the result is reported under."""
    suite: str
    """The suite (or task reference) the task came from."""
    task: str
    """The Inspect task name."""
    scorer: str
    """The Inspect scorer name."""
    metric: str
    """The Inspect metric name (``accuracy``, ``cwe_accuracy``, ...)."""
    value: float
    """The metric's value."""
    stderr: float | None
    """Inspect's standard error for the metric, when the scorer reports one."""
    samples: int
    """Samples scored."""
    run_id: str
    """The run it came from (listed in the annex)."""
    bounds: tuple[float, float] | None = None
    """The metric's range when known, e.g. ``(0.0, 1.0)`` for a mean of 0/1 scores. None
    lets ``stats.metric_bounds`` infer it from the metric's name."""

    def __post_init__(self) -> None:
        label = f"result {self.task}/{self.scorer}/{self.metric}"
        _score(label, self.value, self.stderr)
        _non_negative(f"{label}: samples", self.samples)
        _bounds(label, self.bounds, self.value)


@dataclass(frozen=True, slots=True)
class BaselineRow:
    """One metric from a run marked as the baseline for a reference model."""

    reference_model: str
    """The reference model the baseline run measured."""
    suite: str
    """The suite (or task reference) the task came from."""
    task: str
    """The Inspect task name."""
    scorer: str
    """The Inspect scorer name."""
    metric: str
    """The Inspect metric name."""
    value: float
    """The metric's value."""
    stderr: float | None
    """Inspect's standard error for the metric, when the scorer reports one."""
    samples: int
    """Samples scored."""
    run_id: str
    """The baseline run it came from."""
    bounds: tuple[float, float] | None = None
    """As for ``ResultRow.bounds``."""

    def __post_init__(self) -> None:
        label = f"baseline {self.reference_model} {self.task}/{self.scorer}/{self.metric}"
        _score(label, self.value, self.stderr)
        _non_negative(f"{label}: samples", self.samples)
        _bounds(label, self.bounds, self.value)


@dataclass(frozen=True, slots=True)
class ResponseInfo:
    """The developer's response to a finding."""

    org: str
    """The responding organization's name."""
    body: str
    """The response, as written (plain text)."""
    created_at: datetime
    """When it was recorded."""

    def __post_init__(self) -> None:
        _aware("response.created_at", self.created_at)


@dataclass(frozen=True, slots=True)
class FindingInfo:
    """A finding an agency recorded during the window."""

    id: str
    """The finding's id in Assay."""
    title: str
    """Its title, as written."""
    severity: Severity
    """``info``, ``low``, ``medium``, ``high`` or ``critical``."""
    domain: str
    """The evaluation domain."""
    summary: str
    """Its description, as written (plain text)."""
    agency: str
    """The recording agency's name."""
    created_at: datetime
    """When it was recorded."""
    responses: Sequence[ResponseInfo] = ()
    """The developer's responses, oldest first."""

    def __post_init__(self) -> None:
        Severity(self.severity)
        _aware(f"finding {self.id}: created_at", self.created_at)


@dataclass(frozen=True, slots=True)
class RunInfo:
    """An eval run, for the annex."""

    id: str
    """The run's id in Assay."""
    agency: str
    """The agency that started it (or the organization that recorded a baseline)."""
    tasks: Sequence[str]
    """The tasks it ran."""
    state: str
    """Its state when the report was built (``succeeded``, ``stopped_at_window_close``, ...)."""
    started_at: datetime | None
    """When it started; None if it never did."""
    finished_at: datetime | None
    """When it ended; None while running or never started."""
    samples_done: int
    """Samples completed."""
    samples_total: int
    """Samples planned."""
    log_sha256: str | None
    """The sha256 of its Inspect log (``.eval``) in the blob store; None if no log was kept."""
    is_baseline: bool = False
    """Whether the run is the baseline for a reference model."""
    reference_model: str | None = None
    """The reference model, for a baseline run."""

    def __post_init__(self) -> None:
        _aware(f"run {self.id}: started_at", self.started_at)
        _aware(f"run {self.id}: finished_at", self.finished_at)
        _non_negative(f"run {self.id}: samples_done", self.samples_done)
        _non_negative(f"run {self.id}: samples_total", self.samples_total)
        if self.log_sha256 is not None and not SHA256_RE.match(self.log_sha256):
            raise InvalidReport(
                f"run {self.id}: log_sha256 must be 64 lowercase hex digits, "
                f"got {self.log_sha256!r}"
            )
        if self.is_baseline and not self.reference_model:
            raise InvalidReport(f"run {self.id}: a baseline run needs its reference_model")


@dataclass(frozen=True, slots=True)
class ReviewReport:
    """Everything one review report says about one review window."""

    generated_at: datetime
    """When the report was built, in UTC."""
    model: ModelInfo
    """The model under review."""
    access: AccessPeriod
    """The review window."""
    parties: Sequence[PartyInfo] = ()
    """The developer and the agencies party to the testing agreement."""
    domains: Sequence[str] = ()
    """The evaluation domains the agreement put in scope."""
    methods: Sequence[SuiteMethod] = ()
    """One entry per suite that produced results."""
    results: Sequence[ResultRow] = ()
    """The window's scores."""
    baselines: Sequence[BaselineRow] = ()
    """Scores of reference models on the same tasks, to compare with."""
    findings: Sequence[FindingInfo] = ()
    """Findings recorded during the window, with the developer's responses."""
    limitations: Sequence[str] = ()
    """What the reader should keep in mind (plain text, one item each)."""
    runs: Sequence[RunInfo] = ()
    """Every run behind the results and baselines, for the annex."""

    def __post_init__(self) -> None:
        _aware("generated_at", self.generated_at)
        if self.generated_at.utcoffset() != timedelta(0):
            raise InvalidReport("generated_at must be in UTC (tzinfo=UTC)")
