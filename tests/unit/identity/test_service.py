"""Identity services: logins, the rate limit, instance set-up, and audit events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.core.audit import AuditEvent
from assay.core.authz import OrgKind, Role
from assay.core.clock import FrozenClock
from assay.core.errors import Conflict, Forbidden, InvalidInput, RateLimited, Unauthenticated
from assay.identity import service
from assay.identity.models import LoginAttempt
from tests.factories import PASSWORD, actor, make_org, make_user

LIMIT, WINDOW = 3, 600


def _login(
    session: Session, clock: FrozenClock, email: str, password: str, client: str = "10.0.0.1"
):
    return service.authenticate_password(
        session,
        clock=clock,
        email=email,
        password=password,
        client=client,
        max_failures=LIMIT,
        window_seconds=WINDOW,
    )


def test_login_with_the_right_password_records_an_event(
    session: Session, clock: FrozenClock
) -> None:
    user = make_user(session, clock, make_org(session, clock, OrgKind.OPERATOR))
    got = _login(session, clock, user.email.upper(), PASSWORD)
    assert got.user_id == user.id and got.role is Role.MEMBER
    last = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert last is not None and last.action == "identity:user:logged_in"


def test_wrong_password_and_unknown_account_fail_alike(
    session: Session, clock: FrozenClock
) -> None:
    user = make_user(session, clock, make_org(session, clock, OrgKind.OPERATOR))
    with pytest.raises(Unauthenticated) as wrong:
        _login(session, clock, user.email, "not the password at all")
    with pytest.raises(Unauthenticated) as unknown:
        _login(session, clock, "ghost@example.org", PASSWORD)
    assert wrong.value.detail == unknown.value.detail
    count = session.scalar(select(func.count()).select_from(LoginAttempt))
    assert count == 2


def test_guessing_is_locked_out_until_the_window_passes(
    session: Session, clock: FrozenClock
) -> None:
    user = make_user(session, clock, make_org(session, clock, OrgKind.OPERATOR))
    for _ in range(LIMIT):
        with pytest.raises(Unauthenticated):
            _login(session, clock, user.email, "wrong password guess")
    with pytest.raises(RateLimited):
        _login(session, clock, user.email, PASSWORD)  # even the right password
    clock.advance(timedelta(seconds=WINDOW + 1))
    assert _login(session, clock, user.email, PASSWORD).user_id == user.id


def test_one_client_guessing_many_accounts_is_locked_out(
    session: Session, clock: FrozenClock
) -> None:
    for i in range(LIMIT * 4):
        with pytest.raises(Unauthenticated):
            _login(session, clock, f"victim{i}@example.org", "guess guess guess")
    with pytest.raises(RateLimited):
        _login(session, clock, "victim-next@example.org", "guess guess guess")
    with pytest.raises(Unauthenticated):  # another client is not affected
        _login(session, clock, "victim-next@example.org", "guess guess guess", client="10.9.9.9")


def test_a_disabled_user_cannot_log_in_or_use_a_session(
    session: Session, clock: FrozenClock
) -> None:
    user = make_user(session, clock, make_org(session, clock, OrgKind.OPERATOR))
    user.is_active = False
    session.flush()
    with pytest.raises(Unauthenticated, match="disabled"):
        _login(session, clock, user.email, PASSWORD)
    assert service.load_actor(session, user.id) is None


def test_instance_can_be_initialized_once(session: Session, clock: FrozenClock) -> None:
    made = service.initialize_instance(
        session,
        clock=clock,
        org_name="Clearinghouse",
        org_kind=OrgKind.CLEARINGHOUSE,
        admin_email="root@example.org",
        admin_password=PASSWORD,
    )
    assert made.admin.is_instance_admin and made.admin.role is Role.ADMIN
    assert service.instance_admin(session).id == made.admin.id
    with pytest.raises(Conflict):
        service.initialize_instance(
            session,
            clock=clock,
            org_name="Another",
            org_kind=OrgKind.CLEARINGHOUSE,
            admin_email="root2@example.org",
            admin_password=PASSWORD,
        )


def test_an_org_admin_cannot_make_an_instance_admin(session: Session, clock: FrozenClock) -> None:
    org = make_org(session, clock, OrgKind.AGENCY)
    org_admin = make_user(session, clock, org, Role.ADMIN)
    with pytest.raises(Forbidden):
        service.create_user(
            session,
            actor=actor(org_admin),
            clock=clock,
            org_id=org.id,
            email="escalate@agency.example",
            name="E",
            role=Role.ADMIN,
            password=PASSWORD,
            is_instance_admin=True,
        )


def test_token_expiry_is_bounded(session: Session, clock: FrozenClock) -> None:
    user = make_user(session, clock, make_org(session, clock, OrgKind.AGENCY))
    with pytest.raises(InvalidInput):
        service.create_token(
            session, actor=actor(user), clock=clock, name="x", scopes=["*"], expires_in_days=0
        )
    with pytest.raises(InvalidInput):
        service.create_token(
            session, actor=actor(user), clock=clock, name="x", scopes=["DROP TABLE"]
        )
