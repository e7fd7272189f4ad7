"""Gateway overhead: the latency the gateway adds to a chat call, against calling the
stand-in model server directly.

A real instance is set up in a temp data dir (a developer and an agency, a model served by
the stand-in, a covered determination, an accepted agreement, an open window and a gateway
token, all through the services), then two servers run on loopback, each in its own
process: the stand-in (`assay standin serve`) and the app (`assay serve`, with its lifespan,
so the gateway forwards through its pooled client; the embedded job worker is off). One
persistent keep-alive client calls both, alternating: a call straight to the stand-in, then
the same request through the gateway, so drift on the machine falls on both alike.

Run: .venv/bin/python bench/gateway.py [--calls N] [--url DATABASE_URL]
With ``--url`` (a PostgreSQL server URL such as
``postgresql+psycopg://postgres@127.0.0.1:5432/test``) the instance lives in a scratch
database created on that server and dropped afterwards; the named database is not touched.
The default is SQLite in the temp data dir. ``--budget`` gives the agreement a call budget,
so every call is also checked against the window's running totals; ``--history N`` first
records N earlier calls in the window (and adds them to its totals), to show that the check
costs the same once a window has been used. At the end the bench checks that the gateway
metered every call: its batched rows are written when the server stops, at the latest.
Prints a table; record the figures in docs/benchmarks.md with the machine and command.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

import httpx2
from sqlalchemy import create_engine, func, insert, select, text, update
from sqlalchemy.engine import make_url

from assay.core.authz import OrgKind, Role
from assay.core.config import Settings
from assay.core.instance import prepare
from assay.domains import load_models
from assay.frontier import agreements, catalog, determinations, windows
from assay.frontier.gateway import access
from assay.frontier.models import Domain, GatewayCall, ReviewWindow
from assay.frontier.schemas import AgreementCreate, ModelCreate
from assay.identity import service as identity
from assay.runtime import Runtime

MODEL_NAME = "bench-frontier"
POLICY = "covered-frontier-model"
PROMPT = "In one sentence: what is a review window?"
STARTUP_SECONDS = 60.0
ASSAY = Path(sys.executable).with_name("assay")


@dataclass(frozen=True)
class Instance:
    token: str
    window_id: uuid.UUID


@contextmanager
def scratch_postgres(base_url: str) -> Iterator[str]:
    """A new database on the server of ``base_url``, dropped afterwards (as tests/conftest.py
    does), so the database named in ``base_url`` is never written to."""
    name = f"assay_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def set_up(
    settings: Settings, *, standin_url: str, standin_key: str, budget: bool, history: int
) -> Instance:
    """Everything a gateway call needs, made through the same services the doors call."""
    prepare(settings).dispose()
    runtime = Runtime.build(settings)
    clock = runtime.clock
    with runtime.db.transaction(write=True) as session:
        installation = identity.initialize_instance(
            session,
            clock=clock,
            org_name="Bench Clearinghouse",
            org_kind=OrgKind.CLEARINGHOUSE,
            admin_email="admin@bench.example",
            admin_password=secrets.token_urlsafe(16),
        )
        admin = identity.actor_for(installation.admin)
        users = []
        orgs = (("Bench Developer", OrgKind.DEVELOPER), ("Bench Agency", OrgKind.AGENCY))
        for name, kind in orgs:
            org = identity.create_organization(
                session, actor=admin, clock=clock, name=name, kind=kind
            )
            user = identity.create_user(
                session,
                actor=admin,
                clock=clock,
                org_id=org.id,
                email=f"member@{kind.value}.example",
                name=f"Member, {name}",
                role=Role.MEMBER,
                password=secrets.token_urlsafe(16),
            )
            users.append(identity.actor_for(user))
        dev, agency = users
        model = catalog.register_model(
            session,
            actor=dev,
            clock=clock,
            box=runtime.box,
            data=ModelCreate.model_validate(
                {
                    "name": MODEL_NAME,
                    "version": "1.0",
                    "planned_release_at": clock.now() + timedelta(days=45),
                    "training_flop": 3.2e26,
                    "parameters": 1_200_000_000_000,
                    "modalities": ["text"],
                    "endpoint_url": standin_url,
                    "endpoint_model": "assay-stand-in",
                    "api_key": standin_key,
                }
            ),
        )
        determinations.determine(
            session, actor=dev, clock=clock, model_id=model.id, policy_name=POLICY
        )
        agreement = agreements.propose(
            session,
            actor=dev,
            clock=clock,
            data=AgreementCreate(
                model_id=model.id,
                agencies=[agency.org_id],
                domains=[Domain.CYBER],
                review_days=30,
                data_handling="Benchmark traffic only.",
                share_findings_between_agencies=False,
                contact="member@developer.example",
                budget_calls=10**12 if budget else None,
            ),
        )
        agreements.decide(
            session, actor=agency, clock=clock, agreement_id=agreement.id, accept=True
        )
        window = windows.open_window(session, actor=dev, clock=clock, agreement_id=agreement.id)
        issued = access.issue_token(session, actor=agency, clock=clock, window_id=window.id)
        instance = Instance(token=issued.token, window_id=window.id)
        token_id, org_id = issued.row.id, agency.org_id
    for start in range(0, history, 10_000):
        rows = [
            {
                "id": uuid.uuid4(),
                "window_id": instance.window_id,
                "org_id": org_id,
                "token_id": token_id,
                "endpoint": "chat.completions",
                "streamed": False,
                "status": 200,
                "upstream_status": 200,
                "prompt_tokens": 12,
                "completion_tokens": 30,
                "latency_ms": 2.0,
                "refusal": None,
                "created_at": clock.now(),
            }
            for _ in range(min(10_000, history - start))
        ]
        with runtime.db.transaction(write=True) as session:
            session.execute(insert(GatewayCall), rows)
            # As the gateway's metering writer does with the rows it writes.
            session.execute(
                update(ReviewWindow)
                .where(ReviewWindow.id == instance.window_id)
                .values(
                    metered_calls=ReviewWindow.metered_calls + len(rows),
                    metered_tokens=ReviewWindow.metered_tokens + 42 * len(rows),
                )
            )
    runtime.db.dispose()
    return instance


def metered_calls(settings: Settings, window_id: uuid.UUID) -> int:
    runtime = Runtime.build(settings)
    with runtime.db.transaction() as session:
        count = session.scalar(
            select(func.count(GatewayCall.id)).where(GatewayCall.window_id == window_id)
        )
    runtime.db.dispose()
    return int(count or 0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(
    args: list[str], env: dict[str, str], ready_url: str, log: IO[bytes]
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``assay ARGS`` until the block ends; wait until ``ready_url`` answers 200."""
    process = subprocess.Popen([str(ASSAY), *args], env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        with httpx2.Client(trust_env=False, timeout=2.0) as probe:
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"`assay {' '.join(args)}` exited:\n{_tail(log)}")
                try:
                    if probe.get(ready_url).status_code == 200:
                        break
                except httpx2.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"`assay {' '.join(args)}` did not start:\n{_tail(log)}")
                time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used, all threads (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tail(log: IO[bytes]) -> str:
    log.flush()
    return Path(log.name).read_text(errors="replace")[-2000:]


def _post(client: httpx2.Client, url: str, key: str, body: dict[str, Any]) -> Callable[[], None]:
    headers = {"Authorization": f"Bearer {key}"}

    def call() -> None:
        response = client.post(url, headers=headers, json=body)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:300]}")
        response.json()

    return call


