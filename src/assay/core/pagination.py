"""Pagination for every list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from assay.core.errors import FieldError, InvalidInput

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, with the total count of the whole list."""

    items: list[T]
    total: int
    limit: int
    offset: int


def check_window(limit: int, offset: int) -> None:
    errors = []
    if not 1 <= limit <= MAX_LIMIT:
        errors.append(FieldError("limit", f"must be between 1 and {MAX_LIMIT}"))
    if offset < 0:
        errors.append(FieldError("offset", "must be 0 or more"))
    if errors:
        raise InvalidInput("bad page request", errors=errors)


def paginate(session: Session, stmt: Select[Any], *, limit: int, offset: int) -> Page[Any]:
    """Run ``stmt`` for one page; it must already be filtered and ordered."""
    check_window(limit, offset)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    items = list(session.scalars(stmt.limit(limit).offset(offset)).all())
    return Page(items=items, total=total, limit=limit, offset=offset)
