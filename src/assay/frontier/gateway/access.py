"""Gateway tokens and the admission check that every gateway call passes first.

A gateway token belongs to one agency and one window; only its sha256 is stored. A call is
admitted only while the window is open, the agency is an accepted party of an active
agreement, the call names the window's model, and the agreement's budget is not spent.

Admission reads one row (:func:`look_up`): the token joined to its window, the window's
agreement and model, and the agency's own party row, only the columns a call needs. What
it finds is a :class:`Grant`; ``gate.Gate`` keeps a grant for at most a second and never
past the window's close, and ``meter.Meter`` writes every call and refusal.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from assay.core.audit import record_event
from assay.core.authz import Actor, Permission, authorize
from assay.core.clock import Clock
from assay.core.errors import AssayError, Conflict, Forbidden, NotFound, Unauthenticated
from assay.frontier import windows
from assay.frontier.events import FrontierEvent
from assay.frontier.models import (
    Agreement,
    AgreementParty,
    AgreementState,
    Decision,
    FrontierModel,
    GatewayCall,
    GatewayToken,
    ReviewWindow,
    WindowState,
)

TOKEN_PREFIX = "assay_gw_"


class BudgetExhausted(AssayError):
    status = 429
    slug = "budget-exhausted"
    title = "The agreement's call or token budget is spent"


class UpstreamFailed(AssayError):
    status = 502
    slug = "upstream-failed"
    title = "The developer's endpoint failed"


def token_hash(token: str) -> str:
    """What is stored of a token, and what it is looked up by."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    row: GatewayToken
    token: str
    window: ReviewWindow


def issue_token(
    session: Session, *, actor: Actor, clock: Clock, window_id: uuid.UUID
) -> IssuedToken:
    window = session.get(ReviewWindow, window_id)
    if window is None:
        raise NotFound("no such window")
    authorize(actor, Permission.GATEWAY_TOKEN_CREATE, window)
    state = windows.state_of(window, clock.now())
    if state not in (WindowState.OPEN, WindowState.SCHEDULED):
        raise Conflict(f"the window is {state.value}; its access has ended")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = GatewayToken(
        id=uuid.uuid4(),
        window_id=window.id,
        org_id=actor.org_id,
        prefix=token[: len(TOKEN_PREFIX) + 4],
        token_hash=token_hash(token),
        issued_by=actor.user_id,
        created_at=clock.now(),
    )
    session.add(row)
    record_event(
        session,
        clock=clock,
        actor=actor,
        action=FrontierEvent.GATEWAY_TOKEN_ISSUED,
        object_type="gateway_token",
        object_id=row.id,
        details={"window": str(window.id), "agency": str(actor.org_id), "prefix": row.prefix},
    )
    return IssuedToken(row=row, token=token, window=window)


@dataclass(frozen=True, slots=True)
class CallSite:
    """Whose call it was, as far as the token tells: all None for an unknown token."""

    window_id: uuid.UUID | None = None
    org_id: uuid.UUID | None = None
    token_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class Grant:
    """What an admitted call needs; the key stays encrypted until the moment of forwarding.

    ``closes_at`` is the window's end as things stood when the grant was read: a grant is
    never used at or after it, whatever a cache says.
    """

    token_id: uuid.UUID
    window_id: uuid.UUID
    org_id: uuid.UUID
    model_name: str
    model_names: frozenset[str]
    endpoint_url: str | None
    endpoint_model: str
    api_key_encrypted: bytes | None = field(repr=False)
    closes_at: datetime
    budget_calls: int | None
    budget_tokens: int | None

    @property
    def site(self) -> CallSite:
        return CallSite(self.window_id, self.org_id, self.token_id)


@dataclass(frozen=True, slots=True)
class Found:
    """A grant and the window's running totals as the database held them when it was read."""

    grant: Grant
    metered_calls: int
    metered_tokens: int


class Refused(Exception):
    """A refusal to answer with ``error``, and where to record it."""

    def __init__(self, error: AssayError, site: CallSite) -> None:
        super().__init__(error.detail)
        self.error = error
        self.site = site


def names_of(name: str, version: str, window_id: uuid.UUID) -> frozenset[str]:
    """The names a caller may put in ``model``: the model's name, name@version, the window."""
    return frozenset((name, f"{name}@{version}", str(window_id)))


def model_names(window: ReviewWindow) -> set[str]:
    return set(names_of(window.model.name, window.model.version, window.id))


# One statement for the whole check. The party row is an outer join on the token's own
# agency, so a token whose agency has left the agreement still finds its window (and is
# refused with the reason, and recorded against the window).
_ADMISSION = (
    select(
        GatewayToken.id,
        GatewayToken.window_id,
        GatewayToken.org_id,
        GatewayToken.revoked_at,
        ReviewWindow.opens_at,
        ReviewWindow.agreed_close_at,
        ReviewWindow.closed_early_at,
        ReviewWindow.final_close_at,
        ReviewWindow.metered_calls,
        ReviewWindow.metered_tokens,
        Agreement.state,
        Agreement.budget_calls,
        Agreement.budget_tokens,
        FrontierModel.name,
        FrontierModel.version,
        FrontierModel.planned_release_at,
        FrontierModel.endpoint_url,
        FrontierModel.endpoint_model,
        FrontierModel.api_key_encrypted,
        AgreementParty.decision,
    )
    .select_from(GatewayToken)
    .join(ReviewWindow, ReviewWindow.id == GatewayToken.window_id)
    .join(Agreement, Agreement.id == ReviewWindow.agreement_id)
    .join(FrontierModel, FrontierModel.id == ReviewWindow.model_id)
    .outerjoin(
        AgreementParty,
        and_(
            AgreementParty.agreement_id == Agreement.id,
            AgreementParty.org_id == GatewayToken.org_id,
        ),
    )
)


def look_up(session: Session, *, token: str, now: datetime) -> Found:
    """The grant for ``token`` at ``now``, read in one statement; raise :class:`Refused`
    when the token is unknown or revoked, the window is not open, or the agency is not an
    accepting party of an active agreement. The model and the budget are checked per call
    (:func:`check_model`, ``meter.Meter.take``)."""
    row = session.execute(
        _ADMISSION.where(GatewayToken.token_hash == token_hash(token))
    ).one_or_none()
    if row is None:
        raise Refused(Unauthenticated("unknown or revoked gateway token"), CallSite())
    site = CallSite(row.window_id, row.org_id, row.id)
    if row.revoked_at is not None:
        raise Refused(Unauthenticated("unknown or revoked gateway token"), site)
    # A detached window and model carry the times, so that the window's state comes from
    # the one definition of it (windows.state_of), not from a copy of its rules.
    window = ReviewWindow(
        id=row.window_id,
        opens_at=row.opens_at,
        agreed_close_at=row.agreed_close_at,
        closed_early_at=row.closed_early_at,
        final_close_at=row.final_close_at,
    )
    window.model = FrontierModel(planned_release_at=row.planned_release_at)
    state = windows.state_of(window, now)
    if state != WindowState.OPEN:
        raise Refused(
            Forbidden(f"window {window.id} is {state.value}; calls are accepted only while open"),
            site,
        )
    if row.state != AgreementState.ACTIVE or row.decision != Decision.ACCEPTED:
        raise Refused(
            Forbidden("your agency is not a party to an active agreement for this window"), site
        )
    grant = Grant(
        token_id=row.id,
        window_id=row.window_id,
        org_id=row.org_id,
        model_name=row.name,
        model_names=names_of(row.name, row.version, row.window_id),
        endpoint_url=row.endpoint_url,
        endpoint_model=row.endpoint_model or row.name,
        api_key_encrypted=row.api_key_encrypted,
        closes_at=windows.closes_at(window),
        budget_calls=row.budget_calls,
        budget_tokens=row.budget_tokens,
    )
    return Found(grant, metered_calls=row.metered_calls, metered_tokens=row.metered_tokens)


def check_model(grant: Grant, requested_model: str | None) -> None:
    """Refuse a call that names a model this token does not reach."""
    if requested_model is not None and requested_model not in grant.model_names:
        raise Refused(
            Forbidden(
                f"this token is for window {grant.window_id} (model {grant.model_name!r}); "
                f"it cannot reach {requested_model!r}"
            ),
            grant.site,
        )


def usage_of_window(session: Session, window_id: uuid.UUID) -> dict[str, int]:
    calls, prompt, completion = session.execute(
        select(
            func.count(GatewayCall.id),
            func.coalesce(func.sum(GatewayCall.prompt_tokens), 0),
            func.coalesce(func.sum(GatewayCall.completion_tokens), 0),
        ).where(GatewayCall.window_id == window_id, GatewayCall.refusal.is_(None))
    ).one()
    return {"calls": calls, "prompt_tokens": prompt, "completion_tokens": completion}
