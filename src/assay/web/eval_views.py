"""What the UI shows of eval runs, apart from the routes: the window page's runs section,
the start form's choices and how its fields become a ``RunCreate``, and a run's progress as
the page and ``run-progress.js`` read it.

The window page (``review``) and the run pages (``evals``) both use it; the reads go
through the evals service, which authorizes.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from assay.core.authz import Actor, Permission
from assay.core.config import Settings
from assay.core.pagination import MAX_LIMIT
from assay.evals import runs
from assay.evals.models import ACTIVE_STATES, RunState
from assay.evals.schemas import UPLOAD_PREFIX, RunOptions, RunPublic
from assay.evals.suites import SUITES
from assay.frontier import windows
from assay.frontier.models import ReviewWindow, WindowState
from assay.web.forms import FormFailure
from assay.web.templating import permits

SANDBOX_OPTIONS: tuple[tuple[str, str], ...] = (
    ("", "The task's own"),
    ("local", "local (a temporary folder on the worker: no isolation)"),
    ("docker", "docker"),
)
OPTION_FIELDS = ("limit", "epochs", "max_connections", "time_limit", "token_limit", "sandbox")
_DEFAULTS = RunOptions()
DEFAULT_VALUES: dict[str, Any] = {
    "suites": [],
    "epochs": str(_DEFAULTS.epochs),
    "max_connections": str(_DEFAULTS.max_connections),
    "sandbox": "",
}


def is_final(state: RunState) -> bool:
    """A run in this state changes no more unless someone resumes it."""
    return state not in ACTIVE_STATES


def percent(run: RunPublic) -> int | None:
    """Whole percent of samples done, rounded down (100 only when every sample is done)."""
    return None if run.progress is None else int(run.progress * 100)


def progress_text(run: RunPublic) -> str:
    """What the progress bar says; run-progress.js writes the same words."""
    if run.samples_total:
        return f"{run.samples_done} of {run.samples_total} samples ({percent(run)}%)"
    if run.state == RunState.QUEUED:
        return "Waiting for a worker"
    return f"{run.samples_done} samples so far"


def progress_payload(run: RunPublic) -> dict[str, Any]:
    """The JSON the run page polls while the run is going."""
    return {
        "state": run.state.value,
        "final": is_final(run.state),
        "samples_done": run.samples_done,
        "samples_total": run.samples_total,
        "percent": percent(run),
        "text": progress_text(run),
    }


def suite_options() -> list[tuple[str, str]]:
    """The built-in suites, as (task name, title)."""
    return [(info.name, info.title) for info in SUITES.values()]


def runs_section(
    session: Session,
    *,
    actor: Actor,
    window: ReviewWindow,
    now: datetime,
    settings: Settings,
) -> dict[str, Any]:
    """The window page's "Evaluation runs": the runs the actor may see, and the start form
    for a member of a party agency while the window is open."""
    page = runs.list_runs(session, actor=actor, limit=MAX_LIMIT, offset=0, window_id=window.id)
    can_start = windows.state_of(window, now) == WindowState.OPEN and permits(
        actor, Permission.EVAL_RUN, window
    )
    return {
        "runs": [runs.to_public(r) for r in page.items],
        "can_start_run": can_start,
        "suite_options": suite_options(),
        "sandbox_options": SANDBOX_OPTIONS,
        "allow_task_files": settings.eval_allow_task_files,
        "progress_text": progress_text,
        "percent": percent,
        "is_final": is_final,
    }


# -- the start form ------------------------------------------------------------------------


@dataclass(frozen=True)
class StartForm:
    """The start form's fields as posted (text, as typed)."""

    suites: Sequence[str]
    other_tasks: str
    task_function: str
    options: Mapping[str, str]
    has_file: bool

    def values(self) -> dict[str, Any]:
        """What the form is refilled with when it is shown again."""
        return {
            "suites": list(self.suites),
            "other_tasks": self.other_tasks,
            "task_function": self.task_function,
            **self.options,
        }

    def tasks(self) -> list[str]:
        named = [t for t in re.split(r"[\s,]+", self.other_tasks) if t]
        tasks = [*self.suites, *named]
        if self.has_file:
            tasks.append(UPLOAD_PREFIX + self.task_function.strip())
        return tasks

    def payload(self, window_id: uuid.UUID) -> dict[str, Any]:
        """The body of a ``RunCreate``: blank option fields keep the defaults."""
        tasks = self.tasks()
        if not tasks:
            raise FormFailure(
                422,
                "Please correct the marked fields.",
                {"tasks": "choose a suite, name a task, or upload a task file"},
            )
        options = {k: v.strip() for k, v in self.options.items() if v.strip()}
        return {"window_id": window_id, "tasks": tasks, "options": options}


def field_errors(failure: FormFailure) -> FormFailure:
    """Put the service's error locations (``options.limit``, ``tasks.0``) on the form's
    fields (``limit``, ``tasks``)."""
    errors: dict[str, str] = {}
    elsewhere: list[str] = []
    for where, message in failure.errors.items():
        name = where.removeprefix("options.").split(".")[0]
        if name in (*OPTION_FIELDS, "tasks"):
            errors.setdefault(name, message)
        else:
            elsewhere.append(f"{where}: {message}")
    text = " ".join([failure.message, *elsewhere])
    return FormFailure(failure.status, text, errors)
