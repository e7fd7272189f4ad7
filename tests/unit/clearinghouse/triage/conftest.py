"""Fixtures of the triage tests: the real KEV catalog, read once."""

from __future__ import annotations

import pytest

from tests.unit.clearinghouse.triage.support import KEV_CSV, KEV_JSON


@pytest.fixture(scope="session")
def kev_json() -> bytes:
    return KEV_JSON.read_bytes()


@pytest.fixture(scope="session")
def kev_csv() -> bytes:
    return KEV_CSV.read_bytes()
