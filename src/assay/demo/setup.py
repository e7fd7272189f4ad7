"""Creating or resetting the demo's data dir, without ever wiping one that is not a demo's."""

from __future__ import annotations

import shutil

from assay.core.config import Settings
from assay.core.errors import Conflict

MARKER = ".assay-demo"


def demo_settings(settings: Settings) -> Settings:
    """The demo runs on the embedded defaults: SQLite and the SQLite queue in its data dir."""
    return settings.model_copy(
        update={"database_url": None, "job_backend": "sqlite", "blob_dir": None, "secret_key": None}
    )


def reset_data_dir(settings: Settings) -> None:
    """Empty the data dir if it is a demo's; refuse if it holds anything else."""
    data_dir = settings.data_dir
    if data_dir.exists() and any(data_dir.iterdir()):
        if not (data_dir / MARKER).is_file():
            raise Conflict(
                f"{data_dir} holds data that is not a demo's; set ASSAY_DATA_DIR to another "
                "folder for the demo"
            )
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / MARKER).write_text("created by `assay demo`; the demo resets this folder\n")
