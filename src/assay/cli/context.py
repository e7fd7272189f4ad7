"""What every command needs: the runtime, the acting user, and output helpers.

A command acts as a user (``--as EMAIL``, default the instance admin), and authorization
applies to it exactly as to the API, because it calls the same service functions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from assay.core.authz import Actor
from assay.core.config import Settings, load_settings
from assay.core.jobs.queue import HueyJobQueue
from assay.identity import service as identity
from assay.runtime import Runtime

console = Console(highlight=False, soft_wrap=True)


@dataclass
class CliState:
    """Set by the root callback from the global options; built lazily by ``runtime()``."""

    as_email: str | None = None
    _settings: Settings | None = None
    _runtime: Runtime | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    def runtime(self) -> Runtime:
        if self._runtime is None:
            self._runtime = Runtime.build(self.settings)
        return self._runtime

    def close(self) -> None:
        if self._runtime is not None:
            queue = self._runtime.job_queue
            if isinstance(queue, HueyJobQueue):
                queue.close()
            self._runtime.db.dispose()
            self._runtime = None

    @contextmanager
    def unit_of_work(self, *, write: bool = False) -> Iterator[tuple[Session, Actor]]:
        """One transaction, and the acting user loaded in it; ``write`` when it will write."""
        runtime = self.runtime()
        with runtime.db.transaction(write=write) as session:
            user = (
                identity.user_by_email(session, self.as_email)
                if self.as_email
                else identity.instance_admin(session)
            )
            yield session, identity.actor_for(user)


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


def to_jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return value


def print_json(value: Any) -> None:
    typer.echo(json.dumps(to_jsonable(value), indent=2, default=str))


def print_page(
    items: Sequence[BaseModel], total: int, columns: Sequence[str], as_json: bool
) -> None:
    """A list as ``{"items": [...], "total": N}`` with --json, else as a table."""
    if as_json:
        print_json({"items": [i.model_dump(mode="json") for i in items], "total": total})
        return
    table = Table(*columns)
    for item in items:
        data = item.model_dump(mode="json")
        table.add_row(*(str(data.get(c, "")) for c in columns))
    console.print(table)
    console.print(f"{len(items)} of {total}")
