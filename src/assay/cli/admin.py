"""Instance commands: ``assay init``, ``serve``, ``demo``, ``audit verify``, ``keys rotate``."""

from __future__ import annotations

import os
import secrets
from typing import Annotated

import typer

from assay.cli.context import CliState, console, print_json, state
from assay.core.audit import verify_chain
from assay.core.authz import OrgKind
from assay.core.clock import SystemClock
from assay.core.errors import Conflict
from assay.core.instance import prepare
from assay.core.logging import configure_logging
from assay.identity import service as identity

audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
keys_app = typer.Typer(help="Secrets at rest and key rotation.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("serve")(serve)
    app.add_typer(audit_app, name="audit")
    app.add_typer(keys_app, name="keys")


def init(
    ctx: typer.Context,
    admin_email: Annotated[
        str, typer.Option(help="The instance admin's e-mail.")
    ] = "admin@assay.local",
    org_name: Annotated[
        str, typer.Option(help="The instance admin's organization.")
    ] = "Assay Clearinghouse",
) -> None:
    """Create the data dir, the secret key (mode 0600) and the schema, and the instance admin.

    The admin's password is ASSAY_ADMIN_PASSWORD, or one generated and printed once."""
    st = state(ctx)
    settings = st.settings
    db = prepare(settings)
    typer.echo(f"data dir {settings.data_dir.resolve()}; schema is current")
    password = os.environ.get("ASSAY_ADMIN_PASSWORD") or secrets.token_urlsafe(15)
    try:
        with db.transaction(write=True) as session:
            installation = identity.initialize_instance(
                session,
                clock=SystemClock(),
                org_name=org_name,
                org_kind=OrgKind.CLEARINGHOUSE,
                admin_email=admin_email,
                admin_password=password,
            )
            email = installation.admin.email
    except Conflict:
        typer.echo("the instance is already initialized; nothing else to do")
        return
    finally:
        db.dispose()
    typer.echo(f"instance admin: {email}")
    if "ASSAY_ADMIN_PASSWORD" not in os.environ:
        typer.echo(f"password (shown once): {password}")


def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Address to bind (ASSAY_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (ASSAY_PORT).", min=1, max=65535)] = None,
) -> None:
    """Serve the API and the web UI (and, by default, a job worker in the same process)."""
    st = state(ctx)
    run_server(st, host=host, port=port)


def run_server(st: CliState, *, host: str | None = None, port: int | None = None) -> None:
    import uvicorn

    from assay.api.app import create_app
    from assay.core import migrate
    from assay.core.jobs.worker import EmbeddedWorker

    settings = st.settings
    configure_logging(settings.log_level)
    runtime = st.runtime()
    if not migrate.is_current(runtime.db.engine):
        raise Conflict("the database schema is not current: run `assay init`")
    app = create_app(settings, runtime=runtime)
    worker = EmbeddedWorker(runtime) if settings.embedded_worker else None
    if worker:
        worker.start()
    bind_host, bind_port = host or settings.host, port or settings.port
    console.print(f"Assay is serving at http://{bind_host}:{bind_port}  (Ctrl-C stops it)")
    try:
        uvicorn.run(app, host=bind_host, port=bind_port, log_config=None, access_log=False)
    finally:
        if worker:
            worker.stop()


@keys_app.command("rotate")
def keys_rotate(ctx: typer.Context) -> None:
    """Re-encrypt every stored secret under the current ASSAY_SECRET_KEY (instance admins).

    Run it after moving the old key to ASSAY_PREVIOUS_SECRET_KEYS; then drop the old key."""
    from assay.core.keys import rotate_secrets
    from assay.domains import encrypted_columns

    st = state(ctx)
    runtime = st.runtime()
    with st.unit_of_work(write=True) as (session, actor):
        count = rotate_secrets(
            session, actor=actor, clock=runtime.clock, box=runtime.box, columns=encrypted_columns()
        )
    typer.echo(f"re-encrypted {count} secret(s) under the current key")


@audit_app.command("verify")
def audit_verify(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """Check the audit log's hash chain; exit 1 and name the first bad event if it is broken."""
    with state(ctx).unit_of_work() as (session, actor):
        result = verify_chain(session, actor=actor)
    if as_json:
        print_json(
            {
                "ok": result.ok,
                "checked": result.checked,
                "first_bad_seq": result.first_bad_seq,
                "first_bad_id": result.first_bad_id,
                "reason": result.reason,
            }
        )
    elif result.ok:
        typer.echo(f"audit log intact: {result.checked} events verified")
    else:
        typer.echo(
            f"audit log BROKEN at event {result.first_bad_seq} "
            f"({result.first_bad_id or 'missing'}): {result.reason}",
            err=True,
        )
    if not result.ok:
        raise typer.Exit(1)
