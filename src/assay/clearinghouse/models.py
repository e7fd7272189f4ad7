"""Tables of the clearinghouse: submissions, reported findings, canonical vulnerabilities,
their aliases and exact keys, and the log of every merge and split.

A finding is what one reporter sent; a vulnerability is the canonical record that findings
collapse into (``ASSAY-YYYY-NNNNN``). Every finding keeps the level and reason of the merge
that put it where it is, so every cluster can be explained and undone.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from assay.core.db import Base, UUIDPrimaryKey, value_enum

CLEARINGHOUSE_OWNED = uuid.UUID(int=0)


class Tlp(StrEnum):
    """Traffic Light Protocol 2.0 labels."""

    CLEAR = "CLEAR"
    GREEN = "GREEN"
    AMBER = "AMBER"
    AMBER_STRICT = "AMBER+STRICT"
    RED = "RED"


class DiscoveryMethod(StrEnum):
    HUMAN = "human"
    AI_ASSISTED = "ai-assisted"
    AUTOMATED = "automated"


class SubmissionStatus(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class VulnStatus(StrEnum):
    NEW = "new"
    TRIAGED = "triaged"
    DUPLICATE = "duplicate"
    INVALID = "invalid"
    COORDINATING = "coordinating"
    FIXED = "fixed"
    PUBLISHED = "published"


class MergeLevel(StrEnum):
    """Why a finding sits in its vulnerability."""

    NEW = "new"
    EXACT = "exact"
    ALIAS = "alias"
    NEAR = "near"
    MANUAL = "manual"


class Submission(UUIDPrimaryKey, Base):
    """One file or form as received. A rejected one keeps only the reason."""

    __tablename__ = "ch_submissions"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    submitted_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    status: Mapped[SubmissionStatus] = mapped_column(value_enum(SubmissionStatus))
    format: Mapped[str | None] = mapped_column(String(10))
    source_name: Mapped[str] = mapped_column(String(500))
    size: Mapped[int] = mapped_column(Integer)
    blob_sha256: Mapped[str | None] = mapped_column(String(64))
    tlp: Mapped[Tlp] = mapped_column(value_enum(Tlp))
    discovery_method: Mapped[DiscoveryMethod] = mapped_column(value_enum(DiscoveryMethod))
    discovery_tool: Mapped[str] = mapped_column(String(200), default="")
    findings: Mapped[int] = mapped_column(Integer, default=0)
    new: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """For a rejection: the file, the JSON pointer and what was expected."""
    created_at: Mapped[datetime]

    @property
    def owner_org_id(self) -> uuid.UUID:
        return self.org_id


class Vulnerability(UUIDPrimaryKey, Base):
    """A canonical vulnerability: the cluster that duplicate findings collapse into."""

    __tablename__ = "ch_vulnerabilities"
    __table_args__ = (Index("ix_ch_vulnerabilities_queue", "status", "priority_rank"),)

    public_id: Mapped[str] = mapped_column(String(20), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    scope: Mapped[str] = mapped_column(String(500), default="")
    """The package or repository the vulnerability lives in (near duplicates match within)."""
    status: Mapped[VulnStatus] = mapped_column(value_enum(VulnStatus))
    cwe_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    cvss_vector: Mapped[str | None] = mapped_column(String(300))
    cvss_version: Mapped[str | None] = mapped_column(String(5))
    cvss_score: Mapped[float | None] = mapped_column(Float)
    ssvc_exploitation: Mapped[str | None] = mapped_column(String(20))
    ssvc_automatable: Mapped[str | None] = mapped_column(String(10))
    ssvc_technical_impact: Mapped[str | None] = mapped_column(String(10))
    ssvc_mission_impact: Mapped[str | None] = mapped_column(String(10))
    ssvc_decision: Mapped[str | None] = mapped_column(String(10))
    in_kev: Mapped[bool] = mapped_column(Boolean, default=False)
    epss: Mapped[float | None] = mapped_column(Float)
    priority_rank: Mapped[int] = mapped_column(Integer, default=0)
    reproducer_supplied: Mapped[bool] = mapped_column(Boolean, default=False)
    reproducer_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("ch_vulnerabilities.id"))
    finding_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    aliases: Mapped[list[VulnAlias]] = relationship(lazy="selectin", order_by="VulnAlias.alias")

    @property
    def owner_org_id(self) -> uuid.UUID:
        # The clearinghouse holds every vulnerability; it sees them by its kind, not by owning.
        return CLEARINGHOUSE_OWNED

    @property
    def party_org_ids(self) -> frozenset[uuid.UUID]:
        """The reporters of its findings, loaded by the service before it authorizes."""
        reporters: frozenset[uuid.UUID] = self.__dict__.get("_reporters", frozenset())
        return reporters

    def set_reporters(self, org_ids: frozenset[uuid.UUID]) -> None:
        self.__dict__["_reporters"] = org_ids


class VulnAlias(Base):
    """A public identifier (CVE, GHSA, PYSEC, OSV, ...) of one vulnerability."""

    __tablename__ = "ch_vuln_aliases"

    alias: Mapped[str] = mapped_column(String(100), primary_key=True)
    vulnerability_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ch_vulnerabilities.id"), index=True
    )


class ExactKey(Base):
    """A fingerprint that identifies one vulnerability; the first finding with it claims it."""

    __tablename__ = "ch_exact_keys"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    vulnerability_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ch_vulnerabilities.id"), index=True
    )


class ReportedFinding(UUIDPrimaryKey, Base):
    """One finding as a reporter sent it, and where deduplication put it, and why."""

    __tablename__ = "ch_findings"

    submission_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ch_submissions.id"), index=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    vulnerability_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ch_vulnerabilities.id"), index=True
    )
    tlp: Mapped[Tlp] = mapped_column(value_enum(Tlp))
    source_ref: Mapped[str] = mapped_column(String(300))
    tool: Mapped[str | None] = mapped_column(String(200))
    rule_id: Mapped[str | None] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    cwe_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    severity: Mapped[str | None] = mapped_column(String(40))
    cvss_vectors: Mapped[list[str]] = mapped_column(JSON, default=list)
    repository: Mapped[str | None] = mapped_column(String(500))
    path: Mapped[str | None] = mapped_column(String(1000))
    start_line: Mapped[int | None] = mapped_column(Integer)
    # Indexed: intake loads the earlier first reports of each scope it meets.
    scope: Mapped[str] = mapped_column(String(500), default="", index=True)
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)
    """The MinHash of the finding's text, for near-duplicate matching."""
    level: Mapped[MergeLevel] = mapped_column(value_enum(MergeLevel))
    reason: Mapped[str] = mapped_column(String(500))
    possible_duplicate_of: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("ch_vulnerabilities.id")
    )
    """Near-duplicate candidate just below the threshold, for an analyst to decide."""
    reproducer: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]

    @property
    def owner_org_id(self) -> uuid.UUID:
        return self.org_id


class ClusterChange(UUIDPrimaryKey, Base):
    """An analyst's merge or split, with its reason; the audit log holds the same event."""

    __tablename__ = "ch_cluster_changes"

    vulnerability_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ch_vulnerabilities.id"), index=True
    )
    action: Mapped[str] = mapped_column(String(10))
    other_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("ch_vulnerabilities.id"))
    finding_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("ch_findings.id"))
    reason: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]


class IdCounter(Base):
    """The next number of ``ASSAY-YYYY-NNNNN`` for each year."""

    __tablename__ = "ch_id_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_number: Mapped[int] = mapped_column(Integer)
