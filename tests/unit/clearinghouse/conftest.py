"""Clearinghouse fixtures: reporters, an analyst, a vendor, and intake through the service."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from assay.clearinghouse import intake
from assay.clearinghouse.models import DiscoveryMethod, Tlp
from assay.clearinghouse.schemas import IntakeOut, SubmissionMeta
from assay.core.authz import Actor, OrgKind, Role
from assay.core.clock import FrozenClock
from assay.runtime import Runtime
from tests.factories import actor, make_org, make_user
from tests.shared_data import SHARED_DATA

DATA = SHARED_DATA
SARIF = DATA / "sarif"
OSV = DATA / "osv" / "pypa"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared data missing: {path}")
    return path


@dataclass
class People:
    reporter: Actor
    other_reporter: Actor
    analyst: Actor
    vendor: Actor


@pytest.fixture
def people(session: Session, clock: FrozenClock) -> People:
    def member(kind: OrgKind) -> Actor:
        return actor(make_user(session, clock, make_org(session, clock, kind), Role.MEMBER))

    found = People(
        reporter=member(OrgKind.REPORTER),
        other_reporter=member(OrgKind.OPERATOR),
        analyst=member(OrgKind.CLEARINGHOUSE),
        vendor=member(OrgKind.VENDOR),
    )
    session.commit()
    return found


Submit = Callable[..., IntakeOut]


@pytest.fixture
def submit(runtime: Runtime) -> Submit:
    limits = intake.IntakeLimits(max_bytes=50 * 1024 * 1024, near_threshold=0.8, near_band=0.15)

    def run(
        who: Actor,
        path: Path,
        *,
        tlp: Tlp = Tlp.AMBER,
        fmt: str = "auto",
        limits_override: intake.IntakeLimits | None = None,
    ) -> IntakeOut:
        return intake.submit_file(
            runtime.db,
            actor=who,
            clock=runtime.clock,
            blobs=runtime.blobs,
            path=path,
            source_name=path.name,
            meta=SubmissionMeta(
                format=fmt,
                tlp=tlp,
                discovery_method=DiscoveryMethod.AI_ASSISTED,
                discovery_tool="test-model",
            ),
            limits=limits_override or limits,
        )

    return run
