"""The built-in suites' metadata registry, which the report's "methods per suite" reads."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from assay.evals.suites import SUITES
from assay.frontier.models import Domain


def test_every_built_in_task_is_described() -> None:
    pytest.importorskip("inspect_ai")
    import assay.evals._registry as registry

    names = {f"assay/{name}" for name in registry.__all__}
    assert set(SUITES) == names == {"assay/vuln_detect", "assay/cyber_misuse", "assay/ctf_local"}


@pytest.mark.parametrize("name", sorted(SUITES))
def test_a_suite_has_a_domain_a_method_and_a_readme(name: str) -> None:
    info = SUITES[name]
    assert info.name == name
    assert info.domain in {d.value for d in Domain}
    assert info.domain == "cyber"
    assert info.title and 200 < len(info.method) < 1200
    readme = info.readme.read_text(encoding="utf-8")
    assert readme.startswith(f"# `{name}`")
    for heading in ("## How it is scored", "## Limits", "## Running it"):
        assert heading in readme, (name, heading)
    flat = re.sub(r"[-_*`\s]+", " ", readme.lower())
    for metric in info.metrics:
        assert metric.replace("_", " ") in flat, metric


def test_the_registry_and_the_stand_in_policy_do_not_load_inspect() -> None:
    # `assay standin serve` and the report import these; Inspect is heavy and not needed.
    code = (
        "import sys, assay.evals.suites, assay.evals.standin_policy;"
        "sys.exit('inspect_ai' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False, timeout=60).returncode == 0
