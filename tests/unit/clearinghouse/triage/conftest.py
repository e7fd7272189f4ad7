"""Fixtures of the triage tests: the real KEV catalog, read once."""

from __future__ import annotations

import pytest

from tests.shared_data import shared


@pytest.fixture(scope="session")
def kev_json() -> bytes:
    return shared("kev", "known_exploited_vulnerabilities.json").read_bytes()


@pytest.fixture(scope="session")
def kev_csv() -> bytes:
    return shared("kev", "known_exploited_vulnerabilities.csv").read_bytes()
