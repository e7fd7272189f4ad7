"""Samples of a stored Inspect log, as the run and transcript pages show them.

A task's ``.eval`` log lives in the blob store under its sha256; Inspect's own readers
(``read_eval_log_sample_summaries``, ``read_eval_log_sample``) read a temporary copy of it.
Nothing here decides who may see a log: the routes get the run through the evals service,
which authorizes, before they ask for its samples. Every value is handed to the templates
as plain text, which Jinja escapes.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inspect_ai.log import (
    EvalSample,
    EvalSampleSummary,
    read_eval_log_sample,
    read_eval_log_sample_summaries,
)
from inspect_ai.model import ChatMessage, Content, ContentReasoning, ContentText
from inspect_ai.scorer import Score

from assay.core.blobs import BlobStore
from assay.core.errors import NotFound

MAX_SAMPLE_ROWS = 1000
"""Samples listed per task on the run page; the downloaded log holds them all."""
EXCERPT_CHARS = 120


@dataclass(frozen=True)
class SampleRow:
    """One line of a task's sample list."""

    id: str
    epoch: int
    input: str
    """The start of the sample's input."""
    scores: str
    """Each scorer's value, as text."""
    error: str | None
    limit: str | None
    """The limit the sample hit (time, token, ...), if any."""


@dataclass(frozen=True)
class SampleList:
    rows: list[SampleRow]
    total: int
    """Samples in the log; more than ``rows`` when the list was cut at ``MAX_SAMPLE_ROWS``."""
    error: str | None = None
    """Why the log could not be read, if it could not."""


@dataclass(frozen=True)
class ToolCallView:
    id: str
    function: str
    arguments: str
    """The arguments as indented JSON."""


@dataclass(frozen=True)
class MessageView:
    role: str
    text: str
    tool_calls: list[ToolCallView]
    tool_call_id: str | None
    """For a tool message: the call it answers."""
    error: str | None


@dataclass(frozen=True)
class ScoreView:
    scorer: str
    value: str
    answer: str | None
    explanation: str | None


@dataclass(frozen=True)
class SampleView:
    """One sample's transcript: what went in, every message, the output and its scores."""

    id: str
    epoch: int
    input: list[MessageView]
    target: str
    messages: list[MessageView]
    output: str
    stop_reason: str | None
    model: str | None
    scores: list[ScoreView]
    error: str | None
    limit: str | None
    input_tokens: int
    output_tokens: int


@contextmanager
def _log_copy(blobs: BlobStore, digest: str) -> Iterator[Path]:
    """The blob as a file with the ``.eval`` suffix Inspect reads by."""
    with tempfile.TemporaryDirectory(prefix="assay-log-") as folder:
        path = Path(folder) / "log.eval"
        path.write_bytes(blobs.get(digest))
        yield path


def sample_list(blobs: BlobStore, digest: str) -> SampleList:
    """The samples of the log ``digest``, in the log's order; an unreadable log is reported,
    not raised, so that the run page still shows what the database holds."""
    try:
        with _log_copy(blobs, digest) as path:
            summaries = read_eval_log_sample_summaries(str(path))
    except Exception as exc:  # a damaged or foreign log must not take the run page down
        return SampleList(rows=[], total=0, error=f"{type(exc).__name__}: {exc}")
    rows = [_row(s) for s in summaries[:MAX_SAMPLE_ROWS]]
    return SampleList(rows=rows, total=len(summaries))


def read_sample(blobs: BlobStore, digest: str, *, sample_id: str, epoch: int) -> SampleView:
    """The transcript of the sample ``sample_id`` (as the sample list writes it) and ``epoch``."""
    with _log_copy(blobs, digest) as path:
        summaries = read_eval_log_sample_summaries(str(path))
        # Inspect ids are int or str; the URL carries text, so match on the text.
        found = next((s for s in summaries if str(s.id) == sample_id and s.epoch == epoch), None)
        if found is None:
            raise NotFound("no such sample in this log")
        sample = read_eval_log_sample(
            str(path),
            id=found.id,
            epoch=epoch,
            resolve_attachments=True,
            exclude_fields={"events", "store", "events_data", "timelines"},
        )
    return _sample_view(sample)


# -- text of Inspect's objects -------------------------------------------------------------


def _row(summary: EvalSampleSummary) -> SampleRow:
    text = summary.input if isinstance(summary.input, str) else _input_text(summary.input)
    excerpt = " ".join(text.split())
    if len(excerpt) > EXCERPT_CHARS:
        excerpt = excerpt[: EXCERPT_CHARS - 1] + "…"
    return SampleRow(
        id=str(summary.id),
        epoch=summary.epoch,
        input=excerpt,
        scores="; ".join(f"{name}: {value_text(s.value)}" for name, s in _scores(summary)),
        error=summary.error,
        limit=summary.limit,
    )


def _scores(sample: EvalSampleSummary | EvalSample) -> list[tuple[str, Score]]:
    return list((sample.scores or {}).items())


def _input_text(messages: Sequence[ChatMessage]) -> str:
    return " ".join(_content_text(m.content) for m in messages if m.role == "user")


def _content_text(content: str | Sequence[Content]) -> str:
    if isinstance(content, str):
        return content
    parts = []
    for item in content:
        if isinstance(item, ContentText):
            parts.append(item.text)
        elif isinstance(item, ContentReasoning):
            parts.append("[reasoning] " + ("(redacted)" if item.redacted else item.reasoning))
        else:
            parts.append(f"[{item.type}]")  # images, audio, documents: named, not shown
    return "\n".join(parts)


def value_text(value: Any) -> str:
    """A score's value as a person reads it: ``cwe: 1.0, line: 0`` for a dict."""
    if isinstance(value, dict):
        return ", ".join(f"{k}: {value_text(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(value_text(v) for v in value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _message(message: ChatMessage) -> MessageView:
    calls = getattr(message, "tool_calls", None) or []
    error = getattr(message, "error", None)
    return MessageView(
        role=message.role,
        text=_content_text(message.content),
        tool_calls=[
            ToolCallView(
                id=c.id,
                function=c.function,
                arguments=json.dumps(c.arguments, indent=2, ensure_ascii=False, default=str),
            )
            for c in calls
        ],
        tool_call_id=getattr(message, "tool_call_id", None),
        error=error.message if error is not None else None,
    )


def _sample_view(sample: EvalSample) -> SampleView:
    inputs = (
        [MessageView("user", sample.input, [], None, None)]
        if isinstance(sample.input, str)
        else [_message(m) for m in sample.input]
    )
    target = sample.target if isinstance(sample.target, str) else "\n".join(sample.target)
    output = sample.output
    usage = list((sample.model_usage or {}).values())
    return SampleView(
        id=str(sample.id),
        epoch=sample.epoch,
        input=inputs,
        target=target,
        messages=[_message(m) for m in sample.messages],
        output=output.completion if output is not None else "",
        stop_reason=(
            str(output.choices[0].stop_reason) if output is not None and output.choices else None
        ),
        model=output.model if output is not None else None,
        scores=[
            ScoreView(
                scorer=name,
                value=value_text(score.value),
                answer=score.answer,
                explanation=score.explanation,
            )
            for name, score in _scores(sample)
        ],
        error=sample.error.message if sample.error is not None else None,
        limit=f"{sample.limit.type} limit ({sample.limit.limit})" if sample.limit else None,
        input_tokens=sum(u.input_tokens for u in usage),
        output_tokens=sum(u.output_tokens for u in usage),
    )
