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

from sqlalchemy import BindParameter, String, Table, bindparam, select, type_coerce, update
from sqlalchemy.orm import Session

from assay.clearinghouse import prepare, triage_service
from assay.clearinghouse._bulk import BulkTable
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
    """Where one finding that is not simply new went."""

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
    cwe_ids: tuple[str, ...]
    vectors: tuple[str, ...]
    aliases: set[str] = field(default_factory=set)
    count: int = 0


# The columns a finding row gives, in the order `Clusterer.add` builds them; the rest are
# the same for every finding of a submission.
FINDING_COLUMNS = (
    "id",
    "vulnerability_id",
    "source_ref",
    "tool",
    "rule_id",
    "title",
    "description",
    "cwe_ids",
    "aliases",
    "severity",
    "cvss_vectors",
    "repository",
    "path",
    "start_line",
    "scope",
    "signature",
    "level",
    "reason",
    "possible_duplicate_of",
)
VULN_COLUMNS = ("id", "public_id", "title", "scope", "cwe_ids", "finding_count")
# What `triage_service.initial` computes for a new vulnerability.
TRIAGE_COLUMNS = (
    "cvss_vector",
    "cvss_version",
    "cvss_score",
    "in_kev",
    "epss",
    "ssvc_exploitation",
    "ssvc_automatable",
    "ssvc_technical_impact",
    "ssvc_mission_impact",
    "ssvc_decision",
    "priority_rank",
)


