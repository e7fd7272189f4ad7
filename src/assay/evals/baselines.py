"""Baselines imported from Inspect logs made elsewhere (``inspect eval ... --model REF``).

Kept apart from ``runs`` because it imports inspect_ai, which takes a second: commands
that only queue or show runs do not pay for it.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from inspect_ai.log import read_eval_log
from sqlalchemy.orm import Session

from assay.core.audit import record_event
from assay.core.authz import Actor, Permission, authorize
from assay.core.blobs import BlobStore
from assay.core.clock import Clock
from assay.core.errors import InvalidInput
from assay.evals import logs
from assay.evals.events import EvalEvent
from assay.evals.models import EvalRun, RunState


def import_baseline(
    session: Session,
    *,
    actor: Actor,
    clock: Clock,
    blobs: BlobStore,
    reference_model: str,
    log_paths: list[Path],
) -> EvalRun:
    """A baseline from Inspect logs made elsewhere (``inspect eval ... --model REF``)."""
    authorize(actor, Permission.BASELINE_WRITE)
    if not log_paths:
        raise InvalidInput("give at least one Inspect log")
    now = clock.now()
    run = EvalRun(
        id=uuid.uuid4(),
        window_id=None,
        org_id=actor.org_id,
        created_by=actor.user_id,
        tasks=[],
        options={},
        state=RunState.SUCCEEDED,
        samples_done=0,
        input_tokens=0,
        output_tokens=0,
        is_baseline=True,
        reference_model=reference_model.strip(),
        created_at=now,
        started_at=now,
        finished_at=now,
    )
    results = []
    for position, path in enumerate(log_paths):
        try:
            header = read_eval_log(str(path), header_only=True)
        except Exception as exc:
            raise InvalidInput(f"{path.name}: not an Inspect log ({exc})") from exc
        if header.status != "success":
            raise InvalidInput(f"{path.name}: the log's status is {header.status}, not success")
        results.append(
            logs.store_log(
                blobs=blobs, path=path, run_id=run.id, position=position, task=header.eval.task
            )
        )
    run.tasks = [r.task for r in results]
    run.results = results
    run.samples_done = sum(r.samples_completed for r in results)
    run.samples_total = sum(r.samples_total for r in results)
    run.input_tokens = sum(r.input_tokens for r in results)
    run.output_tokens = sum(r.output_tokens for r in results)
    session.add(run)
    record_event(
        session,
        clock=clock,
        actor=actor,
        action=EvalEvent.BASELINE_IMPORTED,
        object_type="eval_run",
        object_id=run.id,
        details={"reference_model": run.reference_model, "tasks": run.tasks},
    )
    return run
