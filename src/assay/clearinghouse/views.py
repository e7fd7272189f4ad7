"""Shaping clearinghouse records for the doors: summaries, details, declared metadata."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import ValidationError
from sqlalchemy.orm import Session

from assay.clearinghouse import vulns
from assay.clearinghouse.models import Vulnerability
from assay.clearinghouse.schemas import FindingOut, SubmissionMeta, VulnDetail, VulnSummary
from assay.core.authz import Actor
from assay.core.errors import FieldError, InvalidInput


def build_meta(fields: Mapping[str, object]) -> SubmissionMeta:
    """The reporter's declarations, checked as the API checks them."""
    try:
        return SubmissionMeta.model_validate(dict(fields))
    except ValidationError as exc:
        errors = [
            FieldError(".".join(str(p) for p in e["loc"]) or "form", e["msg"]) for e in exc.errors()
        ]
        raise InvalidInput(
            "; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors
        ) from exc


def _summary(vuln: Vulnerability, reporter_count: int) -> dict[str, object]:
    return {
        "id": vuln.public_id,
        "uuid": vuln.id,
        "status": vuln.status,
        "title": vuln.title,
        "aliases": [a.alias for a in vuln.aliases],
        "findings": vuln.finding_count,
        "reporters": reporter_count,
        "cwe_ids": list(vuln.cwe_ids),
        "cvss_score": vuln.cvss_score,
        "ssvc_decision": vuln.ssvc_decision,
        "in_kev": vuln.in_kev,
        "epss": vuln.epss,
        "scope": vuln.scope,
        "created_at": vuln.created_at,
    }


def summaries(session: Session, items: Sequence[Vulnerability]) -> list[VulnSummary]:
    reporters = vulns.reporters(session, [v.id for v in items])
    return [VulnSummary.model_validate(_summary(v, len(reporters[v.id]))) for v in items]


def detail(session: Session, *, actor: Actor, vuln: Vulnerability) -> VulnDetail:
    merged_into = vulns.find(session, str(vuln.merged_into_id)) if vuln.merged_into_id else None
    return VulnDetail.model_validate(
        {
            **_summary(vuln, len(vuln.party_org_ids)),
            "cvss_vector": vuln.cvss_vector,
            "cvss_version": vuln.cvss_version,
            "ssvc_inputs": {
                "exploitation": vuln.ssvc_exploitation,
                "automatable": vuln.ssvc_automatable,
                "technical_impact": vuln.ssvc_technical_impact,
                "mission_impact": vuln.ssvc_mission_impact,
            },
            "reproducer_supplied": vuln.reproducer_supplied,
            "reproducer_confirmed": vuln.reproducer_confirmed,
            "merged_into": merged_into.public_id if merged_into else None,
            "cluster": [
                FindingOut.model_validate(f) for f in vulns.cluster(session, actor=actor, vuln=vuln)
            ],
            "reporter_history": _history(session, actor, vuln),
        }
    )


def _history(
    session: Session, actor: Actor, vuln: Vulnerability
) -> dict[str, dict[str, float | int]]:
    """Reporter track records are for analysts only: a reporter never learns who else reported."""
    if not vulns.sees_everything(actor):
        return {}
    found = vulns.reporter_history(session, vuln.party_org_ids)
    return {str(org): numbers for org, numbers in found.items()}
