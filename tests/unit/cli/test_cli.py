"""The CLI: init, acting as a user, one-line errors, exit codes, JSON lists, audit verify."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import update

from assay.cli.main import main
from assay.core.audit import AuditEvent
from assay.core.db import Database

ADMIN_PASSWORD = "an admin password of some length"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def instance(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fresh_database_url: str) -> str:
    """An initialized instance in a fresh data dir and database; returns the database URL."""
    monkeypatch.setenv("ASSAY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ASSAY_DATABASE_URL", fresh_database_url)
    monkeypatch.setenv("ASSAY_ADMIN_PASSWORD", ADMIN_PASSWORD)
    monkeypatch.delenv("ASSAY_CONFIG_FILE", raising=False)
    try:
        main(["init", "--admin-email", "root@example.org"])
    except SystemExit as exc:
        assert not exc.code
    return fresh_database_url


def test_init_makes_a_private_key_and_an_admin(
    instance: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "data" / "secret.key"
    assert key.stat().st_mode & 0o777 == 0o600
    code, out, _ = run(capsys, "user", "list", "--json")
    assert code == 0
    body = json.loads(out)
    assert body["total"] == 1 and body["items"][0]["email"] == "root@example.org"
    code, out, _ = run(capsys, "init")
    assert code == 0 and "already initialized" in out


def test_commands_refuse_without_a_secret_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ASSAY_DATA_DIR", str(tmp_path / "empty"))
    code, _, err = run(capsys, "org", "list")
    assert code == 1
    assert err.startswith("assay: error: ASSAY_SECRET_KEY") and err.count("\n") == 1
    assert "Traceback" not in err


def test_bad_argument_exits_2_with_one_line(
    instance: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "org", "list", "--limit", "zero")
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    code, _, err = run(capsys, "org", "create", "X", "--kind", "pirate")
    assert code == 2 and err.startswith("assay: error:")


def test_acting_as_another_user_applies_authorization(
    instance: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "org", "create", "Riverside Water", "--kind", "operator", "--json")
    assert code == 0
    org_id = json.loads(out)["id"]
    code, _, _ = run(
        capsys,
        "user",
        "create",
        "ops@riverside.example",
        "--org",
        org_id,
        "--role",
        "member",
        "--password",
        "a long enough password",
    )
    assert code == 0
    code, out, _ = run(capsys, "--as", "ops@riverside.example", "org", "list", "--json")
    assert code == 0
    assert [o["name"] for o in json.loads(out)["items"]] == ["Riverside Water"]
    code, _, err = run(
        capsys, "--as", "ops@riverside.example", "org", "create", "X Co", "--kind", "vendor"
    )
    assert code == 1 and "may not identity:org:create" in err
    code, _, err = run(capsys, "--as", "nobody@example.org", "org", "list")
    assert code == 1 and "no active user" in err


def test_token_is_shown_once_and_listed_without_it(
    instance: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "token", "create", "ci", "--scope", "identity:*", "--json")
    assert code == 0
    token = json.loads(out)["token"]
    code, out, _ = run(capsys, "token", "list", "--json")
    assert code == 0 and token not in out and json.loads(out)["total"] == 1


def _tamper(url: str, **values: object) -> None:
    db = Database.from_url(url)
    with db.transaction() as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(**values))
    db.dispose()


def test_audit_verify_passes_on_an_intact_log(
    instance: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "audit", "verify", "--json")
    assert code == 0
    assert json.loads(out)["ok"] is True and json.loads(out)["checked"] >= 3


def test_audit_verify_names_an_edited_event(
    instance: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _tamper(instance, details={"email": "mallory@example.org"})
    code, _, err = run(capsys, "audit", "verify")
    assert code == 1
    assert "BROKEN at event 2" in err and "edited" in err


def test_audit_verify_names_a_removed_event(
    instance: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = Database.from_url(instance)
    with db.transaction() as session:
        session.query(AuditEvent).filter(AuditEvent.seq == 2).delete()
    db.dispose()
    code, _, err = run(capsys, "audit", "verify")
    assert code == 1 and "BROKEN at event 3" in err and "removed" in err


def test_audit_verify_names_reordered_events(
    instance: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _tamper(instance, seq=-2)
    db = Database.from_url(instance)
    with db.transaction() as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(seq=2))
        session.execute(update(AuditEvent).where(AuditEvent.seq == -2).values(seq=3))
    db.dispose()
    code, _, err = run(capsys, "audit", "verify")
    assert code == 1 and "BROKEN at event 2" in err and "reordered" in err


def test_an_unreachable_database_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ASSAY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ASSAY_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("ASSAY_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    code, _, err = run(capsys, "org", "list")
    assert code == 1
    assert err.startswith("assay: error: database error:") and err.count("\n") == 1
