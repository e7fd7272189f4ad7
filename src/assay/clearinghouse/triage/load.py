"""Loading KEV and EPSS data, and joining it to CVE ids.

A load parses and checks the whole file first, so a file that is wrong anywhere raises
``InvalidInput`` and writes nothing. Then, batch by batch, it reads the stored rows of the
batch's CVEs, counts each entry as added, updated or unchanged, and writes the added and
updated ones in one ``INSERT ... ON CONFLICT (cve_id) DO UPDATE`` statement (SQLite's or
PostgreSQL's, by the session's dialect). Unchanged rows are not rewritten, so their
``loaded_at`` and ``catalog_version`` say when their data last changed.

A load never deletes: a CVE absent from a new file keeps its row. (CISA has removed
entries from KEV only a handful of times; a partial file must not empty the table.)
The caller's unit of work commits; the audit event is written in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, Literal, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from assay.clearinghouse.triage.epss import parse_epss_csv
from assay.clearinghouse.triage.events import TriageEvent
from assay.clearinghouse.triage.kev import parse_kev
from assay.clearinghouse.triage.models import EpssScoreRow, KevEntryRow
from assay.core.audit import record_event
from assay.core.authz import Actor, Permission, authorize
from assay.core.clock import Clock

MAX_BOUND_PARAMETERS = 30_000
"""Per statement: below SQLite's 32,766 (since 3.32) and PostgreSQL's 65,535."""
BATCH_ROWS = 1_000
"""Rows per batch at most: SQLAlchemy's default ``insertmanyvalues_page_size``, so that a
batch's write is one INSERT statement."""

_KEV_FIELDS = (
    "vendor",
    "product",
    "name",
    "short_description",
    "required_action",
    "date_added",
    "due_date",
    "known_ransomware",
    "notes",
    "cwes",
)
_EPSS_FIELDS = ("epss", "percentile", "score_date", "model_version")
_KEYS = ("id", "cve_id")


@dataclass(frozen=True)
class LoadReport:
    kind: Literal["kev", "epss"]
    source_name: str
    version: str
    """The KEV catalog version, or the EPSS score date (``YYYY-MM-DD``)."""
    total: int
    added: int
    updated: int
    unchanged: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_kev(
    session: Session, *, actor: Actor, clock: Clock, data: bytes, source_name: str
) -> LoadReport:
    """Load CISA's KEV catalog, JSON or CSV (see ``kev.parse_kev``)."""
    authorize(actor, Permission.TRIAGE_DATA_LOAD)
    catalog = parse_kev(data, source_name=source_name)
    now = clock.now()
    rows = [
        {
            "cve_id": e.cve_id,
            "vendor": e.vendor,
            "product": e.product,
            "name": e.name,
            "short_description": e.short_description,
            "required_action": e.required_action,
            "date_added": e.date_added,
            "due_date": e.due_date,
            "known_ransomware": e.known_ransomware,
            "notes": e.notes,
            "cwes": list(e.cwes),
            "catalog_version": catalog.version,
            "loaded_at": now,
        }
        for e in catalog.entries
    ]
    added, updated, unchanged = _upsert(session, _table(KevEntryRow), rows, _KEV_FIELDS)
    report = LoadReport(
        kind="kev",
        source_name=source_name,
        version=catalog.version,
        total=len(rows),
        added=added,
        updated=updated,
        unchanged=unchanged,
    )
    record_event(
        session,
        clock=clock,
        actor=actor,
        action=TriageEvent.KEV_LOADED,
        object_type="kev",
        object_id=catalog.version,
        details={**_counts(report), "format": catalog.format, "released": catalog.released},
    )
    return report


def load_epss(
    session: Session, *, actor: Actor, clock: Clock, data: bytes, source_name: str
) -> LoadReport:
    """Load a FIRST EPSS score file (see ``epss.parse_epss_csv``)."""
    authorize(actor, Permission.TRIAGE_DATA_LOAD)
    scores = parse_epss_csv(data, source_name=source_name)
    now = clock.now()
    rows = [
        {
            "cve_id": s.cve_id,
            "epss": s.epss,
            "percentile": s.percentile,
            "score_date": s.score_date,
            "model_version": scores.model_version,
            "loaded_at": now,
        }
        for s in scores.scores
    ]
    added, updated, unchanged = _upsert(session, _table(EpssScoreRow), rows, _EPSS_FIELDS)
    version = scores.score_date.isoformat()
    report = LoadReport(
        kind="epss",
        source_name=source_name,
        version=version,
        total=len(rows),
        added=added,
        updated=updated,
        unchanged=unchanged,
    )
    record_event(
        session,
        clock=clock,
        actor=actor,
        action=TriageEvent.EPSS_LOADED,
        object_type="epss",
        object_id=version,
        details={**_counts(report), "model_version": scores.model_version},
    )
    return report


