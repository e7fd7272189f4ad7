"""``assay standin serve``: run the stand-in model server (an OpenAI-compatible test double,
not a model) for the demo and for trying the gateway by hand."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

app = typer.Typer(
    help="The stand-in model server: an OpenAI-compatible test double. It is not a model.",
    no_args_is_help=True,
)


class Policy(StrEnum):
    """How the stand-in makes its replies."""

    ECHO = "echo"
    """Report the length of the last user message (the default)."""
    SUITES = "suites"
    """A scripted, partly correct policy for the built-in suites (assay.evals.standin_policy)."""


@app.callback()
def standin() -> None:
    """The stand-in model server: an OpenAI-compatible test double. It is not a model."""
    # A callback keeps `serve` a subcommand even while it is the only one.


@app.command("serve")
def serve(
    api_key: Annotated[
        str,
        typer.Option(
            "--api-key",
            envvar="ASSAY_STANDIN_API_KEY",
            help="The Bearer key clients must send (or ASSAY_STANDIN_API_KEY).",
            show_envvar=False,
        ),
    ],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=0, max=65535)] = 8100,
    model: Annotated[str, typer.Option(help="The model id it answers as.")] = "assay-stand-in",
    policy: Annotated[
        Policy,
        typer.Option(
            help="echo: report what it received. suites: a scripted, partly correct policy "
            "for the built-in suites (assay/vuln_detect, assay/cyber_misuse, assay/ctf_local), "
            "so that demo scores are not trivial; still not a model."
        ),
    ] = Policy.ECHO,
) -> None:
    """Serve the stand-in until Ctrl-C. Its replies are fixed text, not model output."""
    from assay.frontier.standin import StandinConfig, serve_standin

    if not api_key.strip():
        raise typer.BadParameter("must not be empty", param_hint="--api-key")
    config = StandinConfig(api_key=api_key.strip(), model=model)
    if policy is Policy.SUITES:
        from assay.evals.standin_policy import suites_responder

        config.responder = suites_responder()
    typer.echo(
        f"Assay stand-in (NOT A MODEL) answering as {model!r} at http://{host}:{port}/v1"
        f" with the {policy.value!r} policy  (Ctrl-C stops it)"
    )
    serve_standin(host, port, config)
