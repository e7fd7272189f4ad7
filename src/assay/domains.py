"""The composition root: the one place that knows every domain package.

Alembic, the API, the CLI and the worker call these, so a new domain is wired in here
and nowhere else.
"""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData
from sqlalchemy.orm import InstrumentedAttribute

from assay.core.db import Base

MODEL_MODULES = (
    "assay.core.audit",
    "assay.core.jobs.models",
    "assay.identity.models",
    "assay.frontier.models",
    "assay.clearinghouse.models",
    "assay.clearinghouse.triage.models",
    "assay.evals.models",
)

JOB_MODULES = ("assay.core.jobs.builtin", "assay.frontier.jobs", "assay.evals.jobs")


ENCRYPTED_COLUMNS = (("assay.frontier.models", "FrontierModel", "api_key_encrypted"),)
"""Every column that holds a secret encrypted with ``SecretBox``: module, table, column."""


def encrypted_columns() -> list[InstrumentedAttribute[bytes | None]]:
    """The columns of ``ENCRYPTED_COLUMNS``, for ``assay keys rotate``."""
    return [
        getattr(getattr(importlib.import_module(module), table), column)
        for module, table, column in ENCRYPTED_COLUMNS
    ]


def load_models() -> MetaData:
    """Import every table so that ``Base.metadata`` is complete."""
    for name in MODEL_MODULES:
        importlib.import_module(name)
    return Base.metadata


def load_job_handlers() -> None:
    """Import every module that registers job handlers."""
    for name in JOB_MODULES:
        importlib.import_module(name)
