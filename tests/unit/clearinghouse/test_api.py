"""Every clearinghouse endpoint over HTTP: one allowed caller and one refused caller each,
uploads of real files (multipart SARIF, a raw OSV body), rejections, TLP, and triage."""

from __future__ import annotations

import gc
import json
import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from assay.api.app import create_app
from assay.clearinghouse.models import ReportedFinding, Vulnerability
from assay.core import migrate
from assay.core.authz import OrgKind, Role
from assay.core.blobs import MemoryBlobStore
from assay.core.clock import FrozenClock
from assay.core.config import Settings
from assay.core.db import Database
from assay.domains import load_models
from assay.identity.models import User
from assay.runtime import Runtime
from tests.conftest import PG_URL_ENV, T0, TEST_SECRET
from tests.factories import actor, bearer, make_org, make_user
from tests.unit.clearinghouse.conftest import OSV, SARIF, Submit, need

PROBLEM = "application/problem+json"
UNCLOSED_UPLOAD = "Unclosed file <tempfile.SpooledTemporaryFile"


@dataclass
class World:
    session: Session
    headers: dict[str, dict[str, str]]
    ids: dict[str, str]


def _users(session: Session, clock: FrozenClock) -> dict[str, User]:
    def member(kind: OrgKind) -> User:
        return make_user(session, clock, make_org(session, clock, kind), Role.MEMBER)

    return {
        "reporter": member(OrgKind.REPORTER),
        "other": member(OrgKind.OPERATOR),
        "analyst": member(OrgKind.CLEARINGHOUSE),
        "vendor": member(OrgKind.VENDOR),
    }


