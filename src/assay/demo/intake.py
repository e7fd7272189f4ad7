"""The demo's clearinghouse: real SARIF and OSV files taken in by two reporters, the
duplicates collapsed, and the triage queue shown.

The files ship in ``assay/demo/data`` (see its SOURCES.md). When the shared data folder
is present (``ASSAY_DEMO_DATA``, or ``../shared/data`` beside the checkout), the real KEV
catalog is loaded too, so known-exploited vulnerabilities rise in the queue.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from assay.clearinghouse import intake, triage_service, views, vulns
from assay.clearinghouse.models import DiscoveryMethod, Tlp
from assay.clearinghouse.schemas import IntakeOut, SubmissionMeta, VulnSummary
from assay.clearinghouse.triage import load
from assay.identity import service as identity
from assay.runtime import Runtime

DATA = Path(__file__).parent / "data"
RESEARCHER = "researcher@researchers.demo"
UTILITY = "engineer@riverside-water.demo"
ANALYST = "analyst@clearinghouse.demo"


@dataclass(frozen=True)
class Intake:
    file: str
    who: str
    out: IntakeOut


@dataclass(frozen=True)
class ClearinghouseDemo:
    intakes: list[Intake]
    kev_loaded: int | None
    queue: list[VulnSummary]
    total: int


def _shared_kev() -> Path | None:
    roots = [os.environ.get("ASSAY_DEMO_DATA"), Path.cwd().parent / "shared" / "data"]
    for root in roots:
        if root:
            kev = Path(root) / "kev" / "known_exploited_vulnerabilities.json"
            if kev.is_file():
                return kev
    return None


def run_intake(runtime: Runtime) -> ClearinghouseDemo:
    s = runtime.settings
    limits = intake.IntakeLimits(
        max_bytes=s.intake_max_bytes,
        near_threshold=s.near_duplicate_threshold,
        near_band=s.near_duplicate_band,
    )
    osv = sorted((DATA / "osv").glob("*.yaml"))
    plan = [
        (RESEARCHER, DATA / "bash-report.sarif", DiscoveryMethod.AI_ASSISTED, "an LLM code review"),
        (RESEARCHER, DATA / "njsscan.sarif", DiscoveryMethod.AUTOMATED, "njsscan"),
        (UTILITY, DATA / "bash-report-subset-same-hash-code-same-unique-id.sarif",
         DiscoveryMethod.AUTOMATED, "shellcheck"),
        *((RESEARCHER, path, DiscoveryMethod.HUMAN, "") for path in osv),
    ]  # fmt: skip
    done: list[Intake] = []
    for email, path, method, tool in plan:
        with runtime.db.transaction() as session:
            who = identity.actor_for(identity.user_by_email(session, email))
        out = intake.submit_file(
            runtime.db,
            actor=who,
            clock=runtime.clock,
            blobs=runtime.blobs,
            path=path,
            source_name=path.name,
            meta=SubmissionMeta(tlp=Tlp.GREEN, discovery_method=method, discovery_tool=tool),
            limits=limits,
        )
        done.append(Intake(path.name, email, out))
    kev_loaded = None
    kev = _shared_kev()
    with runtime.db.transaction(write=True) as session:
        analyst = identity.actor_for(identity.user_by_email(session, ANALYST))
        if kev is not None:
            admin = identity.actor_for(identity.instance_admin(session))
            report = load.load_kev(
                session, actor=admin, clock=runtime.clock, data=kev.read_bytes(),
                source_name=kev.name,
            )  # fmt: skip
            kev_loaded = report.total
            triage_service.refresh_enrichment(session)
        page = vulns.list_queue(session, actor=analyst, limit=10, offset=0)
        queue = views.summaries(session, page.items)
    return ClearinghouseDemo(intakes=done, kev_loaded=kev_loaded, queue=queue, total=page.total)
