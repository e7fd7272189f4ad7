"""Triage of canonical vulnerabilities: CVSS, KEV and EPSS joined in, an SSVC decision, and
the priority rank that orders the queue (SSVC outcome, then KEV, then EPSS, then CVSS).

``initial`` computes the fields of vulnerabilities an intake creates, in bulk; ``triage``
applies an analyst's decisions to one; ``refresh_enrichment`` re-joins KEV and EPSS after
a load, so the queue follows new reference data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.clearinghouse.events import ClearinghouseEvent
from assay.clearinghouse.models import VulnAlias, Vulnerability
from assay.clearinghouse.schemas import TriageIn
from assay.clearinghouse.triage import load as reference
from assay.clearinghouse.triage import priority, scores, ssvc
from assay.core.audit import record_event
from assay.core.authz import Actor
from assay.core.clock import Clock
from assay.core.errors import FieldError, InvalidInput

CVE_PREFIX = "CVE-"


def _cves(aliases: Iterable[str]) -> list[str]:
    return sorted(a for a in aliases if a.upper().startswith(CVE_PREFIX))


def _fields(
    cvss: scores.CvssScore | None,
    enrich: list[reference.Enrichment],
    *,
    reproducer: bool,
    analyst: dict[str, str | None] | None = None,
) -> dict[str, Any]:
    in_kev = any(e.in_kev for e in enrich)
    epss_values = [e.epss for e in enrich if e.epss is not None]
    epss = max(epss_values) if epss_values else None
    given = analyst or {}

    def pick(enum: Any, key: str) -> Any:
        value = given.get(key)
        return enum(value) if value else None

    inputs = ssvc.suggest_inputs(
        in_kev=in_kev,
        has_reproducer=reproducer,
        cvss=cvss,
        exploitation=pick(ssvc.Exploitation, "exploitation"),
        automatable=pick(ssvc.Automatable, "automatable"),
        technical_impact=pick(ssvc.TechnicalImpact, "technical_impact"),
        mission_wellbeing=pick(ssvc.MissionWellbeing, "mission_impact"),
    )
    decision = inputs.decision()
    outcome = decision.outcome if decision else None
    return {
        "cvss_vector": cvss.vector if cvss else None,
        "cvss_version": cvss.version if cvss else None,
        "cvss_score": cvss.base_score if cvss else None,
        "in_kev": in_kev,
        "epss": epss,
        "ssvc_exploitation": _value(inputs.exploitation.value),
        "ssvc_automatable": _value(inputs.automatable.value),
        "ssvc_technical_impact": _value(inputs.technical_impact.value),
        "ssvc_mission_impact": _value(inputs.mission_wellbeing.value),
        "ssvc_decision": str(outcome) if outcome else None,
        "priority_rank": priority.priority_rank(
            outcome, in_kev, epss, cvss.base_score if cvss else None
        ),
    }


def _value(value: Any) -> str | None:
    return None if value is None else str(value.value if hasattr(value, "value") else value)


def initial(
    session: Session, items: Sequence[tuple[Sequence[str], Iterable[str]]]
) -> list[dict[str, Any]]:
    """Triage fields for new vulnerabilities given (CVSS vectors, aliases) each; one KEV and
    EPSS lookup for the whole batch."""
    alias_lists = [list(a) for _, a in items]
    known = reference.enrichment(session, {c for a in alias_lists for c in _cves(a)})
    out = []
    for (vectors, _), aliases in zip(items, alias_lists, strict=True):
        cvss = scores.best_score(vectors, skip_invalid=True)
        out.append(_fields(cvss, [known[c] for c in _cves(aliases)], reproducer=False))
    return out


def triage(
    session: Session, *, actor: Actor, clock: Clock, vuln: Vulnerability, data: TriageIn
) -> Vulnerability:
    """An analyst's decisions: status, vector, SSVC inputs, reproducer confirmed. The caller
    has authorized ``VULN_TRIAGE`` on ``vuln``."""
    changes = data.model_dump(exclude_unset=True)
    vector = data.cvss_vector if "cvss_vector" in changes else vuln.cvss_vector
    try:
        cvss = scores.parse_cvss(vector) if vector else None
    except scores.InvalidCvssVector as exc:
        raise InvalidInput(str(exc), errors=[FieldError("cvss_vector", str(exc))]) from None
    analyst = {
        "exploitation": changes.get("exploitation", vuln.ssvc_exploitation),
        "automatable": changes.get("automatable", vuln.ssvc_automatable),
        "technical_impact": changes.get("technical_impact", vuln.ssvc_technical_impact),
        "mission_impact": changes.get("mission_impact", vuln.ssvc_mission_impact),
    }
    aliases = [a.alias for a in vuln.aliases]
    enrich = list(reference.enrichment(session, _cves(aliases)).values())
    confirmed = changes.get("reproducer_confirmed", vuln.reproducer_confirmed)
    try:
        fields = _fields(
            cvss, enrich, reproducer=vuln.reproducer_supplied or confirmed, analyst=analyst
        )
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    for key, value in fields.items():
        setattr(vuln, key, value)
    vuln.reproducer_confirmed = bool(confirmed)
    if data.status is not None:
        vuln.status = data.status
    vuln.updated_at = clock.now()
    record_event(
        session,
        clock=clock,
        actor=actor,
        action=ClearinghouseEvent.VULNERABILITY_TRIAGED,
        object_type="vulnerability",
        object_id=vuln.id,
        details={
            "changes": {k: str(v) for k, v in changes.items()},
            "ssvc": vuln.ssvc_decision,
            "priority_rank": vuln.priority_rank,
        },
    )
    return vuln


def refresh_enrichment(session: Session) -> int:
    """Re-join KEV and EPSS into every vulnerability with a CVE alias; returns how many
    changed. Run after ``assay kev load`` and ``assay epss load``."""
    rows = session.execute(
        select(VulnAlias.vulnerability_id, VulnAlias.alias).where(
            VulnAlias.alias.like(f"{CVE_PREFIX}%")
        )
    ).all()
    by_vuln: dict[Any, list[str]] = {}
    for vuln_id, alias in rows:
        by_vuln.setdefault(vuln_id, []).append(alias)
    known = reference.enrichment(session, {a for _, a in rows})
    changed = 0
    for vuln_id, cves in by_vuln.items():
        vuln = session.get(Vulnerability, vuln_id)
        if vuln is None:
            continue
        cvss = scores.parse_cvss(vuln.cvss_vector) if vuln.cvss_vector else None
        enrich = [known[c] for c in cves]
        # New KEV listings raise exploitation to active; otherwise the current value stands.
        listed = any(e.in_kev for e in enrich)
        analyst = {
            "exploitation": "active" if listed else vuln.ssvc_exploitation,
            "automatable": vuln.ssvc_automatable,
            "technical_impact": vuln.ssvc_technical_impact,
            "mission_impact": vuln.ssvc_mission_impact,
        }
        fields = _fields(cvss, enrich, reproducer=vuln.reproducer_supplied, analyst=analyst)
        if any(getattr(vuln, k) != v for k, v in fields.items()):
            for key, value in fields.items():
                setattr(vuln, key, value)
            changed += 1
    return changed
