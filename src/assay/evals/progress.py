"""Samples done of total for the runs going in this process, counted by an Inspect hook.

Inspect calls the hook for every eval in the process; it counts only evals whose metadata
names an Assay run (``assay_run``), which the executor sets. The executor reads the tally
when it saves progress.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from inspect_ai.hooks import Hooks, SampleEnd, TaskStart, hooks

RUN_KEY = "assay_run"


@dataclass
class Tally:
    done: int = 0
    total: int = 0


_lock = threading.Lock()
_tallies: dict[str, Tally] = {}
_eval_runs: dict[str, str] = {}


def track(run_id: str, *, done: int = 0, total: int = 0) -> Tally:
    """Start counting for ``run_id``, from samples an earlier attempt completed."""
    with _lock:
        tally = _tallies[run_id] = Tally(done=done, total=total)
        return tally


def snapshot(run_id: str) -> Tally:
    with _lock:
        tally = _tallies.get(run_id, Tally())
        return Tally(done=tally.done, total=tally.total)


def forget(run_id: str) -> None:
    with _lock:
        _tallies.pop(run_id, None)
        for eval_id in [e for e, r in _eval_runs.items() if r == run_id]:
            del _eval_runs[eval_id]


def planned_samples(samples: int | None, limit: int | tuple[int, int] | None, epochs: int) -> int:
    count = samples or 0
    if isinstance(limit, int):
        count = min(count, limit)
    elif isinstance(limit, tuple):
        count = min(count, max(0, limit[1] - limit[0]))
    return count * max(1, epochs)


@hooks(name="assay_progress", description="Counts the samples of Assay's eval runs.")
class ProgressHooks(Hooks):
    async def on_task_start(self, data: TaskStart) -> None:
        run_id = (data.spec.metadata or {}).get(RUN_KEY)
        if not isinstance(run_id, str):
            return
        with _lock:
            tally = _tallies.get(run_id)
            if tally is None:
                return
            _eval_runs[data.eval_id] = run_id
            tally.total += planned_samples(
                data.spec.dataset.samples, data.spec.config.limit, data.spec.config.epochs or 1
            )

    async def on_sample_end(self, data: SampleEnd) -> None:
        with _lock:
            run_id = _eval_runs.get(data.eval_id)
            tally = _tallies.get(run_id) if run_id is not None else None
            if tally is not None:
                tally.done += 1
