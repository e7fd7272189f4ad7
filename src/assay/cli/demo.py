"""``assay demo``: a fresh instance with the order's organizations, its main job, and the UI."""

from __future__ import annotations

import os
import secrets
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer

from assay.cli.admin import run_server
from assay.cli.context import CliState, console, state
from assay.core.instance import prepare
from assay.demo import seed as demo_seed
from assay.demo.setup import demo_settings, reset_data_dir
from assay.frontier.standin import StandinConfig, StandinServer
from assay.runtime import Runtime

JOB_DEADLINE_SECONDS = 120


def demo(
    ctx: typer.Context,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Set everything up, run the job, and exit.")
    ] = False,
    model_url: Annotated[
        str | None,
        typer.Option(
            help="A real OpenAI-compatible base URL to review instead of the stand-in; its key "
            "is read from ASSAY_DEMO_MODEL_API_KEY."
        ),
    ] = None,
    model_name: Annotated[
        str, typer.Option(help="The model name that --model-url expects.")
    ] = "assay-stand-in",
) -> None:
    """Create or reset the demo data dir, seed the order's organizations, run the main job,
    walk a pre-release review through the gateway, and serve the UI at
    http://127.0.0.1:8000."""
    st = state(ctx)
    settings = demo_settings(st.settings)
    if st.settings.database_url:
        console.print("note: the demo uses its own SQLite database, not ASSAY_DATABASE_URL")
    reset_data_dir(settings)
    prepare(settings).dispose()
    runtime = Runtime.build(settings)
    with runtime.db.transaction(write=True) as session:
        creds = demo_seed.seed(session, clock=runtime.clock)
    _show_credentials(creds, settings.data_dir / "demo-credentials.txt")
    _run_main_job(runtime)
    with ExitStack() as stack:
        if model_url is None:
            key = secrets.token_urlsafe(24)
            from assay.evals.standin_policy import suites_responder

            # Scripted, partly right answers for the built-in suites, so that the demo's
            # scores are not all 0 or 1; still not a model, and the report says so.
            server = stack.enter_context(
                StandinServer(StandinConfig(api_key=key, responder=suites_responder()))
            )
            url, stand_in = server.base_url, True
        else:
            key = os.environ.get("ASSAY_DEMO_MODEL_API_KEY", "not-needed")
            url, stand_in = model_url, False
        window_id = _run_review(runtime, url=url, name=model_name, key=key, stand_in=stand_in)
        _run_evals(runtime, window_id)
        _run_intake(runtime)
        if no_serve:
            runtime.db.dispose()
            console.print("demo ready; `assay serve` (with the same ASSAY_DATA_DIR) serves it")
            return
        # The stand-in keeps running while the UI is served, so the gateway can reach it.
        run_server(CliState(as_email=st.as_email, _settings=settings, _runtime=runtime))


def _run_intake(runtime: Runtime) -> None:
    from assay.demo.intake import run_intake

    result = run_intake(runtime)
    typer.echo("Clearinghouse intake (real SARIF and OSV files, duplicates collapsed on arrival):")
    for item in result.intakes:
        out = item.out
        typer.echo(
            f"  {item.file:<58} {out.findings:>3} findings, {out.new:>3} new, "
            f"{out.duplicates:>3} duplicates  ({item.who})"
        )
    if result.kev_loaded is not None:
        typer.echo(f"  KEV catalog loaded: {result.kev_loaded} entries")
    typer.echo(f"Triage queue (top {len(result.queue)} of {result.total}):")
    for v in result.queue:
        ssvc = v.ssvc_decision or "-"
        cvss = "-" if v.cvss_score is None else f"{v.cvss_score:.1f}"
        typer.echo(f"  {v.id}  {v.status.value:<8} SSVC {ssvc:<7} CVSS {cvss:<4} {v.title[:60]}")


def _run_review(runtime: Runtime, *, url: str, name: str, key: str, stand_in: bool) -> str:
    from assay.demo.review import run_review

    result = run_review(runtime, model_url=url, model_name=name, api_key=key, stand_in=stand_in)
    typer.echo("Pre-release review (a record; nothing here approves or blocks a release):")
    typer.echo(
        f"  model        northwind-frontier 1.0-rc1 ({result.model_id}), {result.model_label}"
    )
    typer.echo(f"  determined   {result.outcome} under {result.policy} v{result.policy_version}")
    typer.echo(f"  agreement    {result.agreement_id}, active with Treasury and DHS/CISA")
    typer.echo(f"  window       {result.window_id}: {result.window_state} until {result.closes_at}")
    typer.echo(f"  gateway call status {result.gateway_status}: {result.reply[:100]}")
    typer.echo(f"  metered      {result.metered}")
    if result.gateway_status != 200 or result.outcome != "covered":
        raise typer.Exit(1)
    return result.window_id


def _run_evals(runtime: Runtime, window_id: str) -> None:
    from assay.demo.evals import run_evals
    from assay.demo.review import AGENCY_EMAILS

    typer.echo("Evaluations in the window (Inspect, through the gateway; a record, not a verdict):")
    result = run_evals(runtime, window_id=window_id, agency_email=AGENCY_EMAILS[0])
    typer.echo(f"  run          {result.run_id}: {result.state}, {result.samples} samples")
    for score in result.scores:
        stderr = "" if score.stderr is None else f" ± {score.stderr:.3f}"
        typer.echo(f"  {score.task:<20} {score.metric:<22} {score.value:.3f}{stderr}")
    typer.echo(f"  finding      {result.finding_id} recorded by Treasury")
    for path in result.reports:
        typer.echo(f"  report       {path}")
    if result.state != "succeeded":
        raise typer.Exit(1)


def _show_credentials(creds: list[demo_seed.Credential], path: Path) -> None:
    # Plain lines, not a table: a narrow terminal or a pipe must never truncate a password.
    typer.echo("Demo users (e-mail, password, role, organization):")
    for c in creds:
        typer.echo(f"  {c.email:<34} {c.password:<18} {c.role:<17} {c.org} ({c.kind})")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.writelines(f"{c.email}\t{c.password}\t{c.role}\t{c.org}\n" for c in creds)
    console.print(f"(also written to {path}, readable only by you)")


def _run_main_job(runtime: Runtime) -> None:
    """Run the audit-chain verification through the real queue and an in-process worker."""
    from assay.core.jobs import service as jobs
    from assay.core.jobs.worker import EmbeddedWorker
    from assay.domains import load_job_handlers
    from assay.identity import service as identity

    load_job_handlers()
    worker = EmbeddedWorker(runtime)
    with runtime.db.transaction(write=True) as session:
        admin = identity.actor_for(identity.instance_admin(session))
        job = jobs.enqueue_job(
            session,
            actor=admin,
            clock=runtime.clock,
            queue=worker.queue,
            kind="core.audit_verify",
            params={},
        )
        job_id = job.id
    worker.start()
    status, result = "queued", None
    try:
        deadline = time.monotonic() + JOB_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            with runtime.db.transaction() as session:
                current = jobs.get_job(session, actor=admin, job_id=job_id)
                status, result = current.status.value, current.result
            if status in {"succeeded", "failed", "cancelled"}:
                break
            time.sleep(0.2)
    finally:
        worker.stop()
    console.print(f"main job core.audit_verify: {status} {result or ''}")
    if status != "succeeded":
        raise typer.Exit(1)
