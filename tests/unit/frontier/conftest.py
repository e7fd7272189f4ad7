from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from assay.core.clock import FrozenClock
from assay.runtime import Runtime
from tests.frontier_factories import Scenario, make_scenario


@pytest.fixture
def scenario(session: Session, clock: FrozenClock, runtime: Runtime) -> Scenario:
    return make_scenario(session, clock, runtime.box)
