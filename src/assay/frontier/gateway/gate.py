"""Admission with a short memory: a token's grant is kept for at most ``ttl`` seconds.

Reading a grant (``access.look_up``) costs a database round trip; a call admitted from a
kept grant costs none. A kept grant is used only while all of these hold:

- the injected clock is before the window's close as computed when it was read, so a
  scheduled close (the agreed days, the planned release) takes effect exactly on time;
- less than ``ttl`` (1 s by default) has passed since it was read, so an early close, a
  release moved earlier, an agreement ended, a party's withdrawal or a revoked token made
  by *another* process takes effect within that time;
- nothing that admission depends on (windows, agreements, parties, models, tokens) has
  been committed by *this* process since it was read: every session's commit that
  changed one of them drops every kept grant at once (``GENERATION``).

The budget and the model a call names are checked on every call, kept grant or not.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from assay.core.clock import Clock
from assay.core.db import Database
from assay.frontier.gateway.access import Grant, Refused, check_model, look_up, token_hash
from assay.frontier.gateway.meter import Meter
from assay.frontier.models import (
    Agreement,
    AgreementParty,
    FrontierModel,
    GatewayToken,
    ReviewWindow,
)

CACHE_TTL_SECONDS = 1.0
MAX_KEPT = 10_000
"""More tokens in use at once than this and the cache starts over (a bound, not a tuning)."""

_WATCHED = (ReviewWindow, Agreement, AgreementParty, FrontierModel, GatewayToken)
_STALE = "assay_gateway_stale"


class _Generation:
    """A number that goes up whenever this process commits a change admission depends on."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self.value = 0
        self._lock = threading.Lock()
        self._watching = False

    def bump(self) -> None:
        self.value = next(self._counter)

    def watch(self) -> None:
        """Listen (once per process) to every session for such changes."""
        with self._lock:
            if self._watching:
                return
            event.listen(Session, "after_flush", _note_flush)
            event.listen(Session, "do_orm_execute", _note_statement)
            event.listen(Session, "after_commit", _after_commit)
            event.listen(Session, "after_rollback", _after_rollback)
            self._watching = True


GENERATION = _Generation()


def _note_flush(session: Session, _context: UOWTransaction) -> None:
    # In after_flush the session's new, dirty and deleted sets still hold what was flushed.
    for group in (session.new, session.dirty, session.deleted):
        if any(isinstance(obj, _WATCHED) for obj in group):
            session.info[_STALE] = True
            return


def _note_statement(state: ORMExecuteState) -> None:
    # An ORM UPDATE or DELETE statement bypasses the flush.
    if (state.is_update or state.is_delete) and any(
        mapper.class_ in _WATCHED for mapper in state.all_mappers
    ):
        state.session.info[_STALE] = True


def _after_commit(session: Session) -> None:
    # After the commit, not at the flush: a grant read between the two would be the old one
    # and would be kept under the new generation.
    if session.info.pop(_STALE, False):
        GENERATION.bump()


def _after_rollback(session: Session) -> None:
    session.info.pop(_STALE, None)


@dataclass(frozen=True, slots=True)
class _Kept:
    grant: Grant
    fresh_until: float
    generation: int


class Gate:
    """Admits calls: from a kept grant when it may, from the database otherwise."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Clock,
        meter: Meter,
        ttl: float = CACHE_TTL_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 <= ttl <= CACHE_TTL_SECONDS:
            raise ValueError(f"the admission cache keeps a grant for 0 to {CACHE_TTL_SECONDS} s")
        self._db = db
        self._clock = clock
        self._meter = meter
        self._ttl = ttl
        self._monotonic = monotonic
        self._kept: dict[str, _Kept] = {}
        GENERATION.watch()

    def admit_kept(
        self, token: str, *, endpoint: str, requested_model: str | None, forward: bool = True
    ) -> Grant | None:
        """Admit from a kept grant without touching the database, or return None when the
        database must be asked (:meth:`admit`). Raises the refusal, already recorded.

        A call to ``forward`` is counted in flight until ``Meter.record``; a call answered
        here (the model list) is only checked against the budget."""
        key = token_hash(token)
        kept = self._kept.get(key)
        if kept is None:
            return None
        if (
            kept.generation != GENERATION.value
            or self._monotonic() >= kept.fresh_until
            or self._clock.now() >= kept.grant.closes_at
        ):
            self._kept.pop(key, None)
            return None
        self._check(kept.grant, endpoint, requested_model, forward)
        return kept.grant

    def admit(
        self, token: str, *, endpoint: str, requested_model: str | None, forward: bool = True
    ) -> Grant:
        """Admit from the database (one read), keeping the grant. Blocking: call it from a
        worker thread. Raises the refusal, already recorded."""
        # Both taken before the read: a change committed during it makes the grant stale
        # (see _after_commit), and its time to live counts from before what it saw.
        generation, read_at = GENERATION.value, self._monotonic()
        try:
            with self._db.transaction() as session:
                found = look_up(session, token=token, now=self._clock.now())
        except Refused as refused:
            self._meter.refuse(refused.site, endpoint, refused.error)
            error = refused.error
        else:
            grant = found.grant
            self._meter.observe(grant.window_id, found.metered_calls, found.metered_tokens)
            if self._ttl > 0:
                if len(self._kept) >= MAX_KEPT:
                    self._kept.clear()
                self._kept[token_hash(token)] = _Kept(grant, read_at + self._ttl, generation)
            self._check(grant, endpoint, requested_model, forward)
            return grant
        raise error  # outside the except block, so that it carries no context

    def _check(
        self, grant: Grant, endpoint: str, requested_model: str | None, forward: bool
    ) -> None:
        try:
            check_model(grant, requested_model)
            self._meter.take(grant, forward=forward)
        except Refused as refused:
            self._meter.refuse(refused.site, endpoint, refused.error)
            error = refused.error
        else:
            return
        raise error