def _stream(client: httpx2.Client, url: str, key: str, body: dict[str, Any]) -> Callable[[], None]:
    headers = {"Authorization": f"Bearer {key}"}
    body = {**body, "stream": True}

    def call() -> None:
        with client.stream("POST", url, headers=headers, json=body) as response:
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}")
            data = b"".join(response.iter_bytes())
        if not data.rstrip().endswith(b"data: [DONE]"):
            raise RuntimeError(f"{url}: the stream did not end with [DONE]")

    return call


@dataclass(frozen=True)
class Phase:
    """One mode of calling: wall milliseconds per call, and the servers' CPU per call."""

    direct: list[float]
    gateway: list[float]
    standin_cpu_ms: float
    """The stand-in's CPU per request; it answers the direct and the forwarded calls."""
    gateway_cpu_ms: float


def alternate(
    direct: Callable[[], None],
    gateway: Callable[[], None],
    *,
    calls: int,
    warmup: int,
    pids: tuple[int, int],
) -> Phase:
    """A call direct, then one through the gateway, in turn; warm-up calls are not timed."""
    times: tuple[list[float], list[float]] = ([], [])
    cpu_before = [cpu_seconds(pid) for pid in pids]
    for i in range(warmup + calls):
        for call, into in ((direct, times[0]), (gateway, times[1])):
            started = time.perf_counter()
            call()
            elapsed = (time.perf_counter() - started) * 1000
            if i >= warmup:
                into.append(elapsed)
    standin_cpu, gateway_cpu = (
        (cpu_seconds(pid) - before) * 1000 for pid, before in zip(pids, cpu_before, strict=True)
    )
    made = warmup + calls
    return Phase(*times, standin_cpu_ms=standin_cpu / (2 * made), gateway_cpu_ms=gateway_cpu / made)


def summary(ms: list[float]) -> tuple[float, float, float]:
    centiles = statistics.quantiles(ms, n=100, method="inclusive")
    return statistics.median(ms), centiles[89], centiles[98]


