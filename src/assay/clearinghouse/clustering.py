"""Putting findings into canonical vulnerabilities as they arrive, in batches.

Three levels, in order, each merge recorded on the finding with its reason:
1. exact: a SARIF fingerprint, then a partial fingerprint, then a fingerprint computed from
   facts no tool controls (repository, path, rule or CWE, the code without whitespace);
2. identifiers: CVE, GHSA, PYSEC and other aliases, merged transitively;
3. near duplicates: MinHash similarity of the text within one package or repository;
   above the threshold the finding joins, just below it is flagged for an analyst.

The pure parts live in ``assay.clearinghouse.dedupe``; this module does the database side
with bulk statements: one lookup of keys and one of aliases per batch, and executemany
inserts, never a query per finding.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

import assay.clearinghouse.dedupe.aliases as alias_rules
from assay.clearinghouse import triage_service
from assay.clearinghouse.dedupe import fingerprint, near
from assay.clearinghouse.models import (
    ExactKey,
    IdCounter,
    MergeLevel,
    ReportedFinding,
    Tlp,
    VulnAlias,
    Vulnerability,
    VulnStatus,
)
from assay.formats import Finding

# SQLite allows 32,766 bound parameters per statement; stay well below it.
LOOKUP_CHUNK = 5_000
KEY_REASONS = {
    "fingerprint": "same SARIF fingerprint",
    "partial_fingerprint": "same SARIF partial fingerprint",
    "computed": "same code at the same place (repository, path, rule; lines may differ)",
}


@dataclass(frozen=True, slots=True)
class Placed:
    """Where one finding went."""

    finding_id: uuid.UUID
    source_ref: str
    vulnerability_id: uuid.UUID
    level: MergeLevel
    reason: str
    possible_duplicate_of: uuid.UUID | None = None


@dataclass(slots=True)
class _NewVuln:
    id: uuid.UUID
    public_id: str
    title: str
    scope: str
    cwe_ids: list[str]
    vectors: list[str]
    aliases: set[str] = field(default_factory=set)
    count: int = 0


def scope_of(f: Finding) -> str:
    """The package or repository a finding belongs to: near duplicates match only within."""
    return near.near_scope(f)


def title_of(f: Finding) -> str:
    return (f.title or f.rule_id or f.description or "Untitled finding").strip()[:500]


class Clusterer:
    """One intake's placement of findings; call ``add`` per batch, then ``finish``."""

    def __init__(
        self,
        session: Session,
        *,
        now: datetime,
        org_id: uuid.UUID,
        submission_id: uuid.UUID,
        tlp: Tlp,
        near_threshold: float,
        near_band: float,
    ) -> None:
        self.session = session
        self.now = now
        self.org_id = org_id
        self.submission_id = submission_id
        self.tlp = tlp
        self.index = near.NearIndex(threshold=near_threshold, band=near_band)
        self._loaded_scopes: set[str] = set()
        self._public_ids: dict[uuid.UUID, str] = {}
        self._new: dict[uuid.UUID, _NewVuln] = {}
        self._joined: dict[uuid.UUID, int] = defaultdict(int)
        self._alias_merges: list[tuple[uuid.UUID, uuid.UUID, str]] = []
        self.placed: list[Placed] = []
        self._origin = str(submission_id)  # a log's own results never near-merge each other

    # -- per batch --------------------------------------------------------------------

    def public_id(self, vuln_id: uuid.UUID) -> str:
        return self._public_ids[vuln_id]

    def add(self, batch: Sequence[Finding]) -> None:
        keys = [fingerprint.exact_keys(f) for f in batch]
        ids = [_aliases(f) for f in batch]
        known_keys = self._lookup_keys({k.value for ks in keys for k in ks})
        known_aliases = self._lookup_aliases({a for a_s in ids for a in a_s})
        scopes = [scope_of(f) for f in batch]
        self._load_scopes(set(scopes))  # every scope of the batch, before any is queried
        rows: list[dict[str, Any]] = []
        new_keys: dict[str, uuid.UUID] = {}
        new_aliases: dict[str, uuid.UUID] = {}
        for f, f_keys, f_aliases, scope in zip(batch, keys, ids, scopes, strict=True):
            finding_id = uuid.uuid4()
            place = self._place(f, f_keys, f_aliases, known_keys, known_aliases, scope=scope)
            vuln_id, level, reason, possible, signature = place
            for key in f_keys:
                if key.value not in known_keys:
                    known_keys[key.value] = vuln_id
                    new_keys[key.value] = vuln_id
            for alias in f_aliases:
                if alias not in known_aliases:
                    known_aliases[alias] = vuln_id
                    new_aliases[alias] = vuln_id
            if vuln_id in self._new:
                self._new[vuln_id].count += 1
                self._new[vuln_id].aliases.update(f_aliases)
            else:
                self._joined[vuln_id] += 1
            self.placed.append(
                Placed(
                    finding_id=finding_id,
                    source_ref=f.source_ref,
                    vulnerability_id=vuln_id,
                    level=level,
                    reason=reason,
                    possible_duplicate_of=possible,
                )
            )
            rows.append(
                self._finding_row(
                    f,
                    finding_id=finding_id,
                    vuln_id=vuln_id,
                    level=level,
                    reason=reason,
                    possible=possible,
                    signature=signature,
                    scope=scope,
                    aliases=f_aliases,
                )
            )
        self._insert_vulns()
        if new_keys:
            self.session.execute(
                insert(_table(ExactKey)),
                [{"key": k, "vulnerability_id": v} for k, v in new_keys.items()],
            )
        if new_aliases:
            self.session.execute(
                insert(_table(VulnAlias)),
                [{"alias": a, "vulnerability_id": v} for a, v in new_aliases.items()],
            )
        self.session.execute(insert(_table(ReportedFinding)), rows)

    def _place(
        self,
        f: Finding,
        keys: list[fingerprint.ExactKey],
        ids: set[str],
        known_keys: dict[str, uuid.UUID],
        known_aliases: dict[str, uuid.UUID],
        *,
        scope: str,
    ) -> tuple[uuid.UUID, MergeLevel, str, uuid.UUID | None, bytes | None]:
        for key in keys:
            vuln = known_keys.get(key.value)
            if vuln is not None:
                return vuln, MergeLevel.EXACT, KEY_REASONS[key.kind], None, None
        matched = sorted({known_aliases[a] for a in ids if a in known_aliases}, key=str)
        if matched:
            first = matched[0]
            shared = sorted(a for a in ids if known_aliases.get(a) == first)
            for other in matched[1:]:
                self._alias_merges.append((first, other, f"share aliases through {f.source_ref}"))
            return first, MergeLevel.ALIAS, f"same identifier {', '.join(shared)}", None, None
        text = near.normalize_text(f.title, f.description, f.snippet)
        signature = near.signature(text) if scope and text else None
        possible: uuid.UUID | None = None
        origin = self._origin
        if signature is not None:
            # `add` has loaded the scope, with every other scope of the batch.
            matches = self.index.query(scope, signature, ids=ids, line=f.start_line, origin=origin)
            best = matches[0] if matches else None  # duplicates come first
            if best is not None:
                target = uuid.UUID(best.item_id)
                if best.verdict == "duplicate":
                    reason = f"near duplicate: {best.similarity:.2f} similar text in {scope}"
                    return target, MergeLevel.NEAR, reason, None, near.to_bytes(signature)
                possible = target
        vuln_id = self._new_vuln(f, scope)
        if signature is not None:
            self.index.add(
                str(vuln_id), scope, signature, ids=ids, line=f.start_line, origin=origin
            )
        sig_bytes = near.to_bytes(signature) if signature is not None else None
        return vuln_id, MergeLevel.NEW, "first report", possible, sig_bytes

    def _finding_row(
        self,
        f: Finding,
        *,
        finding_id: uuid.UUID,
        vuln_id: uuid.UUID,
        level: MergeLevel,
        reason: str,
        possible: uuid.UUID | None,
        signature: bytes | None,
        scope: str,
        aliases: set[str],
    ) -> dict[str, Any]:
        return {
            "id": finding_id,
            "submission_id": self.submission_id,
            "org_id": self.org_id,
            "vulnerability_id": vuln_id,
            "tlp": self.tlp,
            "source_ref": f.source_ref[:300],
            "tool": (f.tool or None) and f.tool[:200],
            "rule_id": (f.rule_id or None) and f.rule_id[:300],
            "title": title_of(f),
            "description": (f.description or "")[:20_000],
            "cwe_ids": list(f.cwe_ids),
            "aliases": sorted(aliases),
            "severity": (f.severity or None) and f.severity[:40],
            "cvss_vectors": list(f.cvss_vectors),
            "repository": (f.repository or None) and f.repository[:500],
            "path": (f.path or None) and f.path[:1000],
            "start_line": f.start_line,
            "scope": scope[:500],
            "signature": signature,
            "level": level,
            "reason": reason[:500],
            "possible_duplicate_of": possible,
            "reproducer": False,
            "created_at": self.now,
        }

    # -- lookups ----------------------------------------------------------------------

    def _lookup_keys(self, keys: set[str]) -> dict[str, uuid.UUID]:
        found: dict[str, uuid.UUID] = {}
        for chunk in _chunks(sorted(keys)):
            stmt = select(ExactKey.key, ExactKey.vulnerability_id).where(ExactKey.key.in_(chunk))
            found.update((k, v) for k, v in self.session.execute(stmt))
        self._remember(found.values())
        return found

    def _lookup_aliases(self, ids: set[str]) -> dict[str, uuid.UUID]:
        found: dict[str, uuid.UUID] = {}
        for chunk in _chunks(sorted(ids)):
            stmt = select(VulnAlias.alias, VulnAlias.vulnerability_id).where(
                VulnAlias.alias.in_(chunk)
            )
            found.update((a, v) for a, v in self.session.execute(stmt))
        self._remember(found.values())
        return found

    def _remember(self, vuln_ids: Iterable[uuid.UUID]) -> None:
        missing = {v for v in vuln_ids if v not in self._public_ids}
        for chunk in _chunks(sorted(missing, key=str)):
            stmt = select(Vulnerability.id, Vulnerability.public_id).where(
                Vulnerability.id.in_(chunk)
            )
            self._public_ids.update((v, p) for v, p in self.session.execute(stmt))

    def _load_scopes(self, scopes: set[str]) -> None:
        """Bring the earlier first reports of these scopes into the near-duplicate index,
        once per scope, with one query per chunk of scopes."""
        new = sorted(scopes - self._loaded_scopes - {""})
        self._loaded_scopes.update(new)
        for chunk in _chunks(new):
            stmt = select(
                ReportedFinding.vulnerability_id,
                ReportedFinding.scope,
                ReportedFinding.signature,
                ReportedFinding.aliases,
                ReportedFinding.start_line,
                ReportedFinding.submission_id,
            ).where(
                ReportedFinding.scope.in_(chunk),
                ReportedFinding.level == MergeLevel.NEW,
                ReportedFinding.signature.is_not(None),
            )
            rows = self.session.execute(stmt).all()
            for vuln_id, scope, signature, ids, line, origin in rows:
                if signature is None:  # excluded by the query; this tells the type checker
                    continue
                self.index.add(
                    str(vuln_id),
                    scope,
                    near.from_bytes(signature),
                    ids=ids or (),
                    line=line,
                    origin=str(origin),
                )
            self._remember(row[0] for row in rows)

    # -- new vulnerabilities ----------------------------------------------------------

    def _new_vuln(self, f: Finding, scope: str) -> uuid.UUID:
        vuln_id = uuid.uuid4()
        self._new[vuln_id] = _NewVuln(
            id=vuln_id,
            public_id="",
            title=title_of(f),
            scope=scope,
            cwe_ids=list(f.cwe_ids),
            vectors=list(f.cvss_vectors),
        )
        self._public_ids[vuln_id] = ""  # numbered when the batch is written
        return vuln_id

    def _insert_vulns(self) -> None:
        # `_new` holds only the batch's vulnerabilities: once written they leave it (later
        # findings count in `_joined`), so a batch never walks those of earlier batches.
        pending = [v for v in self._new.values() if not v.public_id]
        if not pending:
            return
        numbers = allocate_ids(self.session, self.now.year, len(pending))
        for vuln, public_id in zip(pending, numbers, strict=True):
            vuln.public_id = public_id
            self._public_ids[vuln.id] = public_id
        # Triage depends only on the vectors and aliases: work it out once per distinct pair
        # (most new vulnerabilities of a scan have neither).
        inputs = [(tuple(v.vectors), frozenset(v.aliases)) for v in pending]
        distinct = list(dict.fromkeys(inputs))
        computed = triage_service.initial(
            self.session, [(list(vectors), set(aliases)) for vectors, aliases in distinct]
        )
        by_input = dict(zip(distinct, computed, strict=True))
        triage = [by_input[item] for item in inputs]
        rows = [
            {
                "id": v.id,
                "public_id": v.public_id,
                "title": v.title,
                "scope": v.scope[:500],
                "status": VulnStatus.NEW,
                "cwe_ids": v.cwe_ids,
                # Its findings in this batch; those of later batches are added in `finish`.
                "finding_count": v.count,
                "created_at": self.now,
                "updated_at": self.now,
                **fields,
            }
            for v, fields in zip(pending, triage, strict=True)
        ]
        self.session.execute(insert(_table(Vulnerability)), rows)
        for v in pending:
            del self._new[v.id]

    # -- the end ----------------------------------------------------------------------

    def finish(self) -> None:
        """Update counts, and merge vulnerabilities that turned out to share identifiers."""
        counts = dict(self._joined)
        for v in self._new.values():
            counts[v.id] = counts.get(v.id, 0) + v.count
        if counts:
            # One statement run for every vulnerability at once (executemany), not a
            # statement per vulnerability.
            table = _table(Vulnerability)
            stmt = (
                update(table)
                .where(table.c.id == bindparam("vuln_id"))
                .values(finding_count=table.c.finding_count + bindparam("n"), updated_at=self.now)
            )
            self.session.execute(stmt, [{"vuln_id": v, "n": n} for v, n in counts.items()])
        for keep, other, reason in self._alias_merges:
            if keep != other:
                merge_vulnerabilities(
                    self.session,
                    keep=keep,
                    other=other,
                    level=MergeLevel.ALIAS,
                    reason=reason,
                    now=self.now,
                )


