"""The domain error hierarchy.

Services raise these; one handler in ``assay.api.problems`` turns them into RFC 9457
problem documents, the web layer into readable pages, and the CLI into a one-line reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class FieldError:
    """One thing wrong with one input field."""

    field: str
    """Where the problem is: a dotted field name or a JSON pointer."""
    message: str
    """What was expected."""


class AssayError(Exception):
    """Base of every error a user may see. ``detail`` says what went wrong and how to fix it."""

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, *, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class InvalidInput(AssayError):
    status = 422
    slug = "invalid-input"
    title = "The input is not valid"


class Unauthenticated(AssayError):
    status = 401
    slug = "unauthenticated"
    title = "Authentication required"


class Forbidden(AssayError):
    status = 403
    slug = "forbidden"
    title = "Not allowed"


class NotFound(AssayError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(AssayError):
    status = 409
    slug = "conflict"
    title = "Conflict with the current state"


class RateLimited(AssayError):
    status = 429
    slug = "rate-limited"
    title = "Too many attempts"

    def __init__(self, detail: str, *, retry_after_seconds: int) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds


class ConfigError(AssayError):
    """A setting is missing or wrong; names the setting at fault."""

    status = 500
    slug = "configuration"
    title = "Configuration error"
