"""The ``assay`` command.

Errors print one line (``assay: error: ...``) and exit non-zero, never with a traceback;
a bad argument exits with 2.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError
from typer.exceptions import TyperException

from assay.cli import admin, clearinghouse, demo, evals, frontier, identity, jobs, standin
from assay.cli.context import state
from assay.core.errors import AssayError

app = typer.Typer(
    name="assay",
    help="Assay: pre-release review of frontier AI models and an AI cybersecurity clearinghouse.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    as_email: Annotated[
        str | None,
        typer.Option("--as", help="Act as this user (default: the instance admin)."),
    ] = None,
) -> None:
    """Assay's command line. Settings come from ASSAY_* variables (docs/configuration.md)."""
    st = state(ctx)
    st.as_email = as_email
    ctx.call_on_close(st.close)


admin.register(app)
app.command("demo")(demo.demo)
identity.register(app)
jobs.register(app)
frontier.register(app)
evals.register(app)
clearinghouse.register(app)
clearinghouse.register_reference(app)
app.add_typer(
    standin.app,
    name="standin",
    help="The stand-in model server (not a model), for tests and the demo.",
)


def _fail(message: str, code: int) -> None:
    sys.stderr.write(f"assay: error: {message}\n")
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script."""
    try:
        result = app(args=argv, standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        _fail("aborted", 1)
    except TyperException as exc:
        # Typer vendors click; its usage errors carry click's exit_code (2) and message.
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        if type(exc).__name__ == "NoArgsIsHelpError":
            sys.stdout.write(message + "\n")
            sys.exit(0)
        _fail(message.strip().splitlines()[0] if message.strip() else "bad usage", 2)
    except AssayError as exc:
        _fail(exc.detail, 1)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except OSError as exc:
        _fail(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), 1)
    except SQLAlchemyError as exc:
        reason = str(exc.orig if hasattr(exc, "orig") else exc).strip().splitlines()[0]
        _fail(f"database error: {reason}", 1)
    except Exception as exc:  # a bug: one line for the user; the traceback only on request
        if os.environ.get("ASSAY_LOG_LEVEL", "").upper() == "DEBUG":
            traceback.print_exc()
        _fail(f"internal error ({type(exc).__name__}: {exc}); ASSAY_LOG_LEVEL=DEBUG shows more", 1)
    # With standalone_mode off, click returns the exit code of typer.Exit instead of exiting.
    if isinstance(result, int) and result != 0:
        sys.exit(result)


if __name__ == "__main__":
    main()