@dataclass(frozen=True, slots=True)
class _Tables:
    findings: BulkTable
    vulns: BulkTable
    keys: BulkTable
    aliases: BulkTable


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
        # The public ids of the possible duplicates' vulnerabilities; those of the joined
        # ones are the values of `vulnerabilities`.
        self._other_public_ids: dict[uuid.UUID, str] = {}
        self._new: dict[uuid.UUID, _NewVuln] = {}
        self._joined: dict[uuid.UUID, int] = defaultdict(int)
        self._alias_merges: list[tuple[uuid.UUID, uuid.UUID, str]] = []
        # What the intake's answer needs, kept small for logs of a million results: every
        # vulnerability joined (in first-seen order), the counts, and the details of the
        # findings that were not simply new (duplicates and possible duplicates).
        self.placed: list[Placed] = []
        self.vulnerabilities: dict[uuid.UUID, str] = {}  # public id, "" until known
        self.findings = 0
        self.new = 0
        self._bulk: _Tables | None = None
        self._origin = submission_id.hex  # a log's own results never near-merge each other

    # -- per batch --------------------------------------------------------------------

    def public_id(self, vuln_id: uuid.UUID) -> str:
        found = self.vulnerabilities.get(vuln_id) or self._other_public_ids.get(vuln_id)
        if not found:
            self._resolve_public_ids()
            found = self.vulnerabilities.get(vuln_id) or self._other_public_ids[vuln_id]
        return found

    def add(self, batch: Sequence[Finding] | prepare.Prepared) -> None:
        prepared = batch if isinstance(batch, prepare.Prepared) else prepare.prepare(batch)
        findings, keys, ids, scopes = (
            prepared.findings,
            prepared.keys,
            prepared.aliases,
            prepared.scopes,
        )
        known_keys = self._lookup_keys({k.value for ks in keys for k in ks})
        known_aliases = self._lookup_aliases({a for a_s in ids for a in a_s})
        known = (known_keys, known_aliases)
        stored = self._signatures(prepared, known)
        signatures = _decode_signatures(stored, self.index.num_perm)
        # Every scope a signature will be looked up in, before any is queried.
        self._load_scopes(
            {scope for scope, sig in zip(scopes, stored, strict=True) if sig is not None}
        )
        rows: list[tuple[Any, ...]] = []
        new_keys: dict[str, uuid.UUID] = {}
        new_aliases: dict[str, uuid.UUID] = {}
        known = (known_keys, known_aliases)
        for f, f_keys, f_aliases, scope, sig, sig_bytes in zip(
            findings, keys, ids, scopes, signatures, stored, strict=True
        ):
            finding_id = uuid.uuid4()
            place = self._place(f, f_keys, f_aliases, known, scope=scope, signature=sig)
            vuln_id, level, reason, possible = place
            kept = sig_bytes if level in _SIGNED else None
            for key in f_keys:
                if key.value not in known_keys:
                    known_keys[key.value] = vuln_id
                    new_keys[key.value] = vuln_id
            for alias in f_aliases:
                if alias not in known_aliases:
                    known_aliases[alias] = vuln_id
                    new_aliases[alias] = vuln_id
            new = self._new.get(vuln_id)
            if new is not None:
                new.count += 1
                new.aliases.update(f_aliases)
            else:
                self._joined[vuln_id] += 1
            self.findings += 1
            self.vulnerabilities.setdefault(vuln_id, "")
            if level == MergeLevel.NEW and possible is None:
                self.new += 1
            else:
                self.new += level == MergeLevel.NEW
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
                (
                    finding_id,
                    vuln_id,
                    f.source_ref[:300],
                    (f.tool or None) and f.tool[:200],
                    (f.rule_id or None) and f.rule_id[:300],
                    title_of(f),
                    (f.description or "")[:20_000],
                    f.cwe_ids,
                    tuple(sorted(f_aliases)),
                    (f.severity or None) and f.severity[:40],
                    f.cvss_vectors,
                    (f.repository or None) and f.repository[:500],
                    (f.path or None) and f.path[:1000],
                    f.start_line,
                    scope[:500],
                    kept,
                    level,
                    reason[:500],
                    possible,
                )
            )
        self._insert_vulns()
        tables = self._tables()
        tables.keys.insert(list(new_keys.items()))
        tables.aliases.insert(list(new_aliases.items()))
        tables.findings.insert(rows)

    def _signatures(
        self,
        prepared: prepare.Prepared,
        known: tuple[dict[str, uuid.UUID], dict[str, uuid.UUID]],
    ) -> list[bytes | None]:
        """The stored signature of each finding that will reach the near level: one with a
        scope and text whose keys and aliases were not seen before it (in the database or
        earlier in the batch); None for the others. Those `prepare` computed are kept, the
        missing ones computed here, together."""
        seen_keys, seen_aliases = set(known[0]), set(known[1])
        wanted = []
        for position, (f_keys, f_aliases, scope) in enumerate(
            zip(prepared.keys, prepared.aliases, prepared.scopes, strict=True)
        ):
            values = [key.value for key in f_keys]
            placed = not seen_keys.isdisjoint(values) or not seen_aliases.isdisjoint(f_aliases)
            seen_keys.update(values)
            seen_aliases.update(f_aliases)
            if not placed and scope:
                wanted.append(position)
        given = prepared.signatures
        if given is None:
            return prepare.signatures_for(prepared.findings, wanted)
        missing = [position for position in wanted if given[position] is None]
        if not missing:
            return given
        computed = prepare.signatures_for(prepared.findings, missing)
        return [
            mine if mine is not None else theirs
            for mine, theirs in zip(computed, given, strict=True)
        ]

    def _place(
        self,
        f: Finding,
        keys: list[fingerprint.ExactKey],
        ids: set[str],
        known: tuple[dict[str, uuid.UUID], dict[str, uuid.UUID]],
        *,
        scope: str,
        signature: near.Signature | None,
    ) -> tuple[uuid.UUID, MergeLevel, str, uuid.UUID | None]:
        known_keys, known_aliases = known
        for key in keys:
            vuln = known_keys.get(key.value)
            if vuln is not None:
                return vuln, MergeLevel.EXACT, KEY_REASONS[key.kind], None
        matched = sorted({known_aliases[a] for a in ids if a in known_aliases}, key=str)
        if matched:
            first = matched[0]
            shared = sorted(a for a in ids if known_aliases.get(a) == first)
            for other in matched[1:]:
                self._alias_merges.append((first, other, f"share aliases through {f.source_ref}"))
            return first, MergeLevel.ALIAS, f"same identifier {', '.join(shared)}", None
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
                    return target, MergeLevel.NEAR, reason, None
                possible = target
        vuln_id = self._new_vuln(f, scope)
        if signature is not None:
            self.index.add(vuln_id.hex, scope, signature, ids=ids, line=f.start_line, origin=origin)
        return vuln_id, MergeLevel.NEW, "first report", possible

    def _tables(self) -> _Tables:
        if self._bulk is None:
            connection = self.session.connection()
            now = self.now
            self._bulk = _Tables(
                findings=BulkTable(
                    connection,
                    _table(ReportedFinding),
                    constants={
                        "submission_id": self.submission_id,
                        "org_id": self.org_id,
                        "tlp": self.tlp,
                        "reproducer": False,
                        "created_at": now,
                    },
                    varying=FINDING_COLUMNS,
                    repeating=frozenset({"cwe_ids", "aliases", "cvss_vectors", "level"}),
                ),
                vulns=BulkTable(
                    connection,
                    _table(Vulnerability),
                    constants={
                        "status": VulnStatus.NEW,
                        "reproducer_supplied": False,
                        "reproducer_confirmed": False,
                        "merged_into_id": None,
                        "created_at": now,
                        "updated_at": now,
                    },
                    varying=VULN_COLUMNS + TRIAGE_COLUMNS,
                    repeating=frozenset({"cwe_ids"}),
                ),
                keys=BulkTable(
                    connection,
                    _table(ExactKey),
                    constants={},
                    varying=("key", "vulnerability_id"),
                ),
                aliases=BulkTable(
                    connection,
                    _table(VulnAlias),
                    constants={},
                    varying=("alias", "vulnerability_id"),
                ),
            )
        return self._bulk

    # -- lookups ----------------------------------------------------------------------

    def _lookup_keys(self, keys: set[str]) -> dict[str, uuid.UUID]:
        found: dict[str, uuid.UUID] = {}
        for chunk in _chunks(sorted(keys)):
            found.update(self.session.execute(_KEYS_IN, {"values": chunk}).all())
        return found

    def _lookup_aliases(self, ids: set[str]) -> dict[str, uuid.UUID]:
        found: dict[str, uuid.UUID] = {}
        for chunk in _chunks(sorted(ids)):
            found.update(self.session.execute(_ALIASES_IN, {"values": chunk}).all())
        return found

    def _resolve_public_ids(self) -> None:
        """Look up the public ids of the earlier vulnerabilities findings joined, at once."""
        missing = {vuln for vuln, public_id in self.vulnerabilities.items() if not public_id}
        missing.update(
            vuln
            for p in self.placed
            if (vuln := p.possible_duplicate_of) is not None
            and not self.vulnerabilities.get(vuln)
            and vuln not in self._other_public_ids
        )
        for chunk in _chunks(sorted(missing, key=str)):
            for vuln, public_id in self.session.execute(_PUBLIC_IDS_IN, {"values": chunk}):
                if vuln in self.vulnerabilities:
                    self.vulnerabilities[vuln] = public_id
                else:
                    self._other_public_ids[vuln] = public_id

    def _load_scopes(self, scopes: set[str]) -> None:
        """Bring the earlier first reports of these scopes into the near-duplicate index,
        once per scope, with one query per chunk of scopes."""
        new = sorted(scopes - self._loaded_scopes - {""})
        self._loaded_scopes.update(new)
        num_perm = self.index.num_perm
        for chunk in _chunks(new):
            rows = self.session.execute(_SCOPES_IN, {"values": chunk}).all()
            # Signatures made under another feature scheme cannot be compared: left out.
            usable = [row for row in rows if near.is_current(row[2], num_perm)]
            stored = [row[2] for row in usable if row[2] is not None]  # all: for the checker
            matrix = near.from_bytes_many(stored, num_perm)
            origins: dict[str, str] = {}
            for (vuln_id, scope, _, ids, line, origin), sig in zip(usable, matrix, strict=True):
                origin_hex = _hex(origin)
                self.index.add(
                    _hex(vuln_id),
                    scope,
                    sig,
                    ids=ids or (),
                    line=line,
                    origin=origins.setdefault(origin_hex, origin_hex),
                )

    # -- new vulnerabilities ----------------------------------------------------------

    def _new_vuln(self, f: Finding, scope: str) -> uuid.UUID:
        vuln_id = uuid.uuid4()
        self._new[vuln_id] = _NewVuln(
            id=vuln_id,
            public_id="",
            title=title_of(f),
            scope=scope,
            cwe_ids=f.cwe_ids,
            vectors=f.cvss_vectors,
        )
        self.vulnerabilities[vuln_id] = ""  # numbered when the batch is written
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
            self.vulnerabilities[vuln.id] = public_id
        # Triage depends only on the vectors and aliases: work it out once per distinct pair
        # (most new vulnerabilities of a scan have neither).
        inputs = [(v.vectors, frozenset(v.aliases)) for v in pending]
        distinct = list(dict.fromkeys(inputs))
        computed = triage_service.initial(
            self.session, [(list(vectors), set(aliases)) for vectors, aliases in distinct]
        )
        by_input = {
            item: tuple(fields[name] for name in TRIAGE_COLUMNS)
            for item, fields in zip(distinct, computed, strict=True)
        }
        rows = [
            # Its findings in this batch count; those of later batches are added in `finish`.
            (v.id, v.public_id, v.title, v.scope[:500], v.cwe_ids, v.count, *by_input[item])
            for v, item in zip(pending, inputs, strict=True)
        ]
        self._tables().vulns.insert(rows)
        for v in pending:
            del self._new[v.id]

    # -- the end ----------------------------------------------------------------------

    def finish(self) -> None:
        """Update counts, and merge vulnerabilities that turned out to share identifiers."""
        # No finding is placed after this: the index, the largest thing an intake holds,
        # is freed before the answer is built.
        self.index.clear()
        self._loaded_scopes.clear()
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


