"""The frontier review from the command line, against the issue's CLI contract."""

from __future__ import annotations

import json

import pytest

from tests.unit.cli.test_cli import instance, run  # noqa: F401 - the fixture is used by name

PASSWORD = "an evaluator password of some length"


def ok(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    body = json.loads(out)
    assert isinstance(body, dict)
    return body


@pytest.fixture
def orgs(instance: str, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    for name, kind in (("Northwind", "developer"), ("Treasury", "agency"), ("CISA", "agency")):
        assert run(capsys, "org", "create", name, "--kind", kind)[0] == 0
    for email, org in (("eval@treasury.example", "Treasury"), ("eval@cisa.example", "CISA"),
                       ("eng@northwind.example", "Northwind")):  # fmt: skip
        code, _, err = run(capsys, "user", "create", email, "--org", org, "--password", PASSWORD)
        assert code == 0, err


def register(capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    body = ok(
        capsys, "models", "register", "--org", "Northwind", "--name", "nw", "--version",
        f"v{len(extra)}", "--planned-release", "2027-01-01T00:00:00Z", *extra, "--json",
    )  # fmt: skip
    return str(body["id"])


def test_register_determine_agree_open_and_call_for_a_token(
    orgs: None, capsys: pytest.CaptureFixture[str]
) -> None:
    model = register(capsys, "--training-flop", "2e26")
    shown = ok(capsys, "models", "show", model, "--json")
    # A fact left out is missing, not zero.
    assert shown["training_flop"] == 2e26 and shown["finetune_flop"] is None
    assert shown["parameters"] is None and shown["bio_sequence_data"] is None

    determined = ok(capsys, "determine", model, "--policy", "covered-frontier-model", "--json")
    assert {"outcome", "policy", "policy_version", "trace"} <= set(determined)
    assert determined["outcome"] == "covered"
    assert determined["policy"] == "covered-frontier-model"

    proposed = ok(
        capsys, "agreements", "propose", "--model", model, "--agency", "Treasury",
        "--agency", "CISA", "--days", "30", "--domains", "cyber,chem-bio", "--json",
    )  # fmt: skip
    agreement = str(proposed["id"])
    for who in ("eval@treasury.example", "eval@cisa.example"):
        assert run(capsys, "--as", who, "agreements", "accept", agreement)[0] == 0
    window = ok(capsys, "--as", "eng@northwind.example", "windows", "open", agreement, "--json")
    assert window["state"] == "open"

    listed = ok(capsys, "--as", "eval@cisa.example", "windows", "list", "--json")
    [item] = listed["items"]  # type: ignore[misc]
    assert {"id", "model", "state"} <= set(item) and item["state"] == "open"

    token = ok(capsys, "--as", "eval@treasury.example", "gateway", "token", str(window["id"]),
               "--json")  # fmt: skip
    assert str(token["token"]).startswith("assay_gw_")

    finding = ok(
        capsys, "--as", "eval@treasury.example", "findings", "add", "--window",
        str(window["id"]), "--domain", "cyber", "--severity", "high", "--title", "Exploit help",
        "--description", "Wrote a working exploit chain when asked indirectly.", "--json",
    )  # fmt: skip
    ok(capsys, "--as", "eng@northwind.example", "findings", "respond", str(finding["id"]),
       "--body", "Mitigated in rc2.", "--json")  # fmt: skip
    seen = ok(capsys, "--as", "eng@northwind.example", "findings", "list", "--json")
    assert seen["total"] == 1
    assert seen["items"][0]["responses"][0]["body"] == "Mitigated in rc2."  # type: ignore[index]


def test_more_than_30_days_exits_non_zero_and_writes_nothing(
    orgs: None, capsys: pytest.CaptureFixture[str]
) -> None:
    model = register(capsys, "--training-flop", "2e26")
    code, out, err = run(
        capsys, "agreements", "propose", "--model", model, "--agency", "Treasury", "--days",
        "31", "--domains", "cyber", "--json",
    )  # fmt: skip
    assert code != 0 and out == ""
    assert "30" in err
    assert ok(capsys, "agreements", "list", "--json")["total"] == 0


def test_bad_input_is_one_clear_line_and_writes_nothing(
    orgs: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "models", "register", "--org", "Northwind", "--name", "n", "--version", "1",
        "--planned-release", "2027-01-01T00:00:00",
    )  # fmt: skip
    assert code == 1 and "timezone" in err and err.count("\n") == 1
    code, _, err = run(
        capsys, "models", "register", "--org", "Northwind", "--name", "n", "--version", "1",
        "--planned-release", "2027-01-01T00:00:00Z", "--endpoint-url", "ftp://models.example",
    )  # fmt: skip
    assert code == 1 and "http" in err
    assert ok(capsys, "models", "list", "--json")["total"] == 0
    model = register(capsys)
    code, _, err = run(capsys, "determine", model, "--policy", "no-such-policy", "--json")
    assert code == 1 and "no policy named 'no-such-policy'" in err


def test_policies_are_listed_default_first_and_shown_with_citations(
    orgs: None, capsys: pytest.CaptureFixture[str]
) -> None:
    listed = ok(capsys, "policies", "list", "--json")
    names = [p["name"] for p in listed["items"]]  # type: ignore[attr-defined]
    assert names[0] == "covered-frontier-model"
    assert {"eo-14110", "ca-sb-53", "ny-raise", "eu-ai-act-gpai-systemic"} <= set(names)
    code, out, _ = run(capsys, "policies", "show", "eu-ai-act-gpai-systemic")
    assert code == 0 and "citation" in out and "Annex XIII" in out


def test_the_api_key_comes_from_the_environment_and_is_never_printed(
    orgs: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NW_KEY", "sk-very-secret-value-123")
    model = register(capsys, "--endpoint-url", "http://127.0.0.1:9/v1", "--api-key-env", "NW_KEY")
    code, out, err = run(capsys, "models", "show", model, "--json")
    assert code == 0 and "sk-very-secret-value-123" not in out + err
    assert json.loads(out)["has_api_key"] is True
