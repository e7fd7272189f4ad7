"""``assay intake|vulns``: the clearinghouse from the command line, as thin translations."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

import typer

from assay.clearinghouse import intake, views, vulns
from assay.clearinghouse.api import limits_of
from assay.clearinghouse.models import DiscoveryMethod, Tlp, VulnStatus
from assay.cli.context import print_json, print_page, state

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]

intake_app = typer.Typer(help="Taking in vulnerability reports.", no_args_is_help=True)
vulns_app = typer.Typer(
    help="Canonical vulnerabilities and the triage queue.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(intake_app, name="intake")
    app.add_typer(vulns_app, name="vulns")


@intake_app.command("submit")
def intake_submit(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    fmt: Annotated[str, typer.Option("--format", help="auto, sarif, osv, csaf or cve5.")] = "auto",
    tlp: Annotated[Tlp, typer.Option(help="TLP 2.0 label of the submission.")] = Tlp.AMBER,
    discovery_method: Annotated[
        DiscoveryMethod, typer.Option(help="How it was found.")
    ] = DiscoveryMethod.HUMAN,
    discovery_tool: Annotated[str, typer.Option(help="The tool or model that found it.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Take in a SARIF, OSV, CSAF or CVE 5 file. A bad file is rejected whole."""
    st = state(ctx)
    runtime = st.runtime()
    meta = views.build_meta(
        {
            "format": fmt,
            "tlp": tlp,
            "discovery_method": discovery_method,
            "discovery_tool": discovery_tool,
        }
    )
    with st.unit_of_work() as (_session, actor):
        pass
    out = intake.submit_file(
        runtime.db,
        actor=actor,
        clock=runtime.clock,
        blobs=runtime.blobs,
        path=file,
        source_name=file.name,
        meta=meta,
        limits=limits_of(runtime),
    )
    if as_json:
        print_json(
            {
                "submission": str(out.submission),
                "format": out.format,
                "findings": out.findings,
                "new": out.new,
                "duplicates": out.duplicates,
                "vulnerabilities": out.vulnerabilities,
                "duplicate_details": [d.model_dump(mode="json") for d in out.duplicate_details],
                "possible_duplicates": [d.model_dump(mode="json") for d in out.possible_duplicates],
            }
        )
        return
    typer.echo(
        f"{out.format}: {out.findings} findings, {out.new} new, {out.duplicates} duplicates "
        f"(submission {out.submission})"
    )
    for dup in out.duplicate_details[:20]:
        typer.echo(f"  {dup.source_ref} -> {dup.vulnerability} ({dup.level.value}: {dup.reason})")


@vulns_app.command("list")
def vulns_list(
    ctx: typer.Context,
    status: Annotated[VulnStatus | None, typer.Option(help="Only this status.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: JsonOpt = False,
) -> None:
    """The triage queue, highest priority first."""
    with state(ctx).unit_of_work() as (session, actor):
        page = vulns.list_queue(session, actor=actor, limit=limit, offset=offset, status=status)
        items = views.summaries(session, page.items)
    print_page(items, page.total, ["id", "status", "ssvc_decision", "cvss_score", "title"], as_json)


@vulns_app.command("show")
def vulns_show(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="ASSAY id.")],
    as_json: JsonOpt = False,
) -> None:
    """One vulnerability with its cluster and the reason for each merge."""
    with state(ctx).unit_of_work() as (session, actor):
        out = views.detail(session, actor=actor, vuln=vulns.get_vuln(session, actor=actor, ref=ref))
    if as_json:
        print_json(out)
        return
    typer.echo(f"{out.id} [{out.status.value}] {out.title}")
    typer.echo(f"aliases: {', '.join(out.aliases) or '-'}; reporters: {out.reporters}")
    for f in out.cluster:
        typer.echo(f"  {f.id} {f.level.value}: {f.reason} ({f.source_ref})")


@vulns_app.command("merge")
def vulns_merge(
    ctx: typer.Context,
    into: Annotated[str, typer.Argument(help="The ASSAY id that stays.")],
    other: Annotated[str, typer.Argument(help="The ASSAY id merged into it.")],
    reason: Annotated[str, typer.Option(help="Why they are one vulnerability.")],
    as_json: JsonOpt = False,
) -> None:
    """Merge two vulnerabilities by hand (analysts). Audited."""
    st = state(ctx)
    with st.unit_of_work(write=True) as (session, actor):
        vuln = vulns.merge(
            session, actor=actor, clock=st.runtime().clock, into=into, other=other, reason=reason
        )
        out = views.detail(session, actor=actor, vuln=vuln)
    print_json(out) if as_json else typer.echo(f"merged {other} into {out.id}")


