"""Input and output shapes of the clearinghouse, shared by the API, CLI and UI."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from assay.clearinghouse.models import (
    DiscoveryMethod,
    MergeLevel,
    SubmissionStatus,
    Tlp,
    VulnStatus,
)


class SubmissionMeta(BaseModel):
    """What a reporter declares with a file."""

    model_config = ConfigDict(extra="forbid")

    format: str = Field(default="auto", pattern="^(auto|sarif|osv|csaf|cve5)$")
    tlp: Tlp = Tlp.AMBER
    discovery_method: DiscoveryMethod = DiscoveryMethod.HUMAN
    discovery_tool: str = Field(
        default="", max_length=200, description="The tool or model that found it, if any."
    )


class DuplicateOut(BaseModel):
    finding: uuid.UUID
    source_ref: str
    vulnerability: str = Field(description="The ASSAY id it joined.")
    level: MergeLevel
    reason: str


class IntakeOut(BaseModel):
    """The CLI contract: submission, format, findings, new, duplicates, vulnerabilities."""

    submission: uuid.UUID
    format: str
    findings: int
    new: int
    duplicates: int
    vulnerabilities: list[str]
    duplicate_details: list[DuplicateOut] = Field(default_factory=list)
    possible_duplicates: list[DuplicateOut] = Field(default_factory=list)


class SubmissionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    org_id: uuid.UUID
    status: SubmissionStatus
    format: str | None
    source_name: str
    size: int
    blob_sha256: str | None
    tlp: Tlp
    discovery_method: DiscoveryMethod
    discovery_tool: str
    findings: int
    new: int
    duplicates: int
    error: dict[str, object] | None
    created_at: datetime


class FindingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    submission_id: uuid.UUID
    org_id: uuid.UUID
    tlp: Tlp
    source_ref: str
    tool: str | None
    rule_id: str | None
    title: str
    cwe_ids: list[str]
    aliases: list[str]
    severity: str | None
    repository: str | None
    path: str | None
    start_line: int | None
    level: MergeLevel
    reason: str
    possible_duplicate_of: uuid.UUID | None
    created_at: datetime


class VulnSummary(BaseModel):
    """What ``assay vulns list --json`` prints per item: id, status, aliases, findings, ..."""

    id: str
    uuid: uuid.UUID
    status: VulnStatus
    title: str
    aliases: list[str]
    findings: int
    reporters: int
    cwe_ids: list[str]
    cvss_score: float | None
    ssvc_decision: str | None
    in_kev: bool
    epss: float | None
    scope: str
    created_at: datetime


class VulnDetail(VulnSummary):
    cvss_vector: str | None
    cvss_version: str | None
    ssvc_inputs: dict[str, str | None]
    reproducer_supplied: bool
    reproducer_confirmed: bool
    merged_into: str | None
    cluster: list[FindingOut] = Field(
        description="The findings you may see in this vulnerability, with each merge's reason."
    )
    reporter_history: dict[str, dict[str, float | int]] = Field(
        default_factory=dict,
        description="For analysts: each reporter's findings, valid rate and duplicate rate.",
    )


class MergeIn(BaseModel):
    into: str = Field(description="The ASSAY id that stays.")
    other: str = Field(description="The ASSAY id merged into it.")
    reason: str = Field(min_length=1, max_length=2000)


class SplitIn(BaseModel):
    finding: uuid.UUID
    reason: str = Field(min_length=1, max_length=2000)


class TriageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: VulnStatus | None = None
    cvss_vector: str | None = None
    exploitation: str | None = None
    automatable: str | None = None
    technical_impact: str | None = None
    mission_impact: str | None = None
    reproducer_confirmed: bool | None = None
