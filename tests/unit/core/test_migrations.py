"""The migrations produce exactly the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from assay.core import migrate
from assay.domains import load_models


def test_migrations_match_the_models(engine: Engine) -> None:
    metadata = load_models()
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_the_test_database_is_at_head(engine: Engine) -> None:
    assert migrate.is_current(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
