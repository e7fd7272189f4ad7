"""Metering: every gateway call and refusal written, in batches, off the request's path.

A call hands its row to :meth:`Meter.record` (or :meth:`Meter.refuse`) and goes on; a
writer thread writes what has gathered in one transaction: the ``gateway_calls`` rows, an
audit event for each refusal, and the window's running totals
(``review_windows.metered_calls`` and ``metered_tokens``). It writes every ``interval``
seconds (0.1 by default) while calls keep coming, and within a few milliseconds
(``QUIET_SECONDS``) once the gateway falls quiet, so that a reader who looks right after
the last call (a report, a test) finds it. Closing the meter (the app's lifespan does, on
an orderly shutdown) writes what is left, so no row is lost then; a batch that fails to
write is kept and tried again.

The meter also answers budget checks in constant time. Per window it knows the totals in
the database (as last read or written by this process), the calls recorded here and not
yet written, and the calls admitted and not yet finished; :meth:`Meter.take` refuses a
call when those reach the agreement's budget, and counts it in flight. Within a process a
call budget is therefore never exceeded; across processes, by at most the calls another
process admitted and had not yet written (one flush interval's worth).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, insert, update
from sqlalchemy.orm import Session

from assay.core.audit import record_event
from assay.core.clock import Clock
from assay.core.db import Database
from assay.core.errors import AssayError
from assay.frontier.events import FrontierEvent
from assay.frontier.gateway.access import BudgetExhausted, CallSite, Grant, Refused
from assay.frontier.models import GatewayCall, ReviewWindow

log = logging.getLogger("assay.gateway")

_WINDOWS = cast(Table, ReviewWindow.__table__)

FLUSH_SECONDS = 0.1
"""How often the writer writes while calls keep coming: long enough that one write serves
many calls, short enough that other processes see a call at once, to a person."""
QUIET_SECONDS = 0.005
"""How long the gateway must stay without calls in flight or starting before the writer
writes at once: longer than the gap between calls of a busy client, so that a steady
stream of calls is still written in batches."""


@dataclass(frozen=True, slots=True)
class CallRow:
    """One ``gateway_calls`` row, refused or forwarded."""

    site: CallSite
    endpoint: str
    status: int
    created_at: datetime
    streamed: bool = False
    upstream_status: int | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    refusal: str | None = None
    """The refusal's reason; None for a call that was forwarded (or failed upstream)."""

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def values(self) -> dict[str, object]:
        return {
            "id": uuid.uuid4(),
            "window_id": self.site.window_id,
            "org_id": self.site.org_id,
            "token_id": self.site.token_id,
            "endpoint": self.endpoint,
            "streamed": self.streamed,
            "status": self.status,
            "upstream_status": self.upstream_status,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "latency_ms": self.latency_ms,
            "refusal": self.refusal,
            "created_at": self.created_at,
        }


@dataclass(frozen=True, slots=True)
class _At:
    """A clock stopped at one instant: a refusal's audit event carries the time it happened,
    not the time its batch was written."""

    instant: datetime

    def now(self) -> datetime:
        return self.instant


@dataclass(slots=True)
class _Usage:
    """One window's calls and tokens, as this process knows them."""

    calls: int = 0
    """In the database: the last total read or written."""
    tokens: int = 0
    pending_calls: int = 0
    """Recorded here, not yet written."""
    pending_tokens: int = 0
    in_flight: int = 0
    """Admitted and not yet finished (their tokens are not known yet)."""


