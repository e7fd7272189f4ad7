"""Audit log throughput: appending events, and verifying the whole chain.

Run: .venv/bin/python bench/bench_audit.py [--events N] [--url DATABASE_URL]
Prints a table; record the figures in docs/benchmarks.md with the machine and command.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from enum import StrEnum
from pathlib import Path

from assay.core import migrate
from assay.core.audit import record_event, verify_chain
from assay.core.clock import SystemClock
from assay.core.db import Database
from assay.domains import load_models


class BenchEvent(StrEnum):
    TICK = "bench:event:tick"


def run(url: str, events: int, per_transaction: int) -> list[tuple[str, float, float]]:
    load_models()
    db = Database.from_url(url)
    migrate.upgrade(db.engine)
    clock = SystemClock()
    started = time.perf_counter()
    for start in range(0, events, per_transaction):
        with db.transaction() as session:
            for i in range(start, min(events, start + per_transaction)):
                record_event(
                    session,
                    clock=clock,
                    actor=None,
                    action=BenchEvent.TICK,
                    object_type="bench",
                    object_id=str(i),
                    details={"i": i},
                )
    append_s = time.perf_counter() - started
    started = time.perf_counter()
    with db.transaction() as session:
        result = verify_chain(session, actor=None)
    verify_s = time.perf_counter() - started
    assert result.ok and result.checked == events
    db.dispose()
    return [
        (f"append ({per_transaction}/transaction)", append_s, events / append_s),
        ("verify chain", verify_s, events / verify_s),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--per-transaction", type=int, default=100)
    parser.add_argument("--url", default=None, help="an empty database (default: a temp SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        rows = run(url, args.events, args.per_transaction)
    print(f"backend: {url.split(':')[0]}   events: {args.events}")
    print(f"{'operation':<32}{'seconds':>10}{'events/s':>12}")
    for name, seconds, rate in rows:
        print(f"{name:<32}{seconds:>10.2f}{rate:>12.0f}")


if __name__ == "__main__":
    main()
