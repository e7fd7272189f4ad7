"""Tables of triage reference data: CISA's KEV entries and FIRST's EPSS scores, one row per
CVE, replaced in place by each load (see ``load``)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Float, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from assay.core.db import Base, UUIDPrimaryKey


class KevEntryRow(UUIDPrimaryKey, Base):
    """A CVE in CISA's Known Exploited Vulnerabilities catalog."""

    __tablename__ = "kev_entries"

    cve_id: Mapped[str] = mapped_column(String(32), unique=True)
    vendor: Mapped[str] = mapped_column(Text)
    product: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    short_description: Mapped[str] = mapped_column(Text)
    required_action: Mapped[str] = mapped_column(Text)
    date_added: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    known_ransomware: Mapped[bool | None] = mapped_column(Boolean)
    notes: Mapped[str] = mapped_column(Text)
    cwes: Mapped[list[str]] = mapped_column(JSON)
    catalog_version: Mapped[str] = mapped_column(String(40))
    """The catalog whose load last added or changed this row."""
    loaded_at: Mapped[datetime]
    """When this row was last added or changed; a load that finds it unchanged leaves it."""


class EpssScoreRow(UUIDPrimaryKey, Base):
    """A CVE's EPSS score on one day."""

    __tablename__ = "epss_scores"

    cve_id: Mapped[str] = mapped_column(String(32), unique=True)
    epss: Mapped[float] = mapped_column(Float)
    percentile: Mapped[float] = mapped_column(Float)
    score_date: Mapped[date] = mapped_column(Date)
    model_version: Mapped[str | None] = mapped_column(String(40))
    loaded_at: Mapped[datetime]
