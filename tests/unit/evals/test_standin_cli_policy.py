"""``assay standin serve --policy``: echo by default, the suites policy on request."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from assay.cli import standin as standin_cli
from assay.evals.standin_policy import respond
from assay.frontier import standin
from assay.frontier.standin import StandinConfig

KEY = "sk-standin-cli-policy-0b3f"


def _serve(monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[StandinConfig, str]:
    served: list[StandinConfig] = []
    monkeypatch.setattr(standin, "serve_standin", lambda host, port, config: served.append(config))
    result = CliRunner().invoke(
        standin_cli.app, ["serve", *args], env={"ASSAY_STANDIN_API_KEY": KEY}
    )
    assert result.exit_code == 0, result.output
    [config] = served
    return config, result.output


def test_the_default_policy_is_the_echo(monkeypatch: pytest.MonkeyPatch) -> None:
    config, output = _serve(monkeypatch)
    assert config.responder is None
    assert "NOT A MODEL" in output and "'echo' policy" in output


def test_the_suites_policy_is_the_scripted_responder(monkeypatch: pytest.MonkeyPatch) -> None:
    config, output = _serve(monkeypatch, "--policy", "suites")
    assert config.responder is respond
    assert "NOT A MODEL" in output and "'suites' policy" in output


def test_an_unknown_policy_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    result = CliRunner().invoke(
        standin_cli.app, ["serve", "--policy", "oracle"], env={"ASSAY_STANDIN_API_KEY": KEY}
    )
    assert result.exit_code == 2
