"""Shared helpers for the format parser tests: where the real public data lives, and small
builders for synthetic documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.shared_data import SHARED_DATA

DATA = SHARED_DATA


def data_dir(*parts: str) -> Path:
    """A folder of the shared public data, or skip the test when the folder is absent."""
    folder = DATA.joinpath(*parts)
    if not folder.is_dir():
        pytest.skip(f"shared public data not present at {folder}")
    return folder


def data_files(*parts: str, pattern: str = "*") -> list[Path]:
    """Files under a shared-data folder, for parametrization; empty when the folder is absent
    (the parametrized test is then collected with no cases, and `data_dir` skips the rest)."""
    folder = DATA.joinpath(*parts)
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.glob(pattern) if path.is_file())


def result(index: int, **extra: Any) -> dict[str, Any]:
    return {"ruleId": f"R{index % 3}", "message": {"text": f"message {index}"}, **extra}


def sarif_log(*runs: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"version": "2.1.0", "runs": list(runs), **top}


def sarif_run(
    results: list[Any] | None = None, name: str = "Scanner", **extra: Any
) -> dict[str, Any]:
    run: dict[str, Any] = {"tool": {"driver": {"name": name, "version": "1.0"}}, **extra}
    if results is not None:
        run["results"] = results
    return run


def dumps(document: Any) -> bytes:
    return json.dumps(document).encode()
