"""The registry of job handlers: ``@job_handler("kind")`` on a function of (context, params).

A handler must be idempotent: a job may run more than once (a worker lost mid-run, a
duplicate delivery), so a second run must find and reuse, not repeat, what the first did.
``JobContext.progress_done`` tells a handler where an earlier attempt got to.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from assay.core.authz import Permission
from assay.core.errors import FieldError, InvalidInput
from assay.core.jobs.context import JobContext

JobHandler = Callable[[JobContext, dict[str, Any]], dict[str, Any] | None]
"""Runs one job; returns a JSON-able result (stored on the job) or None."""

_KIND = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


@dataclass(frozen=True)
class HandlerSpec:
    """A registered handler and what enqueuing its kind requires."""

    kind: str
    """Dotted name, ``<domain>.<what>``, stored on every job of the kind."""
    fn: JobHandler
    """The handler itself."""
    params_model: type[BaseModel] | None
    """Validates parameters when the job is enqueued, so bad input fails at the door."""
    requires: Permission | None
    """A permission the enqueuing user needs besides ``core:job:create``."""

    def validate_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """The parameters as the model normalises them; InvalidInput names each bad field."""
        if self.params_model is None:
            return params
        try:
            model = self.params_model.model_validate(params)
        except ValidationError as exc:
            errors = [
                FieldError("params." + ".".join(str(p) for p in e["loc"]), e["msg"])
                for e in exc.errors()
            ]
            raise InvalidInput(f"bad parameters for a {self.kind} job", errors=errors) from exc
        dumped: dict[str, Any] = model.model_dump(mode="json")
        return dumped


_HANDLERS: dict[str, HandlerSpec] = {}


def job_handler(
    kind: str, *, params: type[BaseModel] | None = None, requires: Permission | None = None
) -> Callable[[JobHandler], JobHandler]:
    """Register ``fn`` as the handler of ``kind``. Modules that use it are listed in
    ``assay.domains.JOB_MODULES``, which workers and doors import at start."""
    if not _KIND.match(kind) or len(kind) > 80:
        raise ValueError(f"job kind {kind!r}: use a dotted lower-case name such as 'evals.run'")

    def register(fn: JobHandler) -> JobHandler:
        existing = _HANDLERS.get(kind)
        if existing is not None and existing.fn.__qualname__ != fn.__qualname__:
            raise ValueError(f"job kind {kind!r} is already handled by {existing.fn.__qualname__}")
        _HANDLERS[kind] = HandlerSpec(kind=kind, fn=fn, params_model=params, requires=requires)
        return fn

    return register


def get_handler(kind: str) -> HandlerSpec | None:
    return _HANDLERS.get(kind)


def handler_kinds() -> list[str]:
    return sorted(_HANDLERS)


def require_handler(kind: str) -> HandlerSpec:
    """The handler of ``kind``, or InvalidInput listing the kinds this process knows."""
    spec = _HANDLERS.get(kind)
    if spec is not None:
        return spec
    known = ", ".join(handler_kinds()) or (
        "none: this process has not called assay.domains.load_job_handlers()"
    )
    raise InvalidInput(
        f"unknown job kind {kind!r}",
        errors=[FieldError("kind", f"one of the registered kinds ({known})")],
    )
