"""Dependencies shared by every route: the runtime, a unit of work, the acting user, paging."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from assay.core.authz import Actor
from assay.core.errors import Unauthenticated
from assay.core.pagination import Page
from assay.identity import service as identity
from assay.runtime import Runtime

T = TypeVar("T")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_session(request: Request, runtime: RuntimeDep) -> Iterator[Session]:
    """One transaction per request: committed when the route returns, rolled back on error."""
    with runtime.db.transaction(write=request.method not in SAFE_METHODS) as session:
        yield session


# scope="function": the commit happens before the response is sent, so a client that
# reads right after a write sees it, and a failed commit is reported, not swallowed.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def current_actor(request: Request, runtime: RuntimeDep, session: SessionDep) -> Actor:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send an API token as `Authorization: Bearer <token>`")
    return identity.authenticate_token(session, clock=runtime.clock, token=token.strip())


CurrentActor = Annotated[Actor, Depends(current_actor)]


class PageParams(BaseModel):
    limit: int = Field(50, ge=1, le=500, description="How many items at most.")
    offset: int = Field(0, ge=0, description="How many items to skip.")


PageDep = Annotated[PageParams, Query()]


class PageOut(BaseModel, Generic[T]):
    items: list[T] = Field(description="This page's items.")
    total: int = Field(description="How many items the whole list has.")
    limit: int = Field(description="The page size asked for.")
    offset: int = Field(description="How many items were skipped.")


S = TypeVar("S", bound=BaseModel)


def page_out(page: Page[Any], schema: type[S]) -> PageOut[S]:
    """A service's page of rows as the API's page of ``schema``."""
    return PageOut[schema](  # type: ignore[valid-type]
        items=[schema.model_validate(row) for row in page.items],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )
