"""Gateway tokens and the admission check that every gateway call passes first.

A gateway token belongs to one agency and one window; only its sha256 is stored. A call is
admitted only while the window is open, the agency is an accepted party of an active
agreement, the call names the window's model, and the agreement's budget is not spent.
Every refusal is recorded (a metered call row and an audit event) in a transaction of its
own, so the record survives the error the caller receives.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.core.audit import record_event
from assay.core.authz import Actor, Permission, authorize
from assay.core.clock import Clock
from assay.core.db import Database
from assay.core.errors import AssayError, Conflict, Forbidden, NotFound, Unauthenticated
from assay.frontier import windows
from assay.frontier.events import FrontierEvent
from assay.frontier.models import (
    AgreementState,
    Decision,
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


def _hash(token: str) -> str:
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
        token_hash=_hash(token),
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


@dataclass(frozen=True)
class Grant:
    """What an admitted call needs; the key stays encrypted until the moment of forwarding."""

    token_id: uuid.UUID
    window_id: uuid.UUID
    org_id: uuid.UUID
    model_name: str
    endpoint_url: str | None
    endpoint_model: str
    api_key_encrypted: bytes | None
    closes_at: datetime


def model_names(window: ReviewWindow) -> set[str]:
    """The names a caller may put in ``model``: the model's name, name@version, the window."""
    model = window.model
    return {model.name, f"{model.name}@{model.version}", str(window.id)}


def admit(
    db: Database, *, clock: Clock, token: str, endpoint: str, requested_model: str | None
) -> Grant:
    """Check a call; raise the error to answer (recorded) or return what forwarding needs."""
    refusal: AssayError
    with db.transaction() as session:
        try:
            return _check(session, clock=clock, token=token, requested_model=requested_model)
        except AssayError as exc:
            refusal = exc
            row = session.scalar(
                select(GatewayToken).where(GatewayToken.token_hash == _hash(token))
            )
            where = (row.window_id, row.org_id, row.id) if row is not None else (None, None, None)
    with db.transaction(write=True) as session:
        _record_refusal(session, clock=clock, where=where, endpoint=endpoint, refusal=refusal)
    raise refusal


def _check(session: Session, *, clock: Clock, token: str, requested_model: str | None) -> Grant:
    row = session.scalar(select(GatewayToken).where(GatewayToken.token_hash == _hash(token)))
    if row is None or row.revoked_at is not None:
        raise Unauthenticated("unknown or revoked gateway token")
    window = session.get(ReviewWindow, row.window_id)
    assert window is not None  # a foreign key guarantees it
    now = clock.now()
    state = windows.state_of(window, now)
    if state != WindowState.OPEN:
        raise Forbidden(f"window {window.id} is {state.value}; calls are accepted only while open")
    agreement = window.agreement
    party = agreement.party(row.org_id)
    if (
        agreement.state != AgreementState.ACTIVE
        or party is None
        or party.decision != Decision.ACCEPTED
    ):
        raise Forbidden("your agency is not a party to an active agreement for this window")
    if requested_model is not None and requested_model not in model_names(window):
        raise Forbidden(
            f"this token is for window {window.id} (model {window.model.name!r}); "
            f"it cannot reach {requested_model!r}"
        )
    _check_budget(session, window=window)
    model = window.model
    return Grant(
        token_id=row.id,
        window_id=window.id,
        org_id=row.org_id,
        model_name=model.name,
        endpoint_url=model.endpoint_url,
        endpoint_model=model.endpoint_model or model.name,
        api_key_encrypted=model.api_key_encrypted,
        closes_at=windows.closes_at(window),
    )


def _check_budget(session: Session, *, window: ReviewWindow) -> None:
    agreement = window.agreement
    if agreement.budget_calls is None and agreement.budget_tokens is None:
        return
    calls, tokens = session.execute(
        select(
            func.count(GatewayCall.id),
            func.coalesce(func.sum(GatewayCall.prompt_tokens + GatewayCall.completion_tokens), 0),
        ).where(GatewayCall.window_id == window.id, GatewayCall.refusal.is_(None))
    ).one()
    if agreement.budget_calls is not None and calls >= agreement.budget_calls:
        raise BudgetExhausted(f"the agreement allows {agreement.budget_calls} calls; all are used")
    if agreement.budget_tokens is not None and tokens >= agreement.budget_tokens:
        raise BudgetExhausted(
            f"the agreement allows {agreement.budget_tokens} tokens; {tokens} are used"
        )


def _record_refusal(
    session: Session,
    *,
    clock: Clock,
    where: tuple[uuid.UUID | None, uuid.UUID | None, uuid.UUID | None],
    endpoint: str,
    refusal: AssayError,
) -> None:
    window_id, org_id, token_id = where
    call = GatewayCall(
        id=uuid.uuid4(),
        window_id=window_id,
        org_id=org_id,
        token_id=token_id,
        endpoint=endpoint,
        status=refusal.status,
        refusal=refusal.detail[:500],
        created_at=clock.now(),
    )
    session.add(call)
    record_event(
        session,
        clock=clock,
        actor=None,
        action=FrontierEvent.GATEWAY_REFUSED,
        object_type="window" if window_id else "gateway",
        object_id=window_id or "unknown-token",
        details={
            "agency": str(org_id) if org_id else None,
            "status": refusal.status,
            "reason": refusal.detail,
        },
    )


@dataclass
class CallRecord:
    grant: Grant
    endpoint: str
    streamed: bool
    status: int
    upstream_status: int | None
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    error: str | None = None


def record_call(db: Database, *, clock: Clock, record: CallRecord) -> None:
    """Meter one forwarded call: agency, window, tokens in and out, latency, status."""
    with db.transaction(write=True) as session:
        session.add(
            GatewayCall(
                id=uuid.uuid4(),
                window_id=record.grant.window_id,
                org_id=record.grant.org_id,
                token_id=record.grant.token_id,
                endpoint=record.endpoint,
                streamed=record.streamed,
                status=record.status,
                upstream_status=record.upstream_status,
                prompt_tokens=record.prompt_tokens,
                completion_tokens=record.completion_tokens,
                latency_ms=record.latency_ms,
                refusal=None,
                created_at=clock.now(),
            )
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
