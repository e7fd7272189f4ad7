"""Audit event tags of triage reference data."""

from enum import StrEnum


class TriageEvent(StrEnum):
    KEV_LOADED = "clearinghouse:kev:loaded"
    EPSS_LOADED = "clearinghouse:epss:loaded"