class Meter:
    """Batched metering and the running counts that budget checks read."""

    def __init__(self, db: Database, *, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._lock = threading.Lock()  # guards the queue and the counts; held for microseconds
        self._flush_lock = threading.Lock()  # one write at a time
        self._queue: list[CallRow] = []
        self._usage: dict[uuid.UUID, _Usage] = {}
        self._writing = 0
        self._in_flight = 0  # over all windows
        self._last_start = 0.0  # monotonic time the last call was admitted
        self._stop = threading.Event()
        self._quiet = threading.Event()  # set when the last call in flight finishes
        self._thread: threading.Thread | None = None
        self._closed = False

    # -- the writer ------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether a writer thread writes batches; if not, the caller must :meth:`flush`."""
        return self._thread is not None

    def start(self, interval: float = FLUSH_SECONDS, quiet: float = QUIET_SECONDS) -> None:
        if self._thread is not None:
            raise RuntimeError("the meter's writer is already running")
        self._stop.clear()
        self._closed = False
        self._thread = threading.Thread(
            target=self._run, args=(interval, quiet), name="assay-gateway-meter", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stop the writer and write what is left (an orderly shutdown loses nothing)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            self._quiet.set()
            thread.join()
        self._closed = True
        self.flush()

    def _run(self, interval: float, quiet: float) -> None:
        last = time.monotonic()
        while True:
            woken = self._quiet.wait(max(0.0, last + interval - time.monotonic()))
            if self._stop.is_set():
                return
            if woken:
                self._quiet.clear()
                # Give the next call a moment to start: a client calling in a loop leaves
                # the gateway idle for a millisecond between calls, and those calls
                # should share a write.
                if self._stop.wait(quiet):
                    return
                if self._busy(quiet) and time.monotonic() < last + interval:
                    continue
            try:
                self.flush()
            except Exception:
                # The batch went back to the queue; the next pass tries it again.
                log.exception("gateway metering: a batch could not be written; retrying")
            last = time.monotonic()

    def _busy(self, quiet: float) -> bool:
        with self._lock:
            return self._in_flight > 0 or time.monotonic() - self._last_start < quiet

    def pending(self) -> int:
        """Rows recorded and not yet written."""
        with self._lock:
            return len(self._queue)

    def flush(self) -> int:
        """Write every row recorded so far, in one transaction; return how many."""
        with self._flush_lock:
            with self._lock:
                batch, self._queue = self._queue, []
                if not batch:
                    return 0
                self._writing += 1
            added = _totals(batch)
            try:
                totals = self._write(batch, added)
            except BaseException:
                with self._lock:
                    self._queue[:0] = batch
                    self._writing -= 1
                raise
            with self._lock:
                for window_id, (calls, tokens) in added.items():
                    usage = self._usage_of(window_id)
                    usage.pending_calls -= calls
                    usage.pending_tokens -= tokens
                    usage.calls = max(usage.calls, totals[window_id][0])
                    usage.tokens = max(usage.tokens, totals[window_id][1])
                self._writing -= 1
            return len(batch)

    def _write(
        self, batch: list[CallRow], added: dict[uuid.UUID, tuple[int, int]]
    ) -> dict[uuid.UUID, tuple[int, int]]:
        totals: dict[uuid.UUID, tuple[int, int]] = {}
        with self._db.transaction(write=True) as session:
            session.execute(insert(GatewayCall), [row.values() for row in batch])
            for row in batch:
                if row.refusal is not None:
                    _audit_refusal(session, row)
            # On the connection, not through the ORM: the gateway's own totals are not a
            # change of the window that should drop cached admissions (see gate.py).
            connection = session.connection()
            for window_id, (calls, tokens) in added.items():
                written = connection.execute(
                    update(_WINDOWS)
                    .where(_WINDOWS.c.id == window_id)
                    .values(
                        metered_calls=_WINDOWS.c.metered_calls + calls,
                        metered_tokens=_WINDOWS.c.metered_tokens + tokens,
                    )
                    .returning(_WINDOWS.c.metered_calls, _WINDOWS.c.metered_tokens)
                ).one()
                totals[window_id] = (int(written[0]), int(written[1]))
        return totals

    # -- recording -------------------------------------------------------------------------

    def record(self, grant: Grant, row: CallRow) -> None:
        """A call that :meth:`take` admitted has finished: queue its row and move it from
        in flight to recorded."""
        with self._lock:
            usage = self._usage_of(grant.window_id)
            usage.in_flight -= 1
            usage.pending_calls += 1
            usage.pending_tokens += row.tokens
            self._queue.append(row)
            self._in_flight -= 1
            idle = self._in_flight == 0
        self._queued(idle)

    def refuse(self, site: CallSite, endpoint: str, error: AssayError) -> None:
        """Queue a refusal: a row and, when written, an audit event."""
        row = CallRow(
            site=site,
            endpoint=endpoint,
            status=error.status,
            refusal=error.detail[:500],
            created_at=self._clock.now(),
        )
        with self._lock:
            self._queue.append(row)
            idle = self._in_flight == 0
        self._queued(idle)

    def _queued(self, idle: bool) -> None:
        if self._closed:
            # A call that ends after the writer stopped (a stream cut at shutdown): nothing
            # else will write its row, so write it now.
            self.flush()
        elif idle:
            self._quiet.set()

    # -- budgets ---------------------------------------------------------------------------

    def observe(self, window_id: uuid.UUID, calls: int, tokens: int) -> None:
        """The database's totals for a window, as just read. Totals only grow, so the larger
        value is the newer; while a batch is being written its rows are counted both as
        pending and (once committed) in the database, so a read then is not used."""
        with self._lock:
            usage = self._usage_of(window_id)
            if not self._writing:
                usage.calls = max(usage.calls, calls)
                usage.tokens = max(usage.tokens, tokens)

    def knows(self, window_id: uuid.UUID) -> bool:
        with self._lock:
            return window_id in self._usage

    def take(self, grant: Grant, *, forward: bool = True) -> None:
        """Refuse (:class:`Refused`, 429) if the agreement's budget is spent; otherwise, for
        a call to ``forward``, count it in flight until :meth:`record`."""
        with self._lock:
            usage = self._usage_of(grant.window_id)
            calls = usage.calls + usage.pending_calls + usage.in_flight
            tokens = usage.tokens + usage.pending_tokens
            if grant.budget_calls is not None and calls >= grant.budget_calls:
                error = BudgetExhausted(
                    f"the agreement allows {grant.budget_calls} calls; all are used"
                )
            elif grant.budget_tokens is not None and tokens >= grant.budget_tokens:
                error = BudgetExhausted(
                    f"the agreement allows {grant.budget_tokens} tokens; {tokens} are used"
                )
            else:
                if forward:
                    usage.in_flight += 1
                    self._in_flight += 1
                    self._last_start = time.monotonic()
                return
        raise Refused(error, grant.site)

    def usage(self, window_id: uuid.UUID) -> tuple[int, int, int]:
        """(calls, tokens, in flight) as this process counts them now."""
        with self._lock:
            u = self._usage_of(window_id)
            return u.calls + u.pending_calls, u.tokens + u.pending_tokens, u.in_flight

    def _usage_of(self, window_id: uuid.UUID) -> _Usage:
        usage = self._usage.get(window_id)
        if usage is None:
            usage = self._usage[window_id] = _Usage()
        return usage


def _totals(batch: Iterable[CallRow]) -> dict[uuid.UUID, tuple[int, int]]:
    """Calls and tokens per window in ``batch``; refusals count for nothing."""
    added: dict[uuid.UUID, tuple[int, int]] = {}
    for row in batch:
        if row.refusal is None and row.site.window_id is not None:
            calls, tokens = added.get(row.site.window_id, (0, 0))
            added[row.site.window_id] = (calls + 1, tokens + row.tokens)
    return added


def _audit_refusal(session: Session, row: CallRow) -> None:
    window_id = row.site.window_id
    record_event(
        session,
        clock=_At(row.created_at),
        actor=None,
        action=FrontierEvent.GATEWAY_REFUSED,
        object_type="window" if window_id else "gateway",
        object_id=window_id or "unknown-token",
        details={
            "agency": str(row.site.org_id) if row.site.org_id else None,
            "status": row.status,
            "reason": row.refusal,
        },
    )
