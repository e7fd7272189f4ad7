"""The clock is injected, aware and UTC; no service reads the wall clock."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from assay.core.clock import FrozenClock, SystemClock, ensure_utc

SRC = Path(__file__).parents[3] / "src" / "assay"


def test_frozen_clock_moves_only_when_told() -> None:
    clock = FrozenClock(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock.now() == clock.now()
    clock.advance(timedelta(days=30))
    assert clock.now() == datetime(2026, 1, 31, tzinfo=UTC)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        ensure_utc(datetime(2026, 1, 1))  # noqa: DTZ001


def test_system_clock_is_aware_utc() -> None:
    assert SystemClock().now().utcoffset() == timedelta(0)


def test_only_the_clock_module_reads_the_wall_clock() -> None:
    pattern = re.compile(r"datetime\.now\(|utcnow\(|date\.today\(|time\.time\(\)")
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if path.name != "clock.py" and pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
