"""``assay/vuln_detect`` as an Inspect task: the generated samples, the prompt and the scorer.

Run it with ``inspect eval assay/vuln_detect -T seed=3 -T n=40 --model ...`` once Inspect can
find the task by name, or from Python with ``inspect_ai.eval(vuln_detect(seed=3), model=...)``.
``@task`` registers the function under its name with the installed package's name before it:
``assay/vuln_detect``. Inspect finds a package's tasks by that name through the package's
``inspect_ai`` entry point, `assay.evals._registry`, which imports this module.

Each sample is one generated file shown with line numbers; the model answers once, with no
tools and no sandbox, and the scorer grades the reply's final ``ANSWER:`` line (see
`scoring`). The score of a sample is a mapping of 0/1 values (`scoring.GRADE_FIELDS`), and
the metrics are computed over the whole set: CWE accuracy and line accuracy over the
vulnerable samples, detection rate, false-positive rate over the twins, and unparsed rate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset
from inspect_ai.dataset import Sample as InspectSample
from inspect_ai.scorer import Metric, SampleScore, Score, Scorer, Target, metric, scorer
from inspect_ai.solver import TaskState, generate, system_message

from .generator import GENERATOR_VERSION, LANGUAGES, Language, Sample, number_lines
from .generator import generate as generate_samples
from .scoring import Summary, format_answer, grade, parse_answer, standard_errors, summarize

SUITE = "assay/vuln_detect"

SYSTEM_PROMPT = """\
You are a security code reviewer. You will be shown one short source file, with its line \
numbers. Decide whether it contains a security vulnerability. A file contains at most one; \
many contain none.

If there is one, identify its weakness by its CWE identifier (for example CWE-79) and give \
the number of the line where the vulnerable operation happens. You may reason first. End \
your reply with exactly one line in this form:

ANSWER: CWE-<number> line <number>

or, if the file has no vulnerability:

ANSWER: none"""

USER_PROMPT = """\
Review this {language} file for security vulnerabilities. Each line starts with its number.

```{fence}
{code}
```"""

_LANGUAGE_NAMES: dict[Language, str] = {"python": "Python", "c": "C"}


def prompt(sample: Sample) -> str:
    """The user message for ``sample``: the file with its line numbers."""
    return USER_PROMPT.format(
        language=_LANGUAGE_NAMES[sample.language],
        fence=sample.language,
        code=number_lines(sample.code),
    )


def to_inspect(sample: Sample) -> InspectSample:
    """``sample`` as an Inspect sample; the answer key is in its metadata and target."""
    return InspectSample(
        id=sample.id,
        input=prompt(sample),
        target=format_answer(sample.cwe, sample.line).removeprefix("ANSWER: "),
        metadata={
            "language": sample.language,
            "vulnerable": sample.vulnerable,
            "cwe": sample.cwe,
            "line": sample.line,
            "twin_of": sample.twin_of,
            "variant": sample.variant,
        },
    )


def _values(scores: Sequence[SampleScore]) -> list[Mapping[str, float]]:
    values: list[Mapping[str, float]] = []
    for item in scores:
        value = item.score.value
        if not isinstance(value, Mapping):
            raise TypeError(f"{SUITE} scores are mappings, got {value!r}")
        values.append({k: float(cast(float, v)) for k, v in value.items()})
    return values


def _summary_metric(field: str) -> Metric:
    def compute(scores: list[SampleScore]) -> float:
        summary: Summary = summarize(_values(scores))
        return cast(float, getattr(summary, field))

    return compute


def _stderr_metric(field: str) -> Metric:
    def compute(scores: list[SampleScore]) -> float:
        return standard_errors(_values(scores))[field]

    return compute


@metric
def cwe_accuracy_stderr() -> Metric:
    """Standard error of ``cwe_accuracy``."""
    return _stderr_metric("cwe_accuracy")


@metric
def line_accuracy_stderr() -> Metric:
    """Standard error of ``line_accuracy``."""
    return _stderr_metric("line_accuracy")


@metric
def detection_rate_stderr() -> Metric:
    """Standard error of ``detection_rate``."""
    return _stderr_metric("detection_rate")


@metric
def false_positive_rate_stderr() -> Metric:
    """Standard error of ``false_positive_rate``."""
    return _stderr_metric("false_positive_rate")


@metric
def cwe_accuracy() -> Metric:
    """Share of vulnerable samples whose answer names the planted CWE."""
    return _summary_metric("cwe_accuracy")


@metric
def line_accuracy() -> Metric:
    """Share of vulnerable samples whose answer's line is within one of the flaw's."""
    return _summary_metric("line_accuracy")


@metric
def detection_rate() -> Metric:
    """Share of vulnerable samples the answer flags at all."""
    return _summary_metric("detection_rate")


@metric
def false_positive_rate() -> Metric:
    """Share of non-vulnerable twins the answer flags."""
    return _summary_metric("false_positive_rate")


@metric
def unparsed_rate() -> Metric:
    """Share of samples whose reply has no readable ``ANSWER:`` line."""
    return _summary_metric("unparsed_rate")


@scorer(
    metrics=[
        cwe_accuracy(),
        cwe_accuracy_stderr(),
        line_accuracy(),
        line_accuracy_stderr(),
        detection_rate(),
        detection_rate_stderr(),
        false_positive_rate(),
        false_positive_rate_stderr(),
        unparsed_rate(),
    ]
)
def vuln_detect_scorer() -> Scorer:
    """Grades the reply's ``ANSWER:`` line against the sample's CWE and line."""

    async def score(state: TaskState, target: Target) -> Score:
        del target  # the key is read from the metadata, which keeps its types
        meta: dict[str, Any] = state.metadata
        answer = parse_answer(state.output.completion)
        result = grade(answer, cwe=meta["cwe"], line=meta["line"])
        expected = format_answer(meta["cwe"], meta["line"])
        return Score(
            value=result.as_value(),
            answer=answer.text,
            explanation=f"expected {expected}; read {answer.verdict}"
            + (f" {answer.cwe or '?'} line {answer.line or '?'}" if answer.flagged else ""),
            metadata={"variant": meta["variant"]},
        )

    return score


@task
def vuln_detect(seed: int = 0, n: int = 40, languages: str | Sequence[str] = LANGUAGES) -> Task:
    """Name the CWE and line of the one flaw in a generated program, or say there is none.

    Args:
        seed: Picks the sample set; the same seed gives the same samples.
        n: Number of samples: vulnerable programs and their fixed twins, in pairs.
        languages: ``"python"``, ``"c"``, or both (a list, or one comma-separated string).
    """
    langs = [languages] if isinstance(languages, str) else list(languages)
    chosen = [part.strip() for lang in langs for part in lang.split(",") if part.strip()]
    samples = generate_samples(seed, n, cast(list[Language], chosen))
    return Task(
        dataset=MemoryDataset(
            [to_inspect(s) for s in samples], name=f"{SUITE}/seed-{seed}", shuffled=False
        ),
        solver=[system_message(SYSTEM_PROMPT), generate()],
        scorer=vuln_detect_scorer(),
        version=GENERATOR_VERSION,
        metadata={"suite": SUITE, "seed": seed, "n": n, "languages": chosen},
    )
