"""Pydantic input and output of the identity domain. No output schema carries a secret."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from assay.core.authz import OrgKind, Role


class OrgCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=2, max_length=200, description="The organization's full name.")
    kind: OrgKind = Field(description="What the organization is in the programs.")


class OrgPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="The organization's id.")
    name: str = Field(description="The organization's full name.")
    kind: OrgKind = Field(description="What the organization is in the programs.")
    created_at: datetime = Field(description="When it was registered (UTC).")


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    org_id: uuid.UUID = Field(description="The organization the user belongs to.")
    email: EmailStr = Field(description="Login name; unique across the instance.")
    name: str = Field(min_length=1, max_length=200, description="Display name.")
    role: Role = Field(default=Role.MEMBER, description="The user's role in the organization.")
    password: str = Field(min_length=12, max_length=1024, description="At least 12 characters.")


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="The user's id.")
    org_id: uuid.UUID = Field(description="The organization the user belongs to.")
    email: str = Field(description="Login name.")
    name: str = Field(description="Display name.")
    role: Role = Field(description="The user's role in the organization.")
    is_active: bool = Field(description="Whether the user may log in.")
    is_instance_admin: bool = Field(description="Whether the user administers the instance.")
    created_at: datetime = Field(description="When the user was created (UTC).")


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="What the token is for.")
    scopes: list[str] = Field(
        default_factory=lambda: ["*"],
        min_length=1,
        description="Permission patterns the token may use, e.g. `identity:*`; `*` for all.",
    )
    expires_in_days: int = Field(default=90, ge=1, le=366, description="Lifetime in days.")


class TokenPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="The token's id.")
    user_id: uuid.UUID = Field(description="The user the token acts as.")
    name: str = Field(description="What the token is for.")
    prefix: str = Field(description="The token's first characters, to recognise it.")
    scopes: list[str] = Field(description="Permission patterns the token may use.")
    created_at: datetime = Field(description="When it was issued (UTC).")
    expires_at: datetime = Field(description="When it stops working (UTC).")
    revoked_at: datetime | None = Field(description="When it was revoked, if it was.")


class TokenIssued(TokenPublic):
    token: str = Field(description="The bearer token. Shown this once; only its hash is kept.")


class Me(BaseModel):
    user: UserPublic = Field(description="The acting user.")
    organization: OrgPublic = Field(description="The user's organization.")
    scopes: list[str] = Field(description="What the current credential may do.")
