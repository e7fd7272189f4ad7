"""``assay org|user|token create|list``: thin translations to ``identity.service``."""

from __future__ import annotations

from typing import Annotated

import typer

from assay.cli.context import print_json, print_page, state
from assay.core.authz import OrgKind, Role
from assay.identity import service
from assay.identity.schemas import OrgPublic, TokenIssued, TokenPublic, UserPublic

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
LimitOpt = Annotated[int, typer.Option(help="Page size.", min=1, max=500)]
OffsetOpt = Annotated[int, typer.Option(help="Items to skip.", min=0)]

org_app = typer.Typer(help="Organizations.", no_args_is_help=True)
user_app = typer.Typer(help="Users.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens of the acting user.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(org_app, name="org")
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")


@org_app.command("create")
def org_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The organization's full name.")],
    kind: Annotated[OrgKind, typer.Option(help="What the organization is.")],
    as_json: JsonOpt = False,
) -> None:
    """Register an organization (instance admins only)."""
    st = state(ctx)
    with st.unit_of_work(write=True) as (session, actor):
        org = service.create_organization(
            session, actor=actor, clock=st.runtime().clock, name=name, kind=kind
        )
        out = OrgPublic.model_validate(org)
    print_json(out) if as_json else typer.echo(f"created organization {out.name} ({out.id})")


@org_app.command("list")
def org_list(
    ctx: typer.Context, as_json: JsonOpt = False, limit: LimitOpt = 50, offset: OffsetOpt = 0
) -> None:
    """List the organizations you may see."""
    with state(ctx).unit_of_work() as (session, actor):
        page = service.list_organizations(session, actor=actor, limit=limit, offset=offset)
        items = [OrgPublic.model_validate(o) for o in page.items]
    print_page(items, page.total, ["id", "name", "kind"], as_json)


@user_app.command("create")
def user_create(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="Login e-mail.")],
    org: Annotated[str, typer.Option(help="Organization id or exact name.")],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    role: Annotated[Role, typer.Option(help="Role in the organization.")] = Role.MEMBER,
    password: Annotated[
        str,
        typer.Option(
            envvar="ASSAY_NEW_USER_PASSWORD",
            help="At least 12 characters; or set ASSAY_NEW_USER_PASSWORD.",
        ),
    ] = "",
    as_json: JsonOpt = False,
) -> None:
    """Create a user (org admins, in their own organization)."""
    st = state(ctx)
    if not password:
        raise typer.BadParameter("give --password or set ASSAY_NEW_USER_PASSWORD")
    with st.unit_of_work(write=True) as (session, actor):
        org_id = service.find_organization(session, actor=actor, ref=org).id
        user = service.create_user(
            session,
            actor=actor,
            clock=st.runtime().clock,
            org_id=org_id,
            email=email,
            name=name or email,
            role=role,
            password=password,
        )
        out = UserPublic.model_validate(user)
    print_json(out) if as_json else typer.echo(f"created user {out.email} ({out.id})")


@user_app.command("list")
def user_list(
    ctx: typer.Context, as_json: JsonOpt = False, limit: LimitOpt = 50, offset: OffsetOpt = 0
) -> None:
    """List the users you may see."""
    with state(ctx).unit_of_work() as (session, actor):
        page = service.list_users(session, actor=actor, limit=limit, offset=offset)
        items = [UserPublic.model_validate(u) for u in page.items]
    print_page(items, page.total, ["id", "email", "role", "org_id"], as_json)


@token_app.command("create")
def token_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="What the token is for.")],
    scope: Annotated[
        list[str] | None, typer.Option("--scope", help="Permission pattern; repeat. Default *.")
    ] = None,
    days: Annotated[int, typer.Option(help="Lifetime in days.", min=1, max=366)] = 90,
    as_json: JsonOpt = False,
) -> None:
    """Issue an API token for the acting user. The token is printed this once."""
    st = state(ctx)
    with st.unit_of_work(write=True) as (session, actor):
        issued = service.create_token(
            session,
            actor=actor,
            clock=st.runtime().clock,
            name=name,
            scopes=scope or ["*"],
            expires_in_days=days,
        )
        out = TokenIssued(
            **TokenPublic.model_validate(issued.record).model_dump(), token=issued.token
        )
    if as_json:
        print_json(out)
    else:
        typer.echo(f"token {out.prefix}… expires {out.expires_at:%Y-%m-%d}; shown once:")
        typer.echo(out.token)


@token_app.command("list")
def token_list(
    ctx: typer.Context, as_json: JsonOpt = False, limit: LimitOpt = 50, offset: OffsetOpt = 0
) -> None:
    """List the tokens you may see (never the tokens themselves)."""
    with state(ctx).unit_of_work() as (session, actor):
        page = service.list_tokens(session, actor=actor, limit=limit, offset=offset)
        items = [TokenPublic.model_validate(t) for t in page.items]
    print_page(items, page.total, ["id", "name", "prefix", "expires_at", "revoked_at"], as_json)
