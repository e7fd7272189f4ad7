"""Input and output shapes of the frontier-review domain, shared by the API, CLI and UI.

No output shape carries a model's API key: ``ModelPublic`` says only whether one is set.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SecretStr, field_validator

from assay.frontier.models import (
    MAX_REVIEW_DAYS,
    AgreementState,
    Decision,
    Domain,
    PartyRole,
    Severity,
    Stance,
    WindowState,
)
from assay.frontier.policy import Outcome

FLOP = Field(default=None, ge=0, description="Floating-point operations; absent means unknown.")


def check_endpoint_url(url: str | None) -> str | None:
    if url is None:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL with a host, such as https://api.example.com/v1")
    return url.strip().rstrip("/")


class ModelFacts(BaseModel):
    """The facts a coverage policy reads. Every one may be absent: absent is unknown."""

    training_flop: float | None = FLOP
    finetune_flop: float | None = Field(
        default=None, ge=0, description="Fine-tuning and RL compute, in FLOP, apart from training."
    )
    parameters: int | None = Field(default=None, ge=0)
    bio_sequence_data: bool | None = Field(
        default=None, description="Trained primarily on biological sequence data."
    )
    revenue_usd: float | None = Field(default=None, ge=0, description="The developer's revenue.")
    eu_business_users: int | None = Field(default=None, ge=0)
    modalities: list[str] | None = None
    benchmarks: dict[str, float] = Field(
        default_factory=dict, description="Self-reported benchmark scores, name to value."
    )


class ModelAccess(BaseModel):
    endpoint_url: str | None = Field(
        default=None, description="The OpenAI-compatible base URL, e.g. https://host/v1."
    )
    endpoint_model: str | None = Field(default=None, max_length=200)
    api_key: SecretStr | None = Field(
        default=None, description="Encrypted at rest; never returned, logged or shown again."
    )

    _check_url = field_validator("endpoint_url")(check_endpoint_url)


class ModelCreate(ModelFacts, ModelAccess):
    model_config = ConfigDict(extra="forbid")

    org_id: uuid.UUID | None = Field(
        default=None, description="The developer organization; defaults to the caller's."
    )
    name: str = Field(min_length=1, max_length=200)
    version: str = Field(min_length=1, max_length=100)
    description: str = ""
    planned_release_at: AwareDatetime


class ModelUpdate(BaseModel):
    """Only the fields sent change; send null to make a fact unknown again."""

    model_config = ConfigDict(extra="forbid")

    description: str | None = None
    planned_release_at: AwareDatetime | None = None
    training_flop: float | None = FLOP
    finetune_flop: float | None = FLOP
    parameters: int | None = Field(default=None, ge=0)
    bio_sequence_data: bool | None = None
    revenue_usd: float | None = Field(default=None, ge=0)
    eu_business_users: int | None = Field(default=None, ge=0)
    modalities: list[str] | None = None
    benchmarks: dict[str, float] | None = None
    endpoint_url: str | None = None
    endpoint_model: str | None = Field(default=None, max_length=200)
    api_key: SecretStr | None = None

    _check_url = field_validator("endpoint_url")(check_endpoint_url)


class ModelPublic(ModelFacts):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    org_id: uuid.UUID
    name: str
    version: str
    description: str
    planned_release_at: datetime
    endpoint_url: str | None
    endpoint_model: str | None
    has_api_key: bool
    facts_revision: int
    created_at: datetime
    updated_at: datetime


class PolicySummary(BaseModel):
    name: str
    version: int
    title: str
    default: bool
    shipped: bool
    sha256: str


class PolicyDetail(PolicySummary):
    description: str
    parameters: dict[str, Any]
    source_text: str


class PolicyCreate(BaseModel):
    source_text: str = Field(description="The policy as YAML, in the shipped presets' format.")


class DeterminationCreate(BaseModel):
    model_id: uuid.UUID
    policy: str = Field(description="A policy name; its latest version is used.")


class ReviewPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    org_id: uuid.UUID
    user_id: uuid.UUID
    stance: Stance
    rationale: str
    created_at: datetime


class DeterminationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    model_id: uuid.UUID
    outcome: Outcome
    policy: str = Field(validation_alias="policy_name")
    policy_version: int
    policy_sha256: str
    missing: list[str]
    trace: list[dict[str, Any]]
    facts: dict[str, Any]
    stale: bool
    created_at: datetime
    reviews: list[ReviewPublic]


class ReviewCreate(BaseModel):
    stance: Stance
    rationale: str = Field(min_length=1, max_length=20_000)


class AgreementCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_id: uuid.UUID
    agencies: list[uuid.UUID] = Field(min_length=1)
    domains: list[Domain] = Field(min_length=1)
    review_days: int = Field(
        ge=1, le=MAX_REVIEW_DAYS, description="At most 30: the order's limit on a review."
    )
    data_handling: str = ""
    share_findings_between_agencies: bool = False
    budget_calls: int | None = Field(default=None, ge=1)
    budget_tokens: int | None = Field(default=None, ge=1)
    contact: str = ""
    supersedes: uuid.UUID | None = Field(
        default=None, description="An earlier version of this agreement that this one replaces."
    )


class DecisionCreate(BaseModel):
    accept: bool
    reason: str = ""


class PartyPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    org_id: uuid.UUID
    role: PartyRole
    decision: Decision
    decided_by: uuid.UUID | None
    decided_at: datetime | None
    reason: str


class AgreementPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    model_id: uuid.UUID
    org_id: uuid.UUID
    version: int
    supersedes_id: uuid.UUID | None
    determination_id: uuid.UUID | None
    state: AgreementState
    domains: list[Domain]
    review_days: int
    data_handling: str
    share_findings_between_agencies: bool
    budget_calls: int | None
    budget_tokens: int | None
    contact: str
    created_at: datetime
    activated_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    parties: list[PartyPublic]


class WindowCreate(BaseModel):
    agreement_id: uuid.UUID
    opens_at: AwareDatetime | None = Field(default=None, description="Defaults to now.")


class WindowPublic(BaseModel):
    id: uuid.UUID
    agreement_id: uuid.UUID
    model_id: uuid.UUID
    model: str
    state: WindowState
    opens_at: datetime
    closes_at: datetime
    agreed_close_at: datetime
    planned_release_at: datetime
    closed_early_at: datetime | None
    closed_early_by: str | None
    seconds_left: int
    agencies: list[uuid.UUID]


class GatewayTokenIssued(BaseModel):
    id: uuid.UUID
    window_id: uuid.UUID
    org_id: uuid.UUID
    token: str = Field(description="Shown once; only its hash is stored.")
    base_url: str
    model: str
    expires_at: datetime = Field(description="When the window closes, as things stand now.")


class FindingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window_id: uuid.UUID
    domain: Domain
    severity: Severity
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(min_length=1, max_length=100_000)
    evidence: list[str] = Field(default_factory=list)
    shared_with_developer: bool = True


class ResponseCreate(BaseModel):
    body: str = Field(min_length=1, max_length=100_000)


class ResponsePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    org_id: uuid.UUID
    author_id: uuid.UUID
    body: str
    created_at: datetime


class FindingPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    window_id: uuid.UUID
    org_id: uuid.UUID
    domain: Domain
    severity: Severity
    title: str
    description: str
    evidence: list[str]
    shared_with_developer: bool
    created_at: datetime
    responses: list[ResponsePublic]
