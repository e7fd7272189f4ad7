"""Preparing an instance's local state: the data dir, the secret key, the schema."""

from __future__ import annotations

from assay.core import migrate
from assay.core.config import Settings, write_secret_key
from assay.core.db import Database


def prepare(settings: Settings) -> Database:
    """Create the data dir and secret key if missing, and bring the schema to head.

    Safe to run again: nothing that exists is overwritten."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.secret_key is None:
        write_secret_key(settings)
    db = Database.from_url(settings.resolved_database_url)
    migrate.upgrade(db.engine)
    return db