def run(
    url: str | None,
    data_dir: Path,
    *,
    calls: int,
    warmup: int,
    stream: bool,
    budget: bool,
    history: int,
) -> tuple[dict[str, Phase], int]:
    load_models()
    settings = Settings(data_dir=data_dir, database_url=url, job_backend="memory")
    key = secrets.token_urlsafe(24)
    standin_port, app_port = free_port(), free_port()
    standin_base = f"http://127.0.0.1:{standin_port}/v1"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSAY_")}
    standin_env = {**env, "ASSAY_STANDIN_API_KEY": key}
    app_env = {
        **env,
        "ASSAY_DATA_DIR": str(data_dir),
        "ASSAY_EMBEDDED_WORKER": "false",
        "ASSAY_JOB_BACKEND": "memory",
        "ASSAY_LOG_LEVEL": "WARNING",
        **({"ASSAY_DATABASE_URL": url} if url else {}),
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        log = stack.enter_context((data_dir / "servers.log").open("wb"))
        standin = stack.enter_context(
            serving(
                ["standin", "serve", "--port", str(standin_port)],
                standin_env,
                f"http://127.0.0.1:{standin_port}/",
                log,
            )
        )
        instance = set_up(
            settings, standin_url=standin_base, standin_key=key, budget=budget, history=history
        )
        app = stack.enter_context(
            serving(
                ["serve", "--port", str(app_port)],
                app_env,
                f"http://127.0.0.1:{app_port}/readyz",
                log,
            )
        )
        client = stack.enter_context(httpx2.Client(trust_env=False, timeout=30.0))
        direct_url = f"{standin_base}/chat/completions"
        gateway_url = f"http://127.0.0.1:{app_port}/gateway/v1/chat/completions"
        messages = [{"role": "user", "content": PROMPT}]
        direct_body = {"model": "assay-stand-in", "messages": messages}
        gateway_body = {"model": MODEL_NAME, "messages": messages}
        pids = (standin.pid, app.pid)
        phases = {
            "": alternate(
                _post(client, direct_url, key, direct_body),
                _post(client, gateway_url, instance.token, gateway_body),
                calls=calls,
                warmup=warmup,
                pids=pids,
            )
        }
        if stream:
            phases[", streamed"] = alternate(
                _stream(client, direct_url, key, direct_body),
                _stream(client, gateway_url, instance.token, gateway_body),
                calls=calls,
                warmup=warmup,
                pids=pids,
            )
    metered = metered_calls(settings, instance.window_id) - history
    expected = (warmup + calls) * (2 if stream else 1)
    if metered != expected:
        raise RuntimeError(f"the gateway metered {metered} calls; {expected} were made")
    return phases, metered


def table(phases: dict[str, Phase]) -> list[tuple[str, tuple[float, float, float], float]]:
    """Rows of path, (median, p90, p99) wall ms, and CPU ms per call of the server it adds."""
    rows = []
    for suffix, phase in phases.items():
        d, g = summary(phase.direct), summary(phase.gateway)
        added = (g[0] - d[0], g[1] - d[1], g[2] - d[2])
        rows += [
            (f"direct to stand-in{suffix}", d, phase.standin_cpu_ms),
            (f"through gateway{suffix}", g, phase.standin_cpu_ms + phase.gateway_cpu_ms),
            (f"added by gateway{suffix}", added, phase.gateway_cpu_ms),
        ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=1_000, help="measured calls per path")
    parser.add_argument("--warmup", type=int, default=50, help="unmeasured calls first")
    parser.add_argument(
        "--url", default=None, help="a PostgreSQL server URL (default: SQLite in a temp dir)"
    )
    parser.add_argument("--no-stream", action="store_true", help="skip the streamed calls")
    parser.add_argument("--budget", action="store_true", help="give the agreement a budget")
    parser.add_argument("--history", type=int, default=0, help="earlier calls in the window")
    args = parser.parse_args()
    if args.calls < 2:
        parser.error("--calls must be at least 2")
    if args.history and not args.budget:
        parser.error("--history only matters with --budget")
    load_before = os.getloadavg()[0]
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        url = stack.enter_context(scratch_postgres(args.url)) if args.url else None
        phases, metered = run(
            url,
            tmp / "data",
            calls=args.calls,
            warmup=args.warmup,
            stream=not args.no_stream,
            budget=args.budget,
            history=args.history,
        )
    backend = "postgresql" if args.url else "sqlite"
    print(
        f"backend: {backend}   calls: {args.calls} per path (after {args.warmup} warm-up)   "
        f"budget: {'yes' if args.budget else 'none'}   earlier calls: {args.history}   "
        f"metered: {metered}"
    )
    # Other work on the machine shows up in the tails; the load average says if there was any.
    print(f"load average (1 min): {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
    # Server CPU: what the servers' processes spent per call (all threads), read from /proc.
    print(f"{'path':<34}{'median ms':>11}{'p90 ms':>9}{'p99 ms':>9}{'server CPU ms':>15}")
    for name, (median, p90, p99), cpu in table(phases):
        print(f"{name:<34}{median:>11.2f}{p90:>9.2f}{p99:>9.2f}{cpu:>15.2f}")


if __name__ == "__main__":
    main()
