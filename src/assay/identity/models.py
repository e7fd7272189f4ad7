"""Tables of the identity domain."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from assay.core.authz import OrgKind, Role
from assay.core.db import Base, UUIDPrimaryKey, value_enum


class Organization(UUIDPrimaryKey, Base):
    __tablename__ = "organizations"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[OrgKind] = mapped_column(value_enum(OrgKind))
    created_at: Mapped[datetime]

    @property
    def owner_org_id(self) -> uuid.UUID:
        return self.id


class User(UUIDPrimaryKey, Base):
    __tablename__ = "users"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(value_enum(Role))
    password_hash: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_instance_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]

    org: Mapped[Organization] = relationship(lazy="joined")

    @property
    def owner_org_id(self) -> uuid.UUID:
        return self.org_id


class ApiToken(UUIDPrimaryKey, Base):
    """A bearer token. Only its sha256 is kept; the token itself is shown once."""

    __tablename__ = "api_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    @property
    def owner_org_id(self) -> uuid.UUID:
        return self.org_id


class LoginAttempt(UUIDPrimaryKey, Base):
    """A failed password login, counted to rate-limit guessing across every server process."""

    __tablename__ = "login_attempts"

    email: Mapped[str] = mapped_column(String(320), index=True)
    client: Mapped[str] = mapped_column(String(64))
    attempted_at: Mapped[datetime] = mapped_column(index=True)
