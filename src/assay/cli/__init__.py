"""The command line: one Typer application that mounts each domain's commands."""
