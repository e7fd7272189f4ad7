"""What Inspect imports to find Assay's suites by name (``assay/vuln_detect``).

Inspect loads the ``inspect_ai`` entry point named after a task name's package when it
resolves that name, so ``pyproject.toml`` should declare::

    [project.entry-points.inspect_ai]
    assay = "assay.evals._registry"

Importing a task module runs its ``@task`` decorator, which registers the task under the
installed package's name: ``assay/<function name>``. This module imports inspect_ai.
"""

from assay.evals.suites.ctf_local.task import ctf_local
from assay.evals.suites.cyber_misuse.task import cyber_misuse
from assay.evals.suites.vuln_detect.task import vuln_detect

__all__ = ["ctf_local", "cyber_misuse", "vuln_detect"]
