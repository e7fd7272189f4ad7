"""Shared fixtures. Every test runs in a transaction that is rolled back at its end.

Set ``ASSAY_TEST_DATABASE_URL`` (for example
``postgresql+psycopg://postgres@127.0.0.1:5432/test``) to run the suite on PostgreSQL;
the default is a SQLite file.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from assay.api.app import create_app
from assay.core import migrate
from assay.core.blobs import MemoryBlobStore
from assay.core.clock import FrozenClock
from assay.core.config import Settings
from assay.core.db import Database, create_db_engine
from assay.domains import load_job_handlers, load_models
from assay.identity import passwords
from assay.runtime import Runtime

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PG_URL_ENV = "ASSAY_TEST_DATABASE_URL"


@contextmanager
def _scratch_postgres_database(base_url: str, prefix: str) -> Iterator[str]:
    """A new database on the server of ``base_url``, dropped afterwards, so concurrent test
    runs on one server never share state."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    load_models()
    load_job_handlers()
    base = os.environ.get(PG_URL_ENV)
    with ExitStack() as stack:
        if base:
            url = stack.enter_context(_scratch_postgres_database(base, "assay_s"))
        else:
            url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        engine = create_db_engine(url)
        migrate.upgrade(engine)
        yield engine
        engine.dispose()


class RollbackDatabase(Database):
    """Sessions on one connection whose outer transaction the test rolls back."""

    def __init__(self, engine: Engine, connection: Connection) -> None:
        super().__init__(engine)
        self.connection = connection

    def session(self) -> Session:
        return Session(
            bind=self.connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )


@pytest.fixture
def db(engine: Engine) -> Iterator[RollbackDatabase]:
    connection = engine.connect()
    outer = connection.begin()
    try:
        yield RollbackDatabase(engine, connection)
    finally:
        outer.rollback()
        connection.close()


@pytest.fixture
def session(db: RollbackDatabase) -> Iterator[Session]:
    with db.session() as s:
        yield s


@pytest.fixture(autouse=True)
def _cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Still argon2id, with the smallest cost: a scenario makes five users, and at the
    production cost (about 0.3 s a hash) that setup would dominate the suite's time. The
    production parameters are tested in tests/unit/identity/test_passwords.py."""
    monkeypatch.setattr(
        passwords, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        secret_key=TEST_SECRET,  # type: ignore[arg-type]
        job_backend="memory",
    )


@pytest.fixture
def runtime(settings: Settings, db: RollbackDatabase, clock: FrozenClock) -> Runtime:
    return Runtime.build(settings, clock=clock, db=db, blobs=MemoryBlobStore())


@pytest.fixture
def client(settings: Settings, runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(settings, runtime=runtime)) as c:
        yield c


@pytest.fixture
def fresh_database_url(tmp_path: Path) -> Iterator[str]:
    """A new, empty, committed database for tests that start other processes or servers."""
    base = os.environ.get(PG_URL_ENV)
    if not base:
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    with _scratch_postgres_database(base, "assay_t") as url:
        yield url
