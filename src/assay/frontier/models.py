"""Tables of the frontier-review domain.

No table, column or state here approves, licenses or blocks a release: a determination
records an outcome, an agreement records consent to testing, and a window records when
testing access runs. The planned release date belongs to the developer alone.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from assay.core.db import Base, UUIDPrimaryKey, value_enum
from assay.frontier.policy import Outcome

MAX_REVIEW_DAYS = 30
"""The order's ceiling on a pre-release review: enforced in the schema, the service and a CHECK."""


class Domain(StrEnum):
    """Evaluation domains an agreement may put in scope."""

    CYBER = "cyber"
    CHEM_BIO = "chem-bio"
    AUTONOMY = "autonomy"
    SAFEGUARDS = "safeguards"
    OTHER = "other"


class Stance(StrEnum):
    CONCUR = "concur"
    DISPUTE = "dispute"


class AgreementState(StrEnum):
    PROPOSED = "proposed"
    ACTIVE = "active"
    DECLINED = "declined"
    TERMINATED = "terminated"


class PartyRole(StrEnum):
    DEVELOPER = "developer"
    AGENCY = "agency"


class Decision(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class WindowState(StrEnum):
    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED_EARLY = "closed_early"
    EXPIRED = "expired"


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class FrontierModel(UUIDPrimaryKey, Base):
    """A model a developer registered. A fact left as NULL is unknown, never zero."""

    __tablename__ = "frontier_models"
    __table_args__ = (UniqueConstraint("org_id", "name", "version"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    planned_release_at: Mapped[datetime]
    training_flop: Mapped[float | None] = mapped_column(Float)
    finetune_flop: Mapped[float | None] = mapped_column(Float)
    parameters: Mapped[int | None] = mapped_column(BigInteger)
    bio_sequence_data: Mapped[bool | None] = mapped_column(Boolean)
    revenue_usd: Mapped[float | None] = mapped_column(Float)
    eu_business_users: Mapped[int | None] = mapped_column(BigInteger)
    modalities: Mapped[list[str] | None] = mapped_column(JSON)
    benchmarks: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    endpoint_url: Mapped[str | None] = mapped_column(String(2000))
    endpoint_model: Mapped[str | None] = mapped_column(String(200))
    api_key_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    facts_revision: Mapped[int] = mapped_column(Integer, default=1)
    """Bumped on every change of a fact, so a determination knows it is stale."""
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    agreements: Mapped[list[Agreement]] = relationship(
        back_populates="model", lazy="selectin", order_by="Agreement.created_at"
    )

    @property
    def owner_org_id(self) -> uuid.UUID:
        return self.org_id

    @property
    def party_org_ids(self) -> frozenset[uuid.UUID]:
        """Agencies party to a proposed or active agreement about this model."""
        return frozenset(
            p.org_id
            for a in self.agreements
            if a.state in (AgreementState.PROPOSED, AgreementState.ACTIVE)
            for p in a.parties
            if p.role == PartyRole.AGENCY
        )

    @property
    def has_api_key(self) -> bool:
        return self.api_key_encrypted is not None


class PolicyVersion(UUIDPrimaryKey, Base):
    """A coverage policy version an admin added; shipped presets live in the package."""

    __tablename__ = "coverage_policies"
    __table_args__ = (UniqueConstraint("name", "version"),)

    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    source_text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]


class Determination(UUIDPrimaryKey, Base):
    """The outcome of one policy version applied to one snapshot of a model's facts."""

    __tablename__ = "determinations"

    model_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("frontier_models.id"), index=True)
    policy_name: Mapped[str] = mapped_column(String(100))
    policy_version: Mapped[int] = mapped_column(Integer)
    policy_sha256: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[Outcome] = mapped_column(value_enum(Outcome))
    missing: Mapped[list[str]] = mapped_column(JSON)
    trace: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    facts_revision: Mapped[int] = mapped_column(Integer)
    requested_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]

    model: Mapped[FrontierModel] = relationship(lazy="joined")
    reviews: Mapped[list[DeterminationReview]] = relationship(
        lazy="selectin", order_by="DeterminationReview.created_at"
    )

    @property
    def owner_org_id(self) -> uuid.UUID:
        return self.model.org_id

    @property
    def party_org_ids(self) -> frozenset[uuid.UUID]:
        return self.model.party_org_ids

    @property
    def stale(self) -> bool:
        return self.facts_revision != self.model.facts_revision


