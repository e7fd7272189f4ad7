"""Turning a refused form into messages next to its fields."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from assay.core.errors import AssayError, Conflict, InvalidInput

# Never sent back into a re-rendered form.
SECRET_FIELDS = frozenset({"password", "csrf_token"})


class FormFailure(Exception):
    """The input was refused; the page is shown again with the reasons and the values."""

    def __init__(self, status: int, message: str, errors: Mapping[str, str]) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = dict(errors)

    def context(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Template context: the values to refill (secrets dropped) and the messages."""
        kept = {k: v for k, v in values.items() if k not in SECRET_FIELDS}
        return {"values": kept, "errors": self.errors, "form_error": self.message}


def _from_validation(exc: ValidationError) -> FormFailure:
    errors: dict[str, str] = {}
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"]) or "form"
        errors.setdefault(field, error["msg"])
    return FormFailure(422, "Please correct the marked fields.", errors)


def _from_domain(exc: AssayError) -> FormFailure:
    return FormFailure(exc.status, exc.detail, {e.field: e.message for e in exc.errors})


@contextmanager
def form_write(session: Session) -> Iterator[None]:
    """Run a form's validation and write in a savepoint.

    Invalid input or a conflict rolls back only the savepoint and raises FormFailure, so the
    page can be shown again in the same transaction; any other error (Forbidden, NotFound)
    propagates to the error page and the request's transaction is rolled back."""
    try:
        with session.begin_nested():
            yield
    except ValidationError as exc:
        raise _from_validation(exc) from exc
    except (InvalidInput, Conflict) as exc:
        raise _from_domain(exc) from exc
