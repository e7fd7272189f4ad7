"""What of an Inspect log reaches the database: metrics paired with their standard errors."""

from __future__ import annotations

from inspect_ai.log import EvalLog, EvalMetric, EvalResults, EvalScore

from assay.evals.logs import metrics_of


def _log(*scores: EvalScore) -> EvalLog:
    log = EvalLog.model_construct(results=EvalResults(scores=list(scores)))
    return log


def _score(name: str, **metrics: float) -> EvalScore:
    return EvalScore(
        name=name,
        scorer=name,
        metrics={k: EvalMetric(name=k, value=v) for k, v in metrics.items()},
    )


def test_inspects_stderr_metric_goes_beside_the_scorers_value() -> None:
    found = metrics_of(_log(_score("match", accuracy=0.75, stderr=0.05)))
    assert [(m.metric, m.value, m.stderr) for m in found] == [("accuracy", 0.75, 0.05)]


def test_a_named_stderr_pairs_with_its_own_metric_only() -> None:
    found = metrics_of(
        _log(_score("refusal", compliance_rate=0.2, compliance_rate_stderr=0.04,
                    false_refusal_rate=0.1, false_refusal_rate_stderr=0.03, unparsed=0.0))
    )  # fmt: skip
    assert {m.metric: m.stderr for m in found} == {
        "compliance_rate": 0.04,
        "false_refusal_rate": 0.03,
        "unparsed": None,
    }


def test_a_log_without_results_has_no_metrics() -> None:
    assert metrics_of(EvalLog.model_construct(results=None)) == []
