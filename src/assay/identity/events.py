"""Audit event tags of the identity domain."""

from enum import StrEnum


class IdentityEvent(StrEnum):
    INSTANCE_INITIALIZED = "identity:instance:initialized"
    ORG_CREATED = "identity:org:created"
    USER_CREATED = "identity:user:created"
    USER_LOGGED_IN = "identity:user:logged_in"
    USER_LOGGED_OUT = "identity:user:logged_out"
    TOKEN_CREATED = "identity:token:created"
    TOKEN_REVOKED = "identity:token:revoked"
