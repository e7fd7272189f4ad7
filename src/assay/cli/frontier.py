"""``assay models|policies|determine|agreements|windows|gateway|findings``: the frontier review
from the command line, as thin translations to the frontier services.

A model's API key is never an argument (arguments show in ``ps``): it is read from the
environment variable that ``--api-key-env`` names.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import AwareDatetime, BaseModel, ValidationError

from assay.cli.context import print_json, print_page, state
from assay.core.errors import FieldError, InvalidInput
from assay.frontier import agreements, catalog, determinations, findings, policies, windows
from assay.frontier.api import policy_detail, policy_summary
from assay.frontier.gateway import access
from assay.frontier.models import Domain, Severity
from assay.frontier.schemas import (
    AgreementCreate,
    AgreementPublic,
    DeterminationPublic,
    FindingCreate,
    FindingPublic,
    GatewayTokenIssued,
    ModelCreate,
    ModelPublic,
    ModelUpdate,
)
from assay.identity import service as identity

S = TypeVar("S", bound=BaseModel)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
LimitOpt = Annotated[int, typer.Option(help="Page size.", min=1, max=500)]
OffsetOpt = Annotated[int, typer.Option(help="Items to skip.", min=0)]
FlopOpt = Annotated[float | None, typer.Option(help="FLOP; leave out if unknown (not zero).")]

models_app = typer.Typer(help="Models registered for pre-release review.", no_args_is_help=True)
policies_app = typer.Typer(help="Coverage policies.", no_args_is_help=True)
agreements_app = typer.Typer(help="Testing agreements.", no_args_is_help=True)
windows_app = typer.Typer(help="Review windows.", no_args_is_help=True)
gateway_app = typer.Typer(help="The model gateway.", no_args_is_help=True)
findings_app = typer.Typer(help="Findings on a review window.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
    app.add_typer(policies_app, name="policies")
    app.command("determine")(determine)
    app.add_typer(agreements_app, name="agreements")
    app.add_typer(windows_app, name="windows")
    app.add_typer(gateway_app, name="gateway")
    app.add_typer(findings_app, name="findings")


class _When(BaseModel):
    at: AwareDatetime


def build(schema: type[S], **values: Any) -> S:
    """Validate command options with the API's schema, so both doors check alike."""
    try:
        return schema.model_validate(values)
    except ValidationError as exc:
        errors = [FieldError(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
        raise InvalidInput(detail, errors=errors) from exc


def parse_uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise typer.BadParameter(f"{what} must be an id, got {value!r}") from None


def _pairs(values: list[str], what: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in values:
        name, sep, number = item.partition("=")
        try:
            out[name.strip()] = float(number)
        except ValueError:
            raise typer.BadParameter(f"{what} must be NAME=NUMBER, got {item!r}") from None
        if not sep or not name.strip():
            raise typer.BadParameter(f"{what} must be NAME=NUMBER, got {item!r}")
    return out


def _api_key(env_name: str | None) -> str | None:
    if env_name is None:
        return None
    key = os.environ.get(env_name)
    if not key:
        raise typer.BadParameter(f"the environment variable {env_name} is not set")
    return key


# -- models --------------------------------------------------------------------------------


@models_app.command("register")
def models_register(
    ctx: typer.Context,
    org: Annotated[str, typer.Option(help="Developer organization: name or id.")],
    name: Annotated[str, typer.Option(help="Model name.")],
    version: Annotated[str, typer.Option(help="Model version.")],
    planned_release: Annotated[
        str, typer.Option(help="Planned public release, ISO 8601 with a zone (Z or +hh:mm).")
    ],
    training_flop: FlopOpt = None,
    finetune_flop: FlopOpt = None,
    parameters: Annotated[int | None, typer.Option(help="Parameter count.")] = None,
    bio_sequence_data: Annotated[
        bool | None,
        typer.Option(
            "--bio-sequence-data/--no-bio-sequence-data",
            help="Trained primarily on biological sequence data (unknown if left out).",
        ),
    ] = None,
    revenue_usd: Annotated[float | None, typer.Option(help="Developer revenue, USD.")] = None,
    eu_business_users: Annotated[int | None, typer.Option(help="Business users in the EU.")] = None,
    modality: Annotated[list[str] | None, typer.Option(help="A modality (repeat).")] = None,
    benchmark: Annotated[
        list[str] | None, typer.Option(help="A self-reported score, NAME=VALUE (repeat).")
    ] = None,
    description: Annotated[str, typer.Option(help="What the model is.")] = "",
    endpoint_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible base URL, e.g. https://host/v1.")
    ] = None,
    endpoint_model: Annotated[
        str | None, typer.Option(help="The model name the endpoint expects.")
    ] = None,
    api_key_env: Annotated[
        str | None, typer.Option(help="Name of an environment variable holding the API key.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a model before its release."""
    st = state(ctx)
    runtime = st.runtime()
    with st.unit_of_work(write=True) as (session, actor):
        org_id = identity.find_organization(session, actor=actor, ref=org).id
        data = build(
            ModelCreate,
            org_id=org_id,
            name=name,
            version=version,
            description=description,
            planned_release_at=planned_release,
            training_flop=training_flop,
            finetune_flop=finetune_flop,
            parameters=parameters,
            bio_sequence_data=bio_sequence_data,
            revenue_usd=revenue_usd,
            eu_business_users=eu_business_users,
            modalities=modality or None,
            benchmarks=_pairs(benchmark or [], "--benchmark"),
            endpoint_url=endpoint_url,
            endpoint_model=endpoint_model,
            api_key=_api_key(api_key_env),
        )
        model = catalog.register_model(
            session, actor=actor, clock=runtime.clock, box=runtime.box, data=data
        )
        out = ModelPublic.model_validate(model)
    if as_json:
        print_json({"id": str(out.id), "model": out.model_dump(mode="json")})
    else:
        typer.echo(f"registered {out.name} {out.version} ({out.id})")


@models_app.command("update")
def models_update(
    ctx: typer.Context,
    model_id: Annotated[str, typer.Argument(help="The model's id.")],
    planned_release: Annotated[str | None, typer.Option(help="New planned release.")] = None,
    training_flop: FlopOpt = None,
    finetune_flop: FlopOpt = None,
    parameters: Annotated[int | None, typer.Option()] = None,
    bio_sequence_data: Annotated[
        bool | None, typer.Option("--bio-sequence-data/--no-bio-sequence-data")
    ] = None,
    revenue_usd: Annotated[float | None, typer.Option()] = None,
    eu_business_users: Annotated[int | None, typer.Option()] = None,
    benchmark: Annotated[
        list[str] | None, typer.Option(help="Replace the scores: NAME=VALUE (repeat).")
    ] = None,
    endpoint_url: Annotated[str | None, typer.Option()] = None,
    endpoint_model: Annotated[str | None, typer.Option()] = None,
    api_key_env: Annotated[
        str | None, typer.Option(help="Replace the key with this environment variable's value.")
    ] = None,
    clear: Annotated[
        list[str] | None, typer.Option(help="Make a fact unknown again (repeat).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a model's facts, release date or access. Earlier determinations go stale."""
    st = state(ctx)
    runtime = st.runtime()
    values: dict[str, Any] = {
        "planned_release_at": planned_release,
        "training_flop": training_flop,
        "finetune_flop": finetune_flop,
        "parameters": parameters,
        "bio_sequence_data": bio_sequence_data,
        "revenue_usd": revenue_usd,
        "eu_business_users": eu_business_users,
        "benchmarks": _pairs(benchmark, "--benchmark") if benchmark else None,
        "endpoint_url": endpoint_url,
        "endpoint_model": endpoint_model,
        "api_key": _api_key(api_key_env),
    }
    sent = {k: v for k, v in values.items() if v is not None}
    for fact in clear or []:
        if fact not in catalog.FACT_FIELDS:
            raise typer.BadParameter(f"--clear takes one of {', '.join(catalog.FACT_FIELDS)}")
        sent[fact] = None
    data = build(ModelUpdate, **sent)
    with st.unit_of_work(write=True) as (session, actor):
        model = catalog.update_model(
            session,
            actor=actor,
            clock=runtime.clock,
            box=runtime.box,
            model_id=parse_uuid(model_id, "MODEL"),
            data=data,
        )
        out = ModelPublic.model_validate(model)
    print_json(out) if as_json else typer.echo(f"updated {out.name} {out.version} ({out.id})")


@models_app.command("list")
def models_list(
    ctx: typer.Context, as_json: JsonOpt = False, limit: LimitOpt = 50, offset: OffsetOpt = 0
) -> None:
    """The models you may see."""
    with state(ctx).unit_of_work() as (session, actor):
        page = catalog.list_models(session, actor=actor, limit=limit, offset=offset)
        items = [ModelPublic.model_validate(m) for m in page.items]
    print_page(items, page.total, ["id", "name", "version", "planned_release_at"], as_json)


@models_app.command("show")
def models_show(
    ctx: typer.Context, model_id: Annotated[str, typer.Argument()], as_json: JsonOpt = False
) -> None:
    """One model's facts (never its key)."""
    with state(ctx).unit_of_work() as (session, actor):
        model = catalog.get_model(session, actor=actor, model_id=parse_uuid(model_id, "MODEL"))
        out = ModelPublic.model_validate(model)
    if as_json:
        print_json(out)
        return
    for key, value in out.model_dump(mode="json").items():
        typer.echo(f"{key}: {value}")


# -- policies and determinations -----------------------------------------------------------


@policies_app.command("list")
def policies_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Every policy's latest version; the platform default first."""
    with state(ctx).unit_of_work() as (session, actor):
        items = [policy_summary(s) for s in policies.list_policies(session, actor=actor)]
    print_page(items, len(items), ["name", "version", "default", "title"], as_json)


@policies_app.command("show")
def policies_show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument()],
    version: Annotated[int | None, typer.Option()] = None,
    as_json: JsonOpt = False,
) -> None:
    """A policy's rules, with their citations."""
    with state(ctx).unit_of_work() as (session, actor):
        detail = policy_detail(
            policies.get_policy(session, actor=actor, name=name, version=version)
        )
    print_json(detail) if as_json else typer.echo(detail.source_text)


@policies_app.command("add")
def policies_add(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    as_json: JsonOpt = False,
) -> None:
    """Add a policy, or a new version of one (instance admins)."""
    st = state(ctx)
    text = file.read_text(encoding="utf-8")
    with st.unit_of_work(write=True) as (session, actor):
        stored = policies.add_policy(
            session, actor=actor, clock=st.runtime().clock, source_text=text, source=file.name
        )
        out = policy_summary(stored)
    print_json(out) if as_json else typer.echo(f"added {out.name} version {out.version}")


def determine(
    ctx: typer.Context,
    model_id: Annotated[str, typer.Argument(help="The model's id.")],
    policy: Annotated[str, typer.Option(help="A coverage policy's name.")],
    as_json: JsonOpt = False,
) -> None:
    """Apply a coverage policy to a model. The outcome is a record; it blocks nothing."""
    st = state(ctx)
    with st.unit_of_work(write=True) as (session, actor):
        result = determinations.determine(
            session,
            actor=actor,
            clock=st.runtime().clock,
            model_id=parse_uuid(model_id, "MODEL"),
            policy_name=policy,
        )
        out = DeterminationPublic.model_validate(result)
    if as_json:
        print_json(out.model_dump(mode="json"))
        return
    typer.echo(f"{out.outcome.value} under {out.policy} v{out.policy_version} ({out.id})")
    if out.missing:
        typer.echo(f"missing facts: {', '.join(out.missing)}")
    for entry in out.trace:
        typer.echo(
            f"  {entry.get('rule')}: {entry.get('result')}  "
            f"[{entry.get('fact')} {entry.get('op')} {entry.get('threshold')}; "
            f"value {entry.get('value')}]  {entry.get('citation')}"
        )


# -- agreements ----------------------------------------------------------------------------


@agreements_app.command("propose")
def agreements_propose(
    ctx: typer.Context,
    model: Annotated[str, typer.Option(help="The model's id.")],
    agency: Annotated[list[str], typer.Option(help="An agency, name or id (repeat).")],
    days: Annotated[int, typer.Option(help="Review length in days, 1 to 30.")],
    domains: Annotated[str, typer.Option(help="Comma-separated: cyber,chem-bio,autonomy,...")],
    data_handling: Annotated[str, typer.Option(help="Data-handling terms.")] = "",
    share_findings: Annotated[
        bool, typer.Option(help="Agencies see each other's findings.")
    ] = False,
    budget_calls: Annotated[int | None, typer.Option(help="Most gateway calls allowed.")] = None,
    budget_tokens: Annotated[int | None, typer.Option(help="Most tokens allowed.")] = None,
    contact: Annotated[str, typer.Option(help="Who to contact at the developer.")] = "",
    supersedes: Annotated[
        str | None, typer.Option(help="The agreement this new version replaces.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Propose a testing agreement; each agency then accepts or declines."""
    st = state(ctx)
    with st.unit_of_work(write=True) as (session, actor):
        agency_ids = [identity.find_organization(session, actor=actor, ref=a).id for a in agency]
        data = build(
            AgreementCreate,
            model_id=model,
            agencies=agency_ids,
            domains=[d.strip() for d in domains.split(",") if d.strip()],
            review_days=days,
            data_handling=data_handling,
            share_findings_between_agencies=share_findings,
            budget_calls=budget_calls,
            budget_tokens=budget_tokens,
            contact=contact,
            supersedes=supersedes,
        )
        agreement = agreements.propose(session, actor=actor, clock=st.runtime().clock, data=data)
        out = AgreementPublic.model_validate(agreement)
    if as_json:
        print_json({"id": str(out.id), "agreement": out.model_dump(mode="json")})
    else:
        typer.echo(f"proposed agreement {out.id} (version {out.version}, {out.review_days} days)")


def _decide(
    ctx: typer.Context, agreement_id: str, *, accept: bool, reason: str, as_json: bool
) -> None:
    st = state(ctx)
    with st.unit_of_work(write=True) as (session, actor):
        agreement = agreements.decide(
            session,
            actor=actor,
            clock=st.runtime().clock,
            agreement_id=parse_uuid(agreement_id, "AGREEMENT"),
            accept=accept,
            reason=reason,
        )
        out = AgreementPublic.model_validate(agreement)
    print_json(out) if as_json else typer.echo(f"agreement {out.id} is {out.state.value}")


@agreements_app.command("accept")
def agreements_accept(
    ctx: typer.Context,
    agreement_id: Annotated[str, typer.Argument()],
    reason: Annotated[str, typer.Option()] = "",
    as_json: JsonOpt = False,
) -> None:
    """Accept an agreement on behalf of your agency."""
    _decide(ctx, agreement_id, accept=True, reason=reason, as_json=as_json)


@agreements_app.command("decline")
def agreements_decline(
    ctx: typer.Context,
    agreement_id: Annotated[str, typer.Argument()],
    reason: Annotated[str, typer.Option()] = "",
    as_json: JsonOpt = False,
) -> None:
    """Decline an agreement on behalf of your agency; it ends."""
    _decide(ctx, agreement_id, accept=False, reason=reason, as_json=as_json)


@agreements_app.command("list")
def agreements_list(
    ctx: typer.Context, as_json: JsonOpt = False, limit: LimitOpt = 50, offset: OffsetOpt = 0
) -> None:
    """The agreements you are party to."""
    with state(ctx).unit_of_work() as (session, actor):
        page = agreements.list_agreements(session, actor=actor, limit=limit, offset=offset)
        items = [AgreementPublic.model_validate(a) for a in page.items]
    print_page(items, page.total, ["id", "model_id", "version", "state", "review_days"], as_json)


# -- windows and the gateway ---------------------------------------------------------------


@windows_app.command("open")
def windows_open(
    ctx: typer.Context,
    agreement_id: Annotated[str, typer.Argument(help="An active agreement's id.")],
    at: Annotated[
        str | None, typer.Option(help="When access opens, ISO 8601 with a zone; default now.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Open (or schedule) the review window of an active agreement."""
    st = state(ctx)
    runtime = st.runtime()
    opens_at = build(_When, at=at).at if at else None
    with st.unit_of_work(write=True) as (session, actor):
        window = windows.open_window(
            session,
            actor=actor,
            clock=runtime.clock,
            agreement_id=parse_uuid(agreement_id, "AGREEMENT"),
            opens_at=opens_at,
        )
        out = windows.to_public(window, runtime.clock.now())
    if as_json:
        print_json(out)
    else:
        typer.echo(f"window {out.id}: {out.state.value}, closes {out.closes_at.isoformat()}")


@windows_app.command("close")
def windows_close(
    ctx: typer.Context,
    window_id: Annotated[str, typer.Argument()],
    reason: Annotated[str, typer.Option()] = "",
    as_json: JsonOpt = False,
) -> None:
    """Close a window early (the developer at once; agencies all together)."""
    st = state(ctx)
    runtime = st.runtime()
    with st.unit_of_work(write=True) as (session, actor):
        window = windows.close_window(
            session,
            actor=actor,
            clock=runtime.clock,
            window_id=parse_uuid(window_id, "WINDOW"),
            reason=reason,
        )
        out = windows.to_public(window, runtime.clock.now())
    print_json(out) if as_json else typer.echo(f"window {out.id} is {out.state.value}")


@windows_app.command("show")
def windows_show(
    ctx: typer.Context, window_id: Annotated[str, typer.Argument()], as_json: JsonOpt = False
) -> None:
    """A window's state and when it closes."""
    st = state(ctx)
    with st.unit_of_work() as (session, actor):
        window = windows.get_window(session, actor=actor, window_id=parse_uuid(window_id, "WINDOW"))
        out = windows.to_public(window, st.runtime().clock.now())
    if as_json:
        print_json(out)
        return
    for key, value in out.model_dump(mode="json").items():
        typer.echo(f"{key}: {value}")


@windows_app.command("list")
def windows_list(
    ctx: typer.Context, as_json: JsonOpt = False, limit: LimitOpt = 50, offset: OffsetOpt = 0
) -> None:
    """The windows you may see, newest first."""
    st = state(ctx)
    with st.unit_of_work() as (session, actor):
        page = windows.list_windows(session, actor=actor, limit=limit, offset=offset)
        now = st.runtime().clock.now()
        items = [windows.to_public(w, now) for w in page.items]
    print_page(items, page.total, ["id", "model", "state", "closes_at"], as_json)


@windows_app.command("sweep")
def windows_sweep(ctx: typer.Context) -> None:
    """Record the close of every window that has closed (workers do this periodically)."""
    st = state(ctx)
    runtime = st.runtime()
    with runtime.db.transaction(write=True) as session:
        count = windows.record_closes(session, clock=runtime.clock)
    typer.echo(f"recorded {count} closed window(s)")


@gateway_app.command("token")
def gateway_token(
    ctx: typer.Context, window_id: Annotated[str, typer.Argument()], as_json: JsonOpt = False
) -> None:
    """Issue a gateway token for your agency and this window. It is shown once."""
    st = state(ctx)
    runtime = st.runtime()
    with st.unit_of_work(write=True) as (session, actor):
        issued = access.issue_token(
            session, actor=actor, clock=runtime.clock, window_id=parse_uuid(window_id, "WINDOW")
        )
        out = GatewayTokenIssued(
            id=issued.row.id,
            window_id=issued.window.id,
            org_id=issued.row.org_id,
            token=issued.token,
            base_url=runtime.settings.resolved_public_url + "/gateway/v1",
            model=issued.window.model.name,
            expires_at=windows.closes_at(issued.window),
        )
    if as_json:
        print_json(out)
    else:
        typer.echo(f"token: {out.token}\nbase URL: {out.base_url}\nmodel: {out.model}")


# -- findings ------------------------------------------------------------------------------


@findings_app.command("add")
def findings_add(
    ctx: typer.Context,
    window: Annotated[str, typer.Option(help="The window's id.")],
    domain: Annotated[Domain, typer.Option()],
    severity: Annotated[Severity, typer.Option()],
    title: Annotated[str, typer.Option()],
    description: Annotated[str, typer.Option()],
    evidence: Annotated[list[str] | None, typer.Option(help="A link (repeat).")] = None,
    private: Annotated[bool, typer.Option(help="Keep it from the developer for now.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Record a finding on a window, for your agency."""
    st = state(ctx)
    data = build(
        FindingCreate,
        window_id=window,
        domain=domain,
        severity=severity,
        title=title,
        description=description,
        evidence=evidence or [],
        shared_with_developer=not private,
    )
    with st.unit_of_work(write=True) as (session, actor):
        finding = findings.record_finding(session, actor=actor, clock=st.runtime().clock, data=data)
        out = FindingPublic.model_validate(finding)
    print_json(out) if as_json else typer.echo(f"recorded finding {out.id}")


@findings_app.command("respond")
def findings_respond(
    ctx: typer.Context,
    finding_id: Annotated[str, typer.Argument()],
    body: Annotated[str, typer.Option(help="The developer's response.")],
    as_json: JsonOpt = False,
) -> None:
    """Respond to a finding about your model."""
    st = state(ctx)
    with st.unit_of_work(write=True) as (session, actor):
        response = findings.respond(
            session,
            actor=actor,
            clock=st.runtime().clock,
            finding_id=parse_uuid(finding_id, "FINDING"),
            body=body,
        )
        out = {"id": str(response.id), "finding": finding_id}
    print_json(out) if as_json else typer.echo(f"responded to {finding_id}")


@findings_app.command("list")
def findings_list(
    ctx: typer.Context,
    window: Annotated[str | None, typer.Option(help="Only this window's.")] = None,
    as_json: JsonOpt = False,
    limit: LimitOpt = 50,
    offset: OffsetOpt = 0,
) -> None:
    """The findings you may see."""
    with state(ctx).unit_of_work() as (session, actor):
        page = findings.list_findings(
            session,
            actor=actor,
            limit=limit,
            offset=offset,
            window_id=parse_uuid(window, "WINDOW") if window else None,
        )
        items = [FindingPublic.model_validate(f) for f in page.items]
    print_page(items, page.total, ["id", "domain", "severity", "title"], as_json)
