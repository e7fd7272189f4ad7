"""The two-command promise: `assay demo --no-serve` on a fresh dir, and `assay serve`."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ASSAY = [sys.executable, "-m", "assay.cli.main"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSAY_")}
    env.update(extra)
    return env


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ASSAY, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180, check=False
    )


def test_demo_sets_up_a_fresh_dir_runs_the_job_and_can_run_again(tmp_path: Path) -> None:
    env = _env()
    first = _run(["demo", "--no-serve"], tmp_path, env)
    assert first.returncode == 0, first.stderr
    assert "core.audit_verify: succeeded" in first.stdout
    data = tmp_path / "assay-data"
    creds = (data / "demo-credentials.txt").read_text().splitlines()
    assert (data / "demo-credentials.txt").stat().st_mode & 0o777 == 0o600
    emails = {line.split("\t")[0] for line in creds}
    for line in creds:  # every credential is printed whole, never truncated
        email, password = line.split("\t")[:2]
        assert email in first.stdout and password in first.stdout
    assert {
        "admin@clearinghouse.demo",
        "evaluator@treasury.demo",
        "admin@northwind-ai.demo",
        "engineer@riverside-water.demo",
        "maintainer@openparsers.demo",
    } <= emails
    listed = _run(["org", "list", "--json"], tmp_path, env)
    kinds = sorted(o["kind"] for o in json.loads(listed.stdout)["items"])
    assert kinds.count("agency") == 4 and kinds.count("developer") == 2
    assert kinds.count("vendor") == 2 and kinds.count("operator") == 2
    assert kinds.count("clearinghouse") == 1 and kinds.count("reporter") == 1
    # The pre-release review ran end to end through the gateway, against the stand-in.
    assert "determined   covered under covered-frontier-model" in first.stdout
    assert "gateway call status 200" in first.stdout and "Stand-in (not a model)" in first.stdout
    # The clearinghouse took in the real files and collapsed the subset into the full report.
    subset = next(line for line in first.stdout.splitlines() if "bash-report-subset" in line)
    assert "0 new" in subset and "4 duplicates" in subset
    assert "Triage queue (top 10 of " in first.stdout
    windows = json.loads(_run(["windows", "list", "--json"], tmp_path, env).stdout)
    assert windows["items"][0]["state"] == "open"
    queue = json.loads(_run(["vulns", "list", "--json"], tmp_path, env).stdout)
    assert queue["total"] >= 10 and all(i["id"].startswith("ASSAY-") for i in queue["items"])
    again = _run(["demo", "--no-serve"], tmp_path, env)
    assert again.returncode == 0, again.stderr
    assert (data / "demo-credentials.txt").read_text() != "\n".join(creds) + "\n"


def test_demo_refuses_to_wipe_a_dir_that_is_not_a_demo(tmp_path: Path) -> None:
    data = tmp_path / "precious"
    data.mkdir()
    (data / "keep.txt").write_text("real data")
    result = _run(["demo", "--no-serve"], tmp_path, _env(ASSAY_DATA_DIR=str(data)))
    assert result.returncode == 1
    assert "not a demo" in result.stderr and result.stderr.count("\n") == 1
    assert (data / "keep.txt").read_text() == "real data"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_health_and_readiness(tmp_path: Path, fresh_database_url: str) -> None:
    env = _env(
        ASSAY_DATA_DIR=str(tmp_path / "data"),
        ASSAY_DATABASE_URL=fresh_database_url,
        ASSAY_ADMIN_PASSWORD="a long admin password",
    )
    assert _run(["init"], tmp_path, env).returncode == 0
    port = _free_port()
    server = subprocess.Popen(
        [*ASSAY, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        body = None
        while time.monotonic() < deadline and body is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    body = json.loads(r.read())
            except OSError:
                time.sleep(0.2)
        assert body is not None and body["status"] == "ready"
    finally:
        server.send_signal(signal.SIGINT)
        try:
            _, err = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            _, err = server.communicate()
    assert server.returncode in (0, -signal.SIGINT), err
