"""Database set-up: SQLite pragmas, aware UTC datetimes, ids made in Python."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Uuid, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from assay.core.authz import OrgKind
from assay.core.clock import FrozenClock
from assay.core.db import create_db_engine
from assay.identity.models import Organization
from tests.factories import make_org


def test_sqlite_runs_with_wal_foreign_keys_and_busy_timeout(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10000
    engine.dispose()


def test_datetimes_come_back_aware_in_utc(session: Session, clock: FrozenClock) -> None:
    clock.set(datetime(2026, 7, 1, 12, 0, tzinfo=timezone(timedelta(hours=-4))))
    org = make_org(session, clock, OrgKind.VENDOR)
    session.commit()
    session.expire_all()
    loaded = session.get(Organization, org.id)
    assert loaded is not None
    assert loaded.created_at.tzinfo is not None
    assert loaded.created_at == datetime(2026, 7, 1, 16, 0, tzinfo=UTC)


def test_a_naive_datetime_is_refused(session: Session) -> None:
    session.add(Organization(name="Naive", kind=OrgKind.VENDOR, created_at=datetime(2026, 1, 1)))  # noqa: DTZ001
    with pytest.raises(StatementError, match="naive datetime"):
        session.flush()


def test_ids_are_uuids_made_in_python() -> None:
    from assay.domains import load_models

    for table in load_models().sorted_tables:
        if "id" in table.c and isinstance(table.c.id.type, Uuid):
            column = table.c.id
            assert column.server_default is None, table.name
            assert column.default is not None and column.default.is_callable, table.name


def test_a_writing_unit_of_work_survives_a_commit_between_its_read_and_write(
    tmp_path: Path,
) -> None:
    """On SQLite a deferred read-then-write fails with "database is locked" when another
    connection commits in between; ``transaction(write=True)`` takes the lock up front."""
    import threading

    from sqlalchemy.exc import OperationalError

    from assay.core.db import Database

    db = Database.from_url(f"sqlite:///{tmp_path / 'lock.db'}")
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))

    def other_writer() -> None:
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (2)"))

    with pytest.raises(OperationalError, match="locked"), db.transaction() as session:
        session.execute(text("SELECT count(*) FROM t")).scalar()
        other_writer()
        session.execute(text("INSERT INTO t VALUES (1)"))

    with db.transaction(write=True) as session:
        session.execute(text("SELECT count(*) FROM t")).scalar()
        waiting = threading.Thread(target=other_writer)
        waiting.start()  # blocks on the lock until this unit of work commits
        session.execute(text("INSERT INTO t VALUES (1)"))
    waiting.join(timeout=15)
    with db.transaction() as session:
        rows = sorted(session.execute(text("SELECT x FROM t")).scalars())
    assert rows == [1, 2, 2]
    db.dispose()