# Lookups by many values at once, compiled once: each batch only expands the IN list.
_VALUES: BindParameter[Any] = bindparam("values", expanding=True)
_KEYS_IN = select(ExactKey.key, ExactKey.vulnerability_id).where(ExactKey.key.in_(_VALUES))
_ALIASES_IN = select(VulnAlias.alias, VulnAlias.vulnerability_id).where(
    VulnAlias.alias.in_(_VALUES)
)
_PUBLIC_IDS_IN = select(Vulnerability.id, Vulnerability.public_id).where(
    Vulnerability.id.in_(_VALUES)
)
# The ids come back as the driver gives them (hex text on SQLite, UUIDs from psycopg) and
# are used as the index's opaque item ids (`_hex`): building UUID objects for the tens of
# thousands of rows a scope load returns cost more than the query.
_SCOPES_IN = select(
    type_coerce(ReportedFinding.vulnerability_id, String),
    ReportedFinding.scope,
    ReportedFinding.signature,
    ReportedFinding.aliases,
    ReportedFinding.start_line,
    type_coerce(ReportedFinding.submission_id, String),
).where(
    ReportedFinding.scope.in_(_VALUES),
    ReportedFinding.level == MergeLevel.NEW,
    ReportedFinding.signature.is_not(None),
)


def _hex(value: object) -> str:
    """A UUID as 32 hex digits, from a UUID or from SQLite's stored text."""
    if isinstance(value, uuid.UUID):
        return value.hex
    text = str(value)
    return text if len(text) == 32 else uuid.UUID(text).hex


# The levels whose findings keep their signature: a near duplicate's shows what matched,
# a first report's is what later findings of its scope are compared with.
_SIGNED = frozenset({MergeLevel.NEW, MergeLevel.NEAR})


def _decode_signatures(stored: list[bytes | None], num_perm: int) -> list[near.Signature | None]:
    present = [position for position, data in enumerate(stored) if data is not None]
    matrix = near.from_bytes_many([stored[p] or b"" for p in present], num_perm)
    out: list[near.Signature | None] = [None] * len(stored)
    for position, row in zip(present, matrix, strict=True):
        out[position] = row
    return out


def _table(model: type[Any]) -> Table:
    # Core statements on the tables: executemany without the ORM's per-row bookkeeping
    # (the rows are complete dicts; nothing is loaded into the session).
    return cast(Table, model.__table__)


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
