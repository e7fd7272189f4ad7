"""Placeholder: the web UI is being built. Mounts nothing yet."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from assay.runtime import Runtime


def render_error_page(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    return HTMLResponse(f"<h1>{title}</h1><p>{detail}</p>", status_code=status)


def mount(app: FastAPI, runtime: Runtime) -> None:
    return None