def _table(model: type[Any]) -> Table:
    # Core statements on the tables: executemany without the ORM's per-row bookkeeping
    # (the rows are complete dicts; nothing is loaded into the session).
    return cast(Table, model.__table__)


def _aliases(f: Finding) -> set[str]:
    return {a for a in (alias_rules.normalize_alias(x) for x in f.aliases) if a}


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), LOOKUP_CHUNK):
        yield items[start : start + LOOKUP_CHUNK]


def allocate_ids(session: Session, year: int, count: int) -> list[str]:
    """Take ``count`` consecutive ``ASSAY-YYYY-NNNNN`` ids. The row lock (or SQLite's write
    lock, taken at BEGIN) keeps two intakes from taking the same numbers."""
    counter = session.scalar(select(IdCounter).where(IdCounter.year == year).with_for_update())
    if counter is None:
        counter = IdCounter(year=year, next_number=1)
        session.add(counter)
        session.flush()
    first = counter.next_number
    counter.next_number = first + count
    session.flush()
    return [f"ASSAY-{year}-{n:05d}" for n in range(first, first + count)]


def merge_vulnerabilities(
    session: Session,
    *,
    keep: uuid.UUID,
    other: uuid.UUID,
    level: MergeLevel,
    reason: str,
    now: datetime,
) -> None:
    """Move ``other``'s findings, keys and aliases into ``keep``; ``other`` stays as a
    ``duplicate`` pointing at ``keep``, so its id still resolves."""
    moved = session.execute(
        update(ReportedFinding)
        .where(ReportedFinding.vulnerability_id == other)
        .values(vulnerability_id=keep, level=level, reason=reason[:500])
        .returning(ReportedFinding.id)
    ).all()
    session.execute(
        update(ExactKey).where(ExactKey.vulnerability_id == other).values(vulnerability_id=keep)
    )
    session.execute(
        update(VulnAlias).where(VulnAlias.vulnerability_id == other).values(vulnerability_id=keep)
    )
    session.execute(
        update(Vulnerability)
        .where(Vulnerability.id == other)
        .values(status=VulnStatus.DUPLICATE, merged_into_id=keep, finding_count=0, updated_at=now)
    )
    session.execute(
        update(Vulnerability)
        .where(Vulnerability.id == keep)
        .values(finding_count=Vulnerability.finding_count + len(moved), updated_at=now)
    )
