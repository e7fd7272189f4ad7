"""Where the shared public data lives (../shared/data beside the checkout), and a skip when
it is absent, so a checkout without it still runs every other test.

Looked up in order: ``ASSAY_SHARED_DATA``; ``shared/data`` beside the repository; the
workplace's ``/work/shared/data``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parents[1]


def _find() -> Path:
    candidates = [
        os.environ.get("ASSAY_SHARED_DATA"),
        _REPO.parent / "shared" / "data",
        Path("/work/shared/data"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return _REPO.parent / "shared" / "data"


SHARED_DATA = _find()


def shared(*parts: str) -> Path:
    """A file or folder of the shared data, or skip the test, naming what is missing."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared public data not present: {path}")
    return path
