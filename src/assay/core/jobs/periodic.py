"""Periodic tasks: short housekeeping passes every worker runs on a timer.

A task is a function of the runtime, registered with ``@periodic_task``. Each must be
idempotent and safe to run in several workers at once (it runs in every worker), and must
never be needed for correctness: state that depends on time is computed when read, and a
task only records what already happened (a window's close, for example).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from assay.core.config import Settings
from assay.core.jobs.context import JobRuntime

log = logging.getLogger("assay.jobs.periodic")

PeriodicFn = Callable[[JobRuntime], int]
"""Runs one pass; returns how many things it recorded (for the log)."""


@dataclass(frozen=True)
class PeriodicTask:
    name: str
    fn: PeriodicFn
    interval: Callable[[Settings], float]


_TASKS: dict[str, PeriodicTask] = {}


def periodic_task(
    name: str, *, interval: Callable[[Settings], float]
) -> Callable[[PeriodicFn], PeriodicFn]:
    def register(fn: PeriodicFn) -> PeriodicFn:
        _TASKS[name] = PeriodicTask(name=name, fn=fn, interval=interval)
        return fn

    return register


def registered_tasks() -> list[PeriodicTask]:
    return sorted(_TASKS.values(), key=lambda t: t.name)


def run_all(runtime: JobRuntime) -> dict[str, int]:
    """One pass of every task now (``assay windows sweep`` and tests use it)."""
    return {task.name: task.fn(runtime) for task in registered_tasks()}


class PeriodicRunner:
    """Runs every registered task at its interval in one background thread."""

    def __init__(self, runtime: JobRuntime) -> None:
        self._runtime = runtime
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="periodic-tasks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        due: dict[str, float] = {}
        while not self._stop.is_set():
            now = time.monotonic()
            for task in registered_tasks():
                if due.get(task.name, 0.0) > now:
                    continue
                due[task.name] = now + task.interval(self._runtime.settings)
                try:
                    done = task.fn(self._runtime)
                    if done:
                        log.info("periodic task %s recorded %d", task.name, done)
                except Exception:
                    log.exception("periodic task %s failed; it runs again later", task.name)
            waits = [d - time.monotonic() for d in due.values()]
            self._stop.wait(max(0.5, min(waits, default=5.0)))