class DeterminationReview(UUIDPrimaryKey, Base):
    """An agency's concurrence or dispute, with its rationale."""

    __tablename__ = "determination_reviews"

    determination_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("determinations.id"), index=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    stance: Mapped[Stance] = mapped_column(value_enum(Stance))
    rationale: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class Agreement(UUIDPrimaryKey, Base):
    """One version of a testing agreement. Its terms never change once proposed: a change
    is a new version that supersedes this one."""

    __tablename__ = "agreements"
    __table_args__ = (
        CheckConstraint(f"review_days >= 1 AND review_days <= {MAX_REVIEW_DAYS}", name="days"),
    )

    model_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("frontier_models.id"), index=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    """The developer's organization."""
    version: Mapped[int] = mapped_column(Integer, default=1)
    supersedes_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agreements.id"))
    determination_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("determinations.id"))
    """The current covered determination when proposed, if any: a note, never a gate."""
    state: Mapped[AgreementState] = mapped_column(value_enum(AgreementState))
    domains: Mapped[list[str]] = mapped_column(JSON)
    review_days: Mapped[int] = mapped_column(Integer)
    data_handling: Mapped[str] = mapped_column(Text, default="")
    share_findings_between_agencies: Mapped[bool] = mapped_column(Boolean, default=False)
    budget_calls: Mapped[int | None] = mapped_column(BigInteger)
    budget_tokens: Mapped[int | None] = mapped_column(BigInteger)
    contact: Mapped[str] = mapped_column(String(320), default="")
    proposed_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    activated_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(200))

    model: Mapped[FrontierModel] = relationship(back_populates="agreements", lazy="joined")
    parties: Mapped[list[AgreementParty]] = relationship(
        lazy="selectin", order_by="AgreementParty.position"
    )

    @property
    def owner_org_id(self) -> uuid.UUID:
        return self.org_id

    @property
    def party_org_ids(self) -> frozenset[uuid.UUID]:
        return frozenset(p.org_id for p in self.parties if p.role == PartyRole.AGENCY)

    def party(self, org_id: uuid.UUID) -> AgreementParty | None:
        return next((p for p in self.parties if p.org_id == org_id), None)


class AgreementParty(UUIDPrimaryKey, Base):
    """A party's decision on one agreement version: who decided, and when."""

    __tablename__ = "agreement_parties"
    __table_args__ = (UniqueConstraint("agreement_id", "org_id"),)

    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agreements.id"), index=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    role: Mapped[PartyRole] = mapped_column(value_enum(PartyRole))
    position: Mapped[int] = mapped_column(Integer)
    decision: Mapped[Decision] = mapped_column(value_enum(Decision))
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(Text, default="")


class ReviewWindow(UUIDPrimaryKey, Base):
    """The period of agency access under one active agreement.

    Its state is computed from the clock when read (``frontier.windows.state_of``), so a
    close never waits on a job; ``close_recorded_at`` only notes that the close was logged.
    """

    __tablename__ = "review_windows"

    agreement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agreements.id"), unique=True, index=True
    )
    model_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("frontier_models.id"), index=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    opens_at: Mapped[datetime]
    agreed_close_at: Mapped[datetime]
    """``opens_at`` plus the agreed days: the latest the window can ever close."""
    closed_early_at: Mapped[datetime | None]
    closed_early_by: Mapped[str | None] = mapped_column(String(200))
    close_votes: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Agencies (org ids) that asked to close early; all of them together close it."""
    final_close_at: Mapped[datetime | None]
    """Set once the close is recorded; from then on the window's end never moves."""
    close_recorded_at: Mapped[datetime | None]
    opened_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    metered_calls: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    """Gateway calls forwarded in this window (refusals not counted), kept by the gateway's
    metering writer as it writes them, so that a budget check reads one number instead of
    counting the window's rows."""
    metered_tokens: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    """Their tokens, in and out."""

    agreement: Mapped[Agreement] = relationship(lazy="joined")
    model: Mapped[FrontierModel] = relationship(lazy="joined")

    @property
    def owner_org_id(self) -> uuid.UUID:
        return self.org_id

    @property
    def party_org_ids(self) -> frozenset[uuid.UUID]:
        if self.agreement.state not in (AgreementState.PROPOSED, AgreementState.ACTIVE):
            return frozenset()
        return self.agreement.party_org_ids


class GatewayToken(UUIDPrimaryKey, Base):
    """A bearer token for the gateway, for one agency and one window. Only its hash is kept."""

    __tablename__ = "gateway_tokens"

    window_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("review_windows.id"), index=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    """The agency the token is for."""
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class GatewayCall(UUIDPrimaryKey, Base):
    """One metered call through the gateway, refused or forwarded."""

    __tablename__ = "gateway_calls"

    window_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("review_windows.id"), index=True)
    org_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organizations.id"))
    token_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("gateway_tokens.id"))
    endpoint: Mapped[str] = mapped_column(String(100))
    streamed: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[int] = mapped_column(Integer)
    upstream_status: Mapped[int | None] = mapped_column(Integer)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    refusal: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]


class Finding(UUIDPrimaryKey, Base):
    """What an agency found while testing a model in one window."""

    __tablename__ = "review_findings"

    window_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("review_windows.id"), index=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    """The agency that recorded it."""
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    domain: Mapped[Domain] = mapped_column(value_enum(Domain))
    severity: Mapped[Severity] = mapped_column(value_enum(Severity))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[str]] = mapped_column(JSON, default=list)
    shared_with_developer: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]

    window: Mapped[ReviewWindow] = relationship(lazy="joined")
    responses: Mapped[list[FindingResponse]] = relationship(
        lazy="selectin", order_by="FindingResponse.created_at"
    )

    @property
    def owner_org_id(self) -> uuid.UUID:
        return self.org_id

    @property
    def developer_org_id(self) -> uuid.UUID:
        return self.window.org_id

    @property
    def party_org_ids(self) -> frozenset[uuid.UUID]:
        """Who else sees it: the developer if it is shared, and the other agencies only if
        the agreement says agencies see each other's findings."""
        orgs: set[uuid.UUID] = set()
        if self.shared_with_developer:
            orgs.add(self.window.org_id)
        if self.window.agreement.share_findings_between_agencies:
            orgs |= self.window.party_org_ids
        return frozenset(orgs)


class FindingResponse(UUIDPrimaryKey, Base):
    """The developer's answer to a finding."""

    __tablename__ = "review_finding_responses"

    finding_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("review_findings.id"), index=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