@pytest.fixture
def world(session: Session, clock: FrozenClock, submit: Submit) -> World:
    """The reporter sent njsscan and dockle; another reporter sent njsscan too (so each
    njsscan vulnerability holds two findings) and an OSV record only it knows."""
    users = _users(session, clock)
    session.commit()
    reporter, other = actor(users["reporter"]), actor(users["other"])
    mine = submit(reporter, need(SARIF / "njsscan.sarif")).vulnerabilities
    dockle = submit(reporter, need(SARIF / "dockle_0_3_15.sarif")).vulnerabilities
    submit(other, need(SARIF / "njsscan.sarif"))
    theirs = submit(other, need(OSV / "aiohttp" / "PYSEC-2021-76.yaml")).vulnerabilities
    session.expire_all()
    # The reporter's finding in its first njsscan vulnerability, which holds two findings.
    finding = session.scalars(
        select(ReportedFinding)
        .join(Vulnerability, Vulnerability.id == ReportedFinding.vulnerability_id)
        .where(ReportedFinding.org_id == reporter.org_id, Vulnerability.public_id == mine[0])
    ).one()
    headers = {name: bearer(session, clock, user) for name, user in users.items()}
    headers["anonymous"] = {}
    ids = {
        "mine": mine[0], "mine2": mine[1], "dockle": dockle[0], "theirs": theirs[0],
        "finding": str(finding.id), "shared": str(finding.vulnerability_id),
    }  # fmt: skip
    return World(session=session, headers=headers, ids=ids)


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """An RFC 9457 problem document with the response's status."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["instance"] == response.request.url.path
    assert body["type"].startswith("https://") and body["title"] and body["detail"]
    return body


Request = Callable[[TestClient, World, str], httpx.Response]


def call(method: str, path: str, body: Callable[[World], dict[str, Any]] | None = None) -> Request:
    def run(client: TestClient, w: World, who: str) -> httpx.Response:
        return client.request(
            method, path.format(**w.ids), headers=w.headers[who], json=body(w) if body else None
        )

    return run


def upload(name: str) -> Request:
    def run(client: TestClient, w: World, who: str) -> httpx.Response:
        path = need(SARIF / name)
        files = {"file": (path.name, path.read_bytes(), "application/sarif+json")}
        return client.post("/api/intake", headers=w.headers[who], files=files)

    return run


SSVC_ACT = {"exploitation": "active", "automatable": "yes", "technical_impact": "total",
            "mission_impact": "high"}  # fmt: skip

# (name, request, allowed caller and status, refused caller and status); refusals first
CASES: list[tuple[str, Request, tuple[str, int], tuple[str, int]]] = [
    ("intake", upload("njsscan.sarif"), ("reporter", 201), ("vendor", 403)),
    ("intake needs a token", upload("njsscan.sarif"), ("other", 201), ("anonymous", 401)),
    ("list submissions", call("GET", "/api/submissions"), ("reporter", 200), ("anonymous", 401)),
    ("list vulnerabilities", call("GET", "/api/vulnerabilities"), ("vendor", 200),
        ("anonymous", 401)),
    ("get own vulnerability", call("GET", "/api/vulnerabilities/{mine}"), ("reporter", 200),
        ("vendor", 404)),
    ("get another's vulnerability", call("GET", "/api/vulnerabilities/{theirs}"),
        ("analyst", 200), ("reporter", 404)),
    ("get by uuid", call("GET", "/api/vulnerabilities/{shared}"), ("other", 200),  # = mine
        ("vendor", 404)),
    ("triage", call("PATCH", "/api/vulnerabilities/{mine}", lambda w: {"status": "triaged"}),
        ("analyst", 200), ("reporter", 403)),
    ("triage what one cannot see", call("PATCH", "/api/vulnerabilities/{theirs}",
        lambda w: {"status": "invalid"}), ("analyst", 200), ("reporter", 404)),
    ("merge", call("POST", "/api/vulnerabilities/merge", lambda w: {
        "into": w.ids["mine"], "other": w.ids["dockle"], "reason": "same root cause"}),
        ("analyst", 200), ("reporter", 403)),
    ("split", call("POST", "/api/vulnerabilities/split", lambda w: {
        "finding": w.ids["finding"], "reason": "a different sink"}),
        ("analyst", 200), ("reporter", 403)),
]  # fmt: skip


def test_allow_and_deny(client: TestClient, world: World) -> None:
    """The cases run in order on one world (the writes come last and do not disturb each
    other): one set-up instead of one a case keeps the file fast."""
    for name, request_, allowed, refused in CASES:
        who, status = refused
        response = request_(client, world, who)
        assert response.status_code == status, (name, who, response.text)
        assert_problem(response, status)
        who, status = allowed
        response = request_(client, world, who)
        assert response.status_code == status, (name, who, response.text)
        assert response.headers["content-type"] == "application/json", name


def total(client: TestClient, headers: dict[str, str], path: str = "/api/vulnerabilities") -> int:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    found: int = response.json()["total"]
    return found


def test_lists_show_each_caller_what_it_may_see(client: TestClient, world: World) -> None:
    h, ids = world.headers, world.ids
    assert total(client, h["vendor"]) == 0
    assert total(client, h["vendor"], "/api/submissions") == 0
    mine = {v["id"] for v in client.get("/api/vulnerabilities", headers=h["reporter"]).json()[
        "items"]}  # fmt: skip
    assert {ids["mine"], ids["mine2"], ids["dockle"]} <= mine and ids["theirs"] not in mine
    everything = client.get("/api/vulnerabilities?limit=500", headers=h["analyst"]).json()
    assert {ids["mine"], ids["dockle"], ids["theirs"]} <= {v["id"] for v in everything["items"]}
    assert total(client, h["reporter"], "/api/submissions") == 2
    assert total(client, h["analyst"], "/api/submissions") == 4
    unknown = client.get("/api/vulnerabilities/ASSAY-2099-99999", headers=h["analyst"])
    assert_problem(unknown, 404)


def test_a_reporter_sees_only_its_own_findings_of_a_shared_vulnerability(
    client: TestClient, world: World
) -> None:
    path = f"/api/vulnerabilities/{world.ids['mine']}"
    analyst = client.get(path, headers=world.headers["analyst"]).json()
    assert len(analyst["cluster"]) == 2 and analyst["reporters"] == 2
    assert analyst["reporter_history"]  # track records are for analysts
    reporter = client.get(path, headers=world.headers["reporter"]).json()
    [own] = reporter["cluster"]
    assert own["id"] in {f["id"] for f in analyst["cluster"]}
    assert reporter["reporter_history"] == {}
    assert sorted((f["level"], f["reason"]) for f in analyst["cluster"]) == [
        ("exact", "same code at the same place (repository, path, rule; lines may differ)"),
        ("new", "first report"),
    ]


def test_a_real_sarif_file_is_uploaded_as_multipart_with_its_declarations(
    client: TestClient, world: World
) -> None:
    path = need(SARIF / "bash-report.sarif")
    h = world.headers["reporter"]
    before = total(client, world.headers["analyst"])
    response = client.post(
        "/api/intake",
        headers=h,
        files={"file": (path.name, path.read_bytes(), "application/sarif+json")},
        data={"tlp": "GREEN", "discovery_method": "automated", "discovery_tool": "shellcheck"},
    )
    assert response.status_code == 201, response.text
    out = response.json()
    assert out["format"] == "sarif" and out["findings"] == 27
    assert out["new"] + out["duplicates"] == out["findings"]
    assert out["vulnerabilities"] and all(
        v.startswith("ASSAY-2026-") for v in out["vulnerabilities"]
    )
    assert total(client, world.headers["analyst"]) == before + len(out["vulnerabilities"])
    [stored] = [
        s for s in client.get("/api/submissions", headers=h).json()["items"]
        if s["id"] == out["submission"]
    ]  # fmt: skip
    assert stored["status"] == "accepted" and stored["source_name"] == "bash-report.sarif"
    assert (stored["tlp"], stored["discovery_method"], stored["discovery_tool"]) == (
        "GREEN", "automated", "shellcheck")  # fmt: skip
    assert stored["blob_sha256"] and stored["size"] == path.stat().st_size
    detail = client.get(f"/api/vulnerabilities/{out['vulnerabilities'][0]}", headers=h).json()
    assert {f["tlp"] for f in detail["cluster"]} == {"GREEN"}


def test_a_multipart_upload_is_closed(client: TestClient, world: World) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        response = upload("njsscan.sarif")(client, world, "reporter")
        assert response.status_code == 201, response.text
        del response
        gc.collect()
    assert [str(w.message) for w in caught if UNCLOSED_UPLOAD in str(w.message)] == []


def test_a_real_osv_record_is_taken_in_as_a_raw_json_body(client: TestClient, world: World) -> None:
    source = need(OSV / "aiohttp" / "PYSEC-2021-76.yaml")
    record = yaml.safe_load(source.read_text())
    record["id"] = "GHSA-v6wp-4m6f-gcjg"  # the same advisory under its GHSA id
    record["aliases"] = ["PYSEC-2021-76", "CVE-2021-21330"]
    body = json.dumps(record, default=str).encode()
    response = client.post(
        "/api/intake",
        headers={**world.headers["reporter"], "content-type": "application/json"},
        params={"tlp": "CLEAR", "discovery_method": "human", "name": "GHSA-v6wp-4m6f-gcjg.json"},
        content=body,
    )
    assert response.status_code == 201, response.text
    out = response.json()
    assert out["format"] == "osv" and out["findings"] == 1
    # It names the other reporter's PYSEC id, so it joins that vulnerability by alias.
    assert out["vulnerabilities"] == [world.ids["theirs"]] and out["duplicates"] == 1
    assert out["duplicate_details"][0]["level"] == "alias"
    items = client.get("/api/submissions", headers=world.headers["reporter"]).json()["items"]
    [stored] = [s for s in items if s["id"] == out["submission"]]
    assert (stored["source_name"], stored["tlp"], stored["format"]) == (
        "GHSA-v6wp-4m6f-gcjg.json", "CLEAR", "osv")  # fmt: skip
    # The reporter now sees the shared vulnerability, with its own finding only.
    detail = client.get(
        f"/api/vulnerabilities/{world.ids['theirs']}", headers=world.headers["reporter"]
    ).json()
    [own] = detail["cluster"]
    assert own["submission_id"] == out["submission"] and own["tlp"] == "CLEAR"
    assert own["level"] == "alias" and "GHSA-v6wp-4m6f-gcjg" in own["aliases"]
    assert {"CVE-2021-21330", "GHSA-v6wp-4m6f-gcjg", "PYSEC-2021-76"} <= set(detail["aliases"])


def test_an_osv_record_in_yaml_is_taken_in_as_the_body_with_tlp_amber_by_default(
    client: TestClient, world: World
) -> None:
    source = need(OSV / "aiohttp" / "PYSEC-2021-76.yaml")
    headers = world.headers["reporter"]
    response = client.post(
        "/api/intake",
        headers={**headers, "content-type": "application/yaml"},
        params={"name": source.name},
        content=source.read_bytes(),
    )
    assert response.status_code == 201, response.text
    out = response.json()
    assert out["format"] == "osv" and out["vulnerabilities"] == [world.ids["theirs"]]
    assert out["duplicate_details"][0]["level"] == "alias"  # the same record id, sent again
    items = client.get("/api/submissions", headers=headers).json()["items"]
    assert [s["tlp"] for s in items if s["id"] == out["submission"]] == ["AMBER"]


def _deep_error() -> tuple[bytes, str]:
    log = json.loads(need(SARIF / "bash-report.sarif").read_text())
    results = log["runs"][0]["results"]
    results[-1]["level"] = "catastrophic"  # the last one: earlier results were already placed
    return json.dumps(log).encode(), f"/runs/0/results/{len(results) - 1}/level"


def test_a_bad_upload_is_refused_with_its_pointer_and_adds_no_vulnerability(
    client: TestClient, world: World
) -> None:
    content, pointer = _deep_error()
    analyst = world.headers["analyst"]
    before = total(client, analyst)
    response = client.post(
        "/api/intake",
        headers=world.headers["reporter"],
        files={"file": ("deep.sarif", content, "application/sarif+json")},
    )
    body = assert_problem(response, 422)
    assert body["errors"][0]["field"] == pointer
    assert "deep.sarif" in body["detail"] and "expected" in body["errors"][0]["message"]
    assert total(client, analyst) == before


BAD_DECLARATIONS: list[tuple[dict[str, Any] | None, dict[str, str], str]] = [
    (None, {"tlp": "GREEN"}, "file"),
    ({"file": ("a.sarif", b"{}")}, {"tlp": "PURPLE"}, "tlp"),
    ({"file": ("a.sarif", b"{}")}, {"discovery_method": "psychic"}, "discovery_method"),
    ({"file": ("a.sarif", b"{}")}, {"format": "pdf"}, "format"),
    ({"file": ("a.sarif", b"{}")}, {"colour": "red"}, "colour"),
]


def test_bad_declarations_are_refused_with_the_field_before_anything_is_read(
    client: TestClient, world: World
) -> None:
    headers = world.headers["reporter"]
    before = total(client, headers, "/api/submissions")
    for files, data, field in BAD_DECLARATIONS:
        response = client.post(
            "/api/intake", headers=headers, files=files or {"x": ("x", b"")}, data=data
        )
        assert assert_problem(response, 422)["errors"][0]["field"] == field, field
    query = client.post("/api/intake", headers=headers, params={"tlp": "PURPLE"}, content=b"{}")
    assert assert_problem(query, 422)["errors"][0]["field"] == "tlp"
    assert total(client, headers, "/api/submissions") == before  # not even a rejection


def test_a_vendor_may_not_submit_and_nothing_is_recorded(client: TestClient, world: World) -> None:
    analyst = world.headers["analyst"]
    before = total(client, analyst, "/api/submissions"), total(client, analyst)
    body = assert_problem(upload("bash-report.sarif")(client, world, "vendor"), 403)
    assert "may not" in body["detail"]
    assert (total(client, analyst, "/api/submissions"), total(client, analyst)) == before


def test_triage_sets_status_and_ssvc_and_an_act_vulnerability_comes_first(
    client: TestClient, world: World
) -> None:
    analyst = world.headers["analyst"]
    queue = client.get("/api/vulnerabilities?limit=500", headers=analyst).json()["items"]
    target = world.ids["dockle"]
    assert queue[0]["id"] != target and queue[0]["ssvc_decision"] != "Act"
    response = client.patch(
        f"/api/vulnerabilities/{target}",
        headers=analyst,
        json={"status": "triaged", **SSVC_ACT, "reproducer_confirmed": True},
    )
    assert response.status_code == 200, response.text
    detail = response.json()
    assert detail["status"] == "triaged" and detail["ssvc_decision"] == "Act"
    assert detail["ssvc_inputs"] == SSVC_ACT and detail["reproducer_confirmed"] is True
    queue = client.get("/api/vulnerabilities?limit=500", headers=analyst).json()["items"]
    assert queue[0]["id"] == target and queue[0]["ssvc_decision"] == "Act"
    triaged = client.get("/api/vulnerabilities?status=triaged", headers=analyst).json()
    assert [v["id"] for v in triaged["items"]] == [target]
    # The reporter sees the decision on its own vulnerability, and its queue order too.
    mine = client.get("/api/vulnerabilities", headers=world.headers["reporter"]).json()
    assert mine["items"][0]["id"] == target


def test_a_cvss_vector_sets_the_score_and_a_bad_one_is_refused(
    client: TestClient, world: World
) -> None:
    analyst, path = world.headers["analyst"], f"/api/vulnerabilities/{world.ids['mine']}"
    vector = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
    ok = client.patch(path, headers=analyst, json={"cvss_vector": vector})
    assert ok.status_code == 200, ok.text
    assert ok.json()["cvss_score"] == 9.8 and ok.json()["cvss_version"] == "3.1"
    bad = client.patch(path, headers=analyst, json={"cvss_vector": "CVSS:3.1/AV:X"})
    assert assert_problem(bad, 422)["errors"][0]["field"] == "cvss_vector"
    unknown = client.patch(path, headers=analyst, json={"priority": 1})
    assert assert_problem(unknown, 422)["errors"][0]["field"] == "priority"
    status = client.patch(path, headers=analyst, json={"status": "bogus"})
    assert assert_problem(status, 422)["errors"][0]["field"] == "status"
    assert client.get(path, headers=analyst).json()["cvss_score"] == 9.8  # unchanged by refusals


def test_a_merge_is_explained_and_a_split_undoes_it(client: TestClient, world: World) -> None:
    analyst, ids = world.headers["analyst"], world.ids
    merged = client.post(
        "/api/vulnerabilities/merge",
        headers=analyst,
        json={"into": ids["mine"], "other": ids["dockle"], "reason": "same root cause"},
    )
    assert merged.status_code == 200, merged.text
    moved = [f for f in merged.json()["cluster"] if f["level"] == "manual"]
    assert moved and all("same root cause" in f["reason"] for f in moved)
    assert all(ids["dockle"] in f["reason"] for f in moved)
    gone = client.get(f"/api/vulnerabilities/{ids['dockle']}", headers=analyst).json()
    assert gone["status"] == "duplicate" and gone["merged_into"] == ids["mine"]
    again = client.post(
        "/api/vulnerabilities/merge",
        headers=analyst,
        json={"into": ids["mine"], "other": ids["dockle"], "reason": "again"},
    )
    assert_problem(again, 409)
    split = client.post(
        "/api/vulnerabilities/split",
        headers=analyst,
        json={"finding": moved[0]["id"], "reason": "not the same after all"},
    )
    assert split.status_code == 200, split.text
    [alone] = split.json()["cluster"]
    assert alone["id"] == moved[0]["id"] and "not the same after all" in alone["reason"]
    assert split.json()["id"] not in {ids["mine"], ids["dockle"]}
    empty = client.post(
        "/api/vulnerabilities/merge",
        headers=analyst,
        json={"into": ids["mine"], "other": ids["mine2"], "reason": ""},
    )
    assert assert_problem(empty, 422)["errors"][0]["field"] == "reason"


# -- over a committed database -----------------------------------------------------------
# The `client` fixture shares one rolled-back connection with the test, so a rejection
# record (written in its own transaction while the request's is open, then the request's
# is rolled back) cannot be seen there. This runs the same calls on a real database.

_ON_SQLITE = not os.environ.get(PG_URL_ENV)


@pytest.fixture
def committed(tmp_path: Path, fresh_database_url: str) -> Iterator[tuple[TestClient, World]]:
    load_models()
    clock = FrozenClock(T0)
    db = Database.from_url(fresh_database_url)
    if db.engine.dialect.name == "sqlite":

        @event.listens_for(db.engine, "connect")
        def _short_wait(connection: Any, _record: Any) -> None:
            # The app waits 10 s for a held write lock; a lock that is never released fails
            # the same way after half a second.
            connection.execute("PRAGMA busy_timeout=500")

    migrate.upgrade(db.engine)
    settings = Settings(
        data_dir=tmp_path / "data",
        secret_key=TEST_SECRET,  # type: ignore[arg-type]
        database_url=fresh_database_url,
        job_backend="memory",
    )
    runtime = Runtime.build(settings, clock=clock, db=db, blobs=MemoryBlobStore())
    try:
        with db.transaction(write=True) as session:
            users = _users(session, clock)
            headers = {name: bearer(session, clock, user) for name, user in users.items()}
        with TestClient(create_app(settings, runtime=runtime), raise_server_exceptions=False) as c:
            yield c, World(session=session, headers=headers, ids={})
    finally:
        db.dispose()


def test_on_a_committed_database_a_rejection_is_recorded_and_nothing_else(
    committed: tuple[TestClient, World],
) -> None:
    client, world = committed
    reporter, analyst = world.headers["reporter"], world.headers["analyst"]
    # Raw bodies: the multipart path leaks its upload (the other BUG), which a failing
    # request's logged traceback would keep alive past this module.
    path = need(SARIF / "njsscan.sarif")
    ok = client.post(
        "/api/intake", headers=reporter, params={"name": path.name}, content=path.read_bytes()
    )
    assert ok.status_code == 201, ok.text
    before = total(client, analyst)
    content, pointer = _deep_error()
    bad = client.post("/api/intake", headers=reporter, params={"name": "deep.sarif"},
                      content=content)  # fmt: skip
    assert assert_problem(bad, 422)["errors"][0]["field"] == pointer
    items = client.get("/api/submissions", headers=reporter).json()["items"]
    assert {(s["status"], s["source_name"]) for s in items} == {
        ("rejected", "deep.sarif"), ("accepted", "njsscan.sarif")}  # fmt: skip
    [rejected] = [s for s in items if s["status"] == "rejected"]
    assert rejected["error"]["pointer"] == pointer and rejected["blob_sha256"] is None
    assert rejected["findings"] == 0
    assert total(client, analyst) == before
    assert total(client, world.headers["other"], "/api/submissions") == 0
