"""Inspect logs into the database: scores, metrics with their stderr, samples and tokens.

``read_eval_log`` does the reading; this module only decides what of it Assay keeps. The
log itself goes to the blob store, named by its sha256, which the report's annex prints.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from inspect_ai.log import EvalLog, read_eval_log

from assay.core.blobs import BlobStore
from assay.evals.models import EvalMetric, EvalTaskResult

STDERR = "stderr"
STDERR_SUFFIX = "_stderr"


@dataclass(frozen=True)
class LoggedMetric:
    scorer: str
    metric: str
    value: float
    stderr: float | None


def metrics_of(log: EvalLog) -> list[LoggedMetric]:
    """Each scorer's metrics, with its standard error beside it: Inspect's ``stderr`` metric
    (one per scorer, for its other metric) or a metric named ``<name>_stderr`` (suites that
    report several rates, each with its own)."""
    out: list[LoggedMetric] = []
    if log.results is None:
        return out
    for score in log.results.scores:
        values = {name: float(metric.value) for name, metric in score.metrics.items()}
        shared = values.get(STDERR)
        for name, value in values.items():
            if name == STDERR or name.endswith(STDERR_SUFFIX):
                continue
            stderr = values.get(name + STDERR_SUFFIX, shared)
            out.append(LoggedMetric(scorer=score.name, metric=name, value=value, stderr=stderr))
    return out


def _tokens(log: EvalLog) -> tuple[int, int]:
    if log.stats is None:
        return 0, 0
    usage = log.stats.model_usage.values()
    return sum(u.input_tokens for u in usage), sum(u.output_tokens for u in usage)


def samples_of(log: EvalLog) -> tuple[int, int]:
    """(total, completed): the total counts epochs; completed comes from the results when
    Inspect scored them, else from the samples the log holds without an error."""
    epochs = log.eval.config.epochs or 1
    total = (log.eval.dataset.samples or 0) * epochs
    limit = log.eval.config.limit
    if isinstance(limit, int) and log.eval.dataset.samples:
        total = min(limit, log.eval.dataset.samples) * epochs
    if log.results is not None:
        return total, log.results.completed_samples
    completed = sum(1 for s in (log.samples or []) if s.error is None)
    return total, completed


def store_log(
    *, blobs: BlobStore, path: Path, run_id: uuid.UUID, position: int, task: str
) -> EvalTaskResult:
    """Put the log at ``path`` into the blob store and return its result row (not added)."""
    data = path.read_bytes()
    digest = blobs.put(data)
    # The header holds the results and counts of a finished eval; reading every sample of a
    # large log costs about a second per thousand, so only an unfinished one is read whole.
    log = read_eval_log(str(path), header_only=True)
    if log.results is None:
        log = read_eval_log(str(path))
    total, completed = samples_of(log)
    tokens_in, tokens_out = _tokens(log)
    result = EvalTaskResult(
        id=uuid.uuid4(),
        run_id=run_id,
        position=position,
        task=task,
        status=str(log.status),
        log_digest=digest,
        log_name=path.name,
        samples_total=total,
        samples_completed=completed,
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        error=log.error.message if log.error is not None else None,
    )
    result.metrics = [
        EvalMetric(
            id=uuid.uuid4(),
            result_id=result.id,
            position=i,
            scorer=m.scorer,
            metric=m.metric,
            value=m.value,
            stderr=m.stderr,
        )
        for i, m in enumerate(metrics_of(log))
    ]
    return result
