"""Audit event tags of the clearinghouse."""

from enum import StrEnum


class ClearinghouseEvent(StrEnum):
    SUBMISSION_ACCEPTED = "clearinghouse:submission:accepted"
    SUBMISSION_REJECTED = "clearinghouse:submission:rejected"
    VULNERABILITIES_MERGED = "clearinghouse:vulnerability:merged"
    FINDING_SPLIT = "clearinghouse:vulnerability:split"
    VULNERABILITY_TRIAGED = "clearinghouse:vulnerability:triaged"