def _counts(report: LoadReport) -> dict[str, Any]:
    return {
        "source_name": report.source_name,
        "total": report.total,
        "added": report.added,
        "updated": report.updated,
        "unchanged": report.unchanged,
    }


def _table(model: type[KevEntryRow] | type[EpssScoreRow]) -> Table:
    return cast(Table, model.__table__)


def _batches(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _upsert(
    session: Session, table: Table, rows: list[dict[str, Any]], compared: tuple[str, ...]
) -> tuple[int, int, int]:
    """Write ``rows`` keyed by ``cve_id``; return (added, updated, unchanged)."""
    if not rows:
        return 0, 0, 0
    insert = _dialect_insert(session)
    columns = [table.c[name] for name in compared]
    size = max(1, min(BATCH_ROWS, MAX_BOUND_PARAMETERS // (len(rows[0]) + 1)))
    added = updated = unchanged = 0
    for batch in _batches(rows, size):
        stored = {
            r[0]: tuple(r[1:])
            for r in session.execute(
                select(table.c.cve_id, *columns).where(
                    table.c.cve_id.in_([row["cve_id"] for row in batch])
                )
            )
        }
        changed: list[dict[str, Any]] = []
        for row in batch:
            old = stored.get(row["cve_id"])
            if old is None:
                added += 1
            elif old != tuple(row[name] for name in compared):
                updated += 1
            else:
                unchanged += 1
                continue
            changed.append({"id": uuid.uuid4(), **row})
        if not changed:
            continue
        # One compiled statement with many parameter sets: SQLAlchemy's "insertmanyvalues"
        # sends it as multi-row INSERT ... VALUES (...), (...) ON CONFLICT statements (the
        # RETURNING clause is what selects that path, on both backends).
        statement = insert(table)
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.cve_id],
            set_={name: statement.excluded[name] for name in changed[0] if name not in _KEYS},
        ).returning(table.c.cve_id)
        session.execute(statement, changed).all()
    return added, updated, unchanged


def _dialect_insert(session: Session) -> Any:
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"bulk upsert is written for SQLite and PostgreSQL, not {name}")


@dataclass(frozen=True)
class Enrichment:
    """What the loaded reference data says about one CVE."""

    cve_id: str
    in_kev: bool
    kev_date_added: date | None = None
    kev_due_date: date | None = None
    known_ransomware: bool | None = None
    epss: float | None = None
    epss_percentile: float | None = None
    epss_date: date | None = None


def enrichment(session: Session, cve_ids: Iterable[str]) -> dict[str, Enrichment]:
    """KEV and EPSS facts for each CVE id (upper-cased); a CVE in neither gets
    ``in_kev=False`` and no EPSS. Public reference data: the caller authorizes access to
    the vulnerability the ids belong to."""
    wanted = sorted({c.strip().upper() for c in cve_ids if c.strip()})
    kev: dict[str, KevEntryRow] = {}
    epss: dict[str, EpssScoreRow] = {}
    for batch in _batches(wanted, MAX_BOUND_PARAMETERS):
        kev.update(
            (row.cve_id, row)
            for row in session.scalars(select(KevEntryRow).where(KevEntryRow.cve_id.in_(batch)))
        )
        epss.update(
            (row.cve_id, row)
            for row in session.scalars(select(EpssScoreRow).where(EpssScoreRow.cve_id.in_(batch)))
        )
    result: dict[str, Enrichment] = {}
    for cve in wanted:
        k, e = kev.get(cve), epss.get(cve)
        result[cve] = Enrichment(
            cve_id=cve,
            in_kev=k is not None,
            kev_date_added=k.date_added if k else None,
            kev_due_date=k.due_date if k else None,
            known_ransomware=k.known_ransomware if k else None,
            epss=e.epss if e else None,
            epss_percentile=e.percentile if e else None,
            epss_date=e.score_date if e else None,
        )
    return result