@vulns_app.command("split")
def vulns_split(
    ctx: typer.Context,
    finding: Annotated[str, typer.Argument(help="The finding's id.")],
    reason: Annotated[str, typer.Option(help="Why it is not the same vulnerability.")],
    as_json: JsonOpt = False,
) -> None:
    """Split a wrongly merged finding out into a vulnerability of its own. Audited."""
    st = state(ctx)
    try:
        finding_id = uuid.UUID(finding)
    except ValueError:
        raise typer.BadParameter(f"FINDING must be an id, got {finding!r}") from None
    with st.unit_of_work(write=True) as (session, actor):
        vuln = vulns.split(
            session, actor=actor, clock=st.runtime().clock, finding_id=finding_id, reason=reason
        )
        out = views.detail(session, actor=actor, vuln=vuln)
    print_json(out) if as_json else typer.echo(f"split {finding} out into {out.id}")


kev_app = typer.Typer(help="CISA's Known Exploited Vulnerabilities catalog.", no_args_is_help=True)
epss_app = typer.Typer(help="FIRST's EPSS scores.", no_args_is_help=True)


def register_reference(app: typer.Typer) -> None:
    app.add_typer(kev_app, name="kev")
    app.add_typer(epss_app, name="epss")


def _load(ctx: typer.Context, file: Path, kind: str, as_json: bool) -> None:
    from assay.clearinghouse import triage_service
    from assay.clearinghouse.triage import load

    st = state(ctx)
    data = file.read_bytes()
    loader = load.load_kev if kind == "kev" else load.load_epss
    with st.unit_of_work(write=True) as (session, actor):
        report = loader(
            session, actor=actor, clock=st.runtime().clock, data=data, source_name=file.name
        )
        changed = triage_service.refresh_enrichment(session)
    out = {**report.as_dict(), "vulnerabilities_rescored": changed}
    if as_json:
        print_json(out)
    else:
        typer.echo(
            f"{kind} {report.version}: {report.total} entries ({report.added} added, "
            f"{report.updated} updated, {report.unchanged} unchanged); "
            f"{changed} vulnerabilities re-scored"
        )


@kev_app.command("load")
def kev_load(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    as_json: JsonOpt = False,
) -> None:
    """Load the KEV catalog (JSON or CSV) and re-join it into the queue."""
    _load(ctx, file, "kev", as_json)


@epss_app.command("load")
def epss_load(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    as_json: JsonOpt = False,
) -> None:
    """Load an EPSS scores CSV (as FIRST publishes it) and re-join it into the queue."""
    _load(ctx, file, "epss", as_json)


@vulns_app.command("triage")
def vulns_triage(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="ASSAY id.")],
    status: Annotated[VulnStatus | None, typer.Option()] = None,
    cvss_vector: Annotated[str | None, typer.Option()] = None,
    exploitation: Annotated[str | None, typer.Option(help="none, public poc, active")] = None,
    automatable: Annotated[str | None, typer.Option(help="no, yes")] = None,
    technical_impact: Annotated[str | None, typer.Option(help="partial, total")] = None,
    mission_impact: Annotated[str | None, typer.Option(help="low, medium, high")] = None,
    reproducer_confirmed: Annotated[bool | None, typer.Option()] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record an analyst's triage: status, CVSS vector, SSVC inputs, reproducer."""
    from assay.clearinghouse import triage_service
    from assay.clearinghouse.schemas import TriageIn
    from assay.core.authz import Permission

    given = {
        "status": status,
        "cvss_vector": cvss_vector,
        "exploitation": exploitation,
        "automatable": automatable,
        "technical_impact": technical_impact,
        "mission_impact": mission_impact,
        "reproducer_confirmed": reproducer_confirmed,
    }
    data = TriageIn.model_validate({k: v for k, v in given.items() if v is not None})
    st = state(ctx)
    with st.unit_of_work(write=True) as (session, actor):
        vuln = vulns.get_vuln(session, actor=actor, ref=ref, permission=Permission.VULN_TRIAGE)
        triage_service.triage(session, actor=actor, clock=st.runtime().clock, vuln=vuln, data=data)
        out = views.detail(session, actor=actor, vuln=vuln)
    if as_json:
        print_json(out)
    else:
        typer.echo(f"{out.id}: {out.status.value}, SSVC {out.ssvc_decision or 'undecided'}")
