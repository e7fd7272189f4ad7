"""Eval-run overhead: samples per second for one suite run through Assay (a queued
``evals.run`` job, Inspect through the gateway, the log and scores stored), against a bare
``inspect_ai.eval`` call on the same stand-in endpoint, at several ``max_connections``.

A real instance is set up in a temp data dir through the services (a developer and an
agency, a model served by the stand-in, an accepted agreement, an open window). Two servers
run on loopback, each in its own process, so that neither shares the worker's interpreter
lock: the stand-in (``StandinServer``'s app under uvicorn, answering after ``--latency``
seconds; `assay standin serve` has no delay option) and the app (`assay serve`, lifespan on,
embedded job worker off). This process is the worker. For each ``max_connections`` it
times, in turn:

- ``bare``: ``inspect_ai.eval(task, model="openai-api/standin/<model>", model_base_url=
  <stand-in /v1>, ...)`` straight to the stand-in, key in ``STANDIN_API_KEY``, Inspect's
  default log buffer;
- ``bare via gateway``: the same call to the gateway's ``/gateway/v1`` with a gateway
  token: what the gateway alone adds;
- ``assay``: ``runs.start_run`` then ``run_job`` (the job a worker would run), from the
  enqueue to the run's finished row: the gateway plus the executor (its log buffer, ``LOG_BUFFER``,
  the progress checkpoint every ``ASSAY_EVAL_POLL_SECONDS``, the log into the blob store and
  its scores into the database).

Every path runs the same samples (same task, seed and limit), after one unmeasured run of
each path (imports, first connections). The stand-in's echo replies leave every sample
"unparsed" by the vuln_detect scorer, which does not matter for timing. Overhead is the
extra wall time per sample against ``bare``: ``bare rate / path rate - 1``. CPU columns are
per sample: this process (Inspect and the worker), the app (the gateway) and the stand-in,
from ``/proc``; on a 2-core machine they say whether a path was bound by CPU.

Run: .venv/bin/python bench/evals.py [--samples 200,1000,1000] [--connections 1,8,32]
     [--latency 0.05] [--repeat R] [--url SERVER_URL] [--task assay/vuln_detect] [--seed S]
     [--poll SECONDS] [--variant NAME ...] [--profile DIR]

``--samples`` gives one sample count per ``--connections`` entry (or one for all); the
defaults take about 15 s per path and point here. With ``--url`` (a PostgreSQL server URL
such as ``postgresql+psycopg://postgres@127.0.0.1:5432/test``) the instance lives in a
scratch database created on that server and dropped afterwards; the default is SQLite in
the temp data dir. ``--variant`` adds an Assay path with the executor patched in this
process (see ``VARIANTS``), to measure a proposed change without editing it. ``--profile
DIR`` writes a cProfile of each Assay run (the worker's event loop thread); ``--poll``
sets ``ASSAY_EVAL_POLL_SECONDS`` for the runs.
Prints a table of the paths, then each Assay run by part (enqueue, the executor's begin,
eval and finish, its checkpoints, the job's claim and finish), timed by wrapping the
executor's methods in this process. Record the figures in docs/benchmarks.md with the
machine, date and command.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
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
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import IO, Any, NamedTuple

import httpx2
import inspect_ai
from sqlalchemy import create_engine, func, select, text, update
from sqlalchemy.engine import make_url

from assay.core.authz import Actor, OrgKind, Role
from assay.core.config import Settings
from assay.core.instance import prepare
from assay.core.jobs.context import JobCancelled, LeaseLost
from assay.core.jobs.queue import NullJobQueue
from assay.core.jobs.runner import RunOutcome, run_job
from assay.domains import load_job_handlers, load_models
from assay.evals import executor, logs, progress, runs
from assay.evals.models import EvalRun, RunState
from assay.evals.schemas import RunCreate, RunOptions
from assay.frontier import agreements, catalog, windows
from assay.frontier.gateway import access
from assay.frontier.models import Domain, FrontierModel, GatewayCall, ReviewWindow
from assay.frontier.schemas import AgreementCreate, ModelCreate
from assay.identity import service as identity
from assay.runtime import Runtime

MODEL_NAME = "bench-frontier"
STANDIN_MODEL = "assay-stand-in"
STARTUP_SECONDS = 60.0
WARMUP_SAMPLES = 20
ASSAY = Path(sys.executable).with_name("assay")
STANDIN_SCRIPT = """\
import os, sys
from assay.frontier.standin import StandinConfig, serve_standin
key, port, delay = os.environ["ASSAY_STANDIN_API_KEY"], int(sys.argv[1]), float(sys.argv[2])
serve_standin("127.0.0.1", port, StandinConfig(api_key=key, delay_seconds=delay))
"""


@dataclass(frozen=True)
class Instance:
    agency: Actor
    window_id: uuid.UUID
    token: str
    """A gateway token of the agency's, for the ``bare via gateway`` path."""


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


def set_up(runtime: Runtime, *, standin_url: str, standin_key: str) -> Instance:
    """A window open to the agency on a model served by the stand-in, through the services."""
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
        for name, kind in (
            ("Bench Developer", OrgKind.DEVELOPER),
            ("Bench Agency", OrgKind.AGENCY),
        ):
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
                    "modalities": ["text"],
                    "endpoint_url": standin_url,
                    "endpoint_model": STANDIN_MODEL,
                    "api_key": standin_key,
                }
            ),
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
            ),
        )
        agreements.decide(
            session, actor=agency, clock=clock, agreement_id=agreement.id, accept=True
        )
        window = windows.open_window(session, actor=dev, clock=clock, agreement_id=agreement.id)
        issued = access.issue_token(session, actor=agency, clock=clock, window_id=window.id)
        return Instance(agency=agency, window_id=window.id, token=issued.token)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(
    argv: list[str], env: dict[str, str], ready_url: str, log: IO[bytes]
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` until the block ends; wait until ``ready_url`` answers 200."""
    process = subprocess.Popen(argv, env=env, stdout=log, stderr=log)
    name = " ".join(Path(a).name for a in argv[:3])
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        with httpx2.Client(trust_env=False, timeout=2.0) as probe:
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"`{name}` exited:\n{_tail(log)}")
                try:
                    if probe.get(ready_url).status_code == 200:
                        break
                except httpx2.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"`{name}` did not start:\n{_tail(log)}")
                time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _tail(log: IO[bytes]) -> str:
    log.flush()
    return Path(log.name).read_text(errors="replace")[-2000:]


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used, all threads (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """This process's CPU time, all threads (the heartbeat and checkpoint threads too)."""
    return cpu_seconds(os.getpid())


# -- stages: where an Assay run's time goes, timed by wrapping the executor's parts -------


@dataclass
class Stage:
    calls: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    """CPU of the calling thread; not kept for the eval, whose loop runs Inspect too."""


STAGES: dict[str, Stage] = {}
"""The current Assay run's stages, by name; cleared before each run."""


def _timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        stage = STAGES.setdefault(name, Stage())
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            stage.calls += 1
            stage.wall += time.perf_counter() - wall
            stage.cpu += time.thread_time() - cpu

    return wrapper


def _timed_async(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        stage = STAGES.setdefault(name, Stage())
        wall = time.perf_counter()
        try:
            return await fn(*args, **kwargs)
        finally:
            stage.calls += 1
            stage.wall += time.perf_counter() - wall

    return wrapper


def time_stages() -> None:
    """Wrap the executor's parts (once): its begin (token, run row), resume point, the
    Inspect eval, each progress checkpoint (in a worker thread) and its finish (the log into
    the blob store, its scores into the database)."""
    cls = executor.Executor
    cls._begin = _timed("begin", cls._begin)  # type: ignore[method-assign]
    cls._resume_point = _timed("resume", cls._resume_point)  # type: ignore[method-assign]
    cls._start = _timed_async("eval", cls._start)  # type: ignore[method-assign]
    cls._checkpoint = _timed("checkpoint", cls._checkpoint)  # type: ignore[method-assign]
    cls._finish = _timed("finish", cls._finish)  # type: ignore[method-assign]


# -- variants: the executor patched in this process, to measure a proposed change -------

Patch = Callable[[], Callable[[], None]]
"""Applies a change in this process and returns its undo."""


def _patch_log_buffer(buffer: Callable[[dict[str, Any]], int | None]) -> Patch:
    """Patch the executor's ``eval_async`` so that its ``log_buffer`` is ``buffer(kwargs)``."""

    def apply() -> Callable[[], None]:
        original = executor.__dict__["eval_async"]

        async def patched(*args: Any, **kwargs: Any) -> Any:
            return await original(*args, **{**kwargs, "log_buffer": buffer(kwargs)})

        executor.__dict__["eval_async"] = patched

        def undo() -> None:
            executor.__dict__["eval_async"] = original

        return undo

    return apply


def _buffer_per_connection(kwargs: dict[str, Any]) -> int:
    """As many samples as the eval has connections, at most 10: a killed worker then loses
    at most twice the samples it had in flight (those buffered, and those going)."""
    return max(1, min(10, int(kwargs.get("max_connections") or 1)))


def _patch_header_read() -> Callable[[], None]:
    """``logs.store_log`` reads the log's header only (results, stats, counts), and the
    whole log, every sample, only when the header has no results (a failed or cancelled
    eval, whose completed samples must be counted)."""
    original = logs.__dict__["read_eval_log"]

    def patched(location: Any, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs:
            return original(location, *args, **kwargs)
        header = original(location, header_only=True)
        return header if header.results is not None else original(location)

    logs.__dict__["read_eval_log"] = patched

    def undo() -> None:
        logs.__dict__["read_eval_log"] = original

    return undo


def _lean_checkpoint(self: executor.Executor) -> executor.Stop | None:
    """The executor's checkpoint with its second transaction lean: one UPDATE of the run's
    counts and one SELECT of the five times a window's state is computed from, instead of
    loading the run with its window, agreement, model, every agreement of the model, their
    parties and the run's results."""
    tally = progress.snapshot(str(self.run_id))
    try:
        self.ctx.progress(tally.done, tally.total or None)
    except JobCancelled:
        return executor.Stop.CANCELLED
    except LeaseLost:
        return executor.Stop.LOST
    with self.ctx.transaction(write=True) as session:
        session.execute(
            update(EvalRun)
            .where(EvalRun.id == self.run_id)
            .values(samples_done=tally.done, samples_total=tally.total or None)
        )
        times = session.execute(
            select(
                ReviewWindow.opens_at,
                ReviewWindow.agreed_close_at,
                ReviewWindow.closed_early_at,
                ReviewWindow.final_close_at,
                FrontierModel.planned_release_at,
            )
            .select_from(EvalRun)
            .join(ReviewWindow, ReviewWindow.id == EvalRun.window_id)
            .join(FrontierModel, FrontierModel.id == ReviewWindow.model_id)
            .where(EvalRun.id == self.run_id)
        ).one_or_none()
    if times is None:
        return None
    window = SimpleNamespace(
        opens_at=times.opens_at,
        agreed_close_at=times.agreed_close_at,
        closed_early_at=times.closed_early_at,
        final_close_at=times.final_close_at,
        model=SimpleNamespace(planned_release_at=times.planned_release_at),
    )
    if not windows.is_open(window, self.ctx.clock.now()):  # type: ignore[arg-type]
        return executor.Stop.WINDOW_CLOSED
    return None


def _patch_lean_checkpoint() -> Callable[[], None]:
    cls = executor.Executor
    original = cls._checkpoint
    cls._checkpoint = _timed("checkpoint", _lean_checkpoint)  # type: ignore[method-assign]

    def undo() -> None:
        cls._checkpoint = original  # type: ignore[method-assign]

    return undo


def _both(*patches: Patch) -> Patch:
    def apply() -> Callable[[], None]:
        undos = [patch() for patch in patches]

        def undo() -> None:
            for each in reversed(undos):
                each()

        return undo

    return apply


VARIANTS: dict[str, Patch] = {
    "buffer-default": _patch_log_buffer(lambda _: None),
    "buffer-10": _patch_log_buffer(lambda _: 10),
    "buffer-conns": _patch_log_buffer(_buffer_per_connection),
    "header-read": _patch_header_read,
    "lean-checkpoint": _patch_lean_checkpoint,
    "proposed": _both(_patch_log_buffer(lambda _: 10), _patch_header_read, _patch_lean_checkpoint),
}
"""Name -> a patch of the executor in this process, which returns its undo:

- ``buffer-default``: Inspect's own sample buffer (for a local ``.eval`` log, 10 samples
  once a task has 30 or more) instead of 1;
- ``buffer-10``: a buffer of 10 samples, said explicitly;
- ``buffer-conns``: a buffer of ``max_connections`` samples, at most 10 (so still 1 at
  ``max_connections`` 1, where the killed-worker test runs);
- ``header-read``: the finish reads the log's header, not every sample, for its scores;
- ``lean-checkpoint``: the progress checkpoint reads only the window's times (see
  ``_lean_checkpoint``);
- ``proposed``: ``buffer-10``, ``header-read`` and ``lean-checkpoint`` together. A buffer
  above 1 loses no completed sample to a killed worker that is resumed on the same host:
  ``eval_retry`` first recovers the samples not yet in the log from Inspect's sample buffer
  database (``inspect_ai.log.recover_eval_log``), which Inspect writes as each sample ends.
"""


# -- one measured eval ---------------------------------------------------------------------


@dataclass
class Measure:
    path: str
    connections: int
    samples: int
    wall: float
    bench_cpu: float
    app_cpu: float
    standin_cpu: float
    load: float
    stages: dict[str, Stage] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.samples / self.wall


@dataclass
class Bench:
    runtime: Runtime
    instance: Instance
    task: str
    seed: int
    standin_base: str
    standin_key: str
    gateway_base: str
    log_root: Path
    pids: tuple[int, int]
    """(app, stand-in)"""
    profile_dir: Path | None = None
    calls: int = 0
    """Calls made through the gateway so far, to check its metering at the end."""
    measures: list[Measure] = field(default_factory=list)

    def task_args(self, samples: int) -> dict[str, Any]:
        if self.task == "assay/vuln_detect":
            return {"n": samples, "seed": self.seed}
        return {}

    def bare(self, samples: int, connections: int, *, via_gateway: bool) -> None:
        if via_gateway:
            service, model, base = "gateway", MODEL_NAME, self.gateway_base
            os.environ["GATEWAY_API_KEY"] = self.instance.token
        else:
            service, model, base = "standin", STANDIN_MODEL, self.standin_base
            os.environ["STANDIN_API_KEY"] = self.standin_key
        (log,) = inspect_ai.eval(
            self.task,
            task_args=self.task_args(samples),
            model=f"openai-api/{service}/{model}",
            model_base_url=base,
            limit=samples,
            max_connections=connections,
            log_dir=str(self.log_root / uuid.uuid4().hex),
            display="none",
        )
        completed = log.results.completed_samples if log.results else 0
        if log.status != "success" or completed != samples:
            raise RuntimeError(f"bare eval: {log.status}, {completed} of {samples} samples")
        if via_gateway:
            self.calls += samples

    def assay(self, samples: int, connections: int, *, profile: str | None = None) -> None:
        runtime = self.runtime
        STAGES.clear()
        enqueue = STAGES["enqueue"] = Stage(calls=1)
        wall, cpu = time.perf_counter(), time.thread_time()
        with runtime.db.transaction(write=True) as session:
            run = runs.start_run(
                session,
                actor=self.instance.agency,
                clock=runtime.clock,
                queue=runtime.queue,
                blobs=runtime.blobs,
                data=RunCreate(
                    window_id=self.instance.window_id,
                    tasks=[self.task],
                    options=RunOptions(
                        limit=samples,
                        max_connections=connections,
                        task_args=self.task_args(samples),
                    ),
                ),
            )
            run_id, job_id = run.id, run.job_id
        enqueue.wall, enqueue.cpu = time.perf_counter() - wall, time.thread_time() - cpu
        assert job_id is not None
        profiler = cProfile.Profile() if profile and self.profile_dir else None
        if profiler is not None:
            profiler.enable()
        outcome = run_job(runtime, job_id)
        if profiler is not None:
            profiler.disable()
            assert self.profile_dir is not None
            profiler.dump_stats(self.profile_dir / f"{profile}.prof")
        with runtime.db.transaction() as session:
            row = session.get(EvalRun, run_id)
            assert row is not None
            state, done, error = row.state, row.samples_done, row.error
        if outcome != RunOutcome.SUCCEEDED or state != RunState.SUCCEEDED or done != samples:
            raise RuntimeError(f"assay run: {outcome}, {state}, {done} of {samples}: {error}")
        self.calls += samples

    def measure(self, path: str, connections: int, samples: int, go: Callable[[], None]) -> None:
        app, standin = self.pids
        before = (own_cpu_seconds(), cpu_seconds(app), cpu_seconds(standin))
        started = time.perf_counter()
        go()
        wall = time.perf_counter() - started
        after = (own_cpu_seconds(), cpu_seconds(app), cpu_seconds(standin))
        bench_cpu, app_cpu, standin_cpu = (b - a for a, b in zip(before, after, strict=True))
        stages = dict(STAGES) if path.startswith("assay") else {}
        STAGES.clear()
        self.measures.append(
            Measure(
                path=path,
                connections=connections,
                samples=samples,
                wall=wall,
                bench_cpu=bench_cpu,
                app_cpu=app_cpu,
                standin_cpu=standin_cpu,
                load=os.getloadavg()[0],
                stages=stages,
            )
        )
        print(
            f"  {path:<26} c={connections:<3} {samples:>5} samples  {wall:7.2f} s  "
            f"{samples / wall:7.1f}/s  load {os.getloadavg()[0]:.2f}",
            file=sys.stderr,
            flush=True,
        )

    def metered(self) -> int:
        with self.runtime.db.transaction() as session:
            count = session.scalar(
                select(func.count(GatewayCall.id)).where(
                    GatewayCall.window_id == self.instance.window_id
                )
            )
        return int(count or 0)


def run_point(
    bench: Bench, connections: int, samples: int, *, repeat: int, variants: list[str]
) -> None:
    """Each path in turn, ``repeat`` times, so drift on the machine falls on all alike."""
    for _ in range(repeat):
        bench.measure(
            "bare",
            connections,
            samples,
            lambda: bench.bare(samples, connections, via_gateway=False),
        )
        bench.measure(
            "bare via gateway",
            connections,
            samples,
            lambda: bench.bare(samples, connections, via_gateway=True),
        )
        bench.measure(
            "assay",
            connections,
            samples,
            lambda: bench.assay(samples, connections, profile=f"assay-c{connections}"),
        )
        for name in variants:
            undo = VARIANTS[name]()
            try:
                bench.measure(
                    f"assay, {name}",
                    connections,
                    samples,
                    lambda name=name: bench.assay(  # type: ignore[misc]
                        samples, connections, profile=f"assay-{name}-c{connections}"
                    ),
                )
            finally:
                undo()


def run(
    url: str | None,
    data_dir: Path,
    *,
    task: str,
    seed: int,
    points: list[tuple[int, int]],
    latency: float,
    repeat: int,
    variants: list[str],
    poll: float | None,
    profile_dir: Path | None,
) -> tuple[Bench, int]:
    load_models()
    load_job_handlers()
    time_stages()
    key = secrets.token_urlsafe(24)
    standin_port, app_port = free_port(), free_port()
    standin_base = f"http://127.0.0.1:{standin_port}/v1"
    app_url = f"http://127.0.0.1:{app_port}"
    settings = Settings(
        data_dir=data_dir,
        database_url=url,
        job_backend="memory",
        public_url=app_url,
    )
    if poll:
        settings = settings.model_copy(update={"eval_poll_seconds": poll})
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSAY_")}
    app_env = {
        **env,
        "ASSAY_DATA_DIR": str(data_dir),
        "ASSAY_EMBEDDED_WORKER": "false",
        "ASSAY_JOB_BACKEND": "memory",
        "ASSAY_LOG_LEVEL": "WARNING",
        **({"ASSAY_DATABASE_URL": url} if url else {}),
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    prepare(settings).dispose()
    runtime = Runtime.build(settings)
    runtime.job_queue = NullJobQueue()  # this process runs each job itself, as a worker would
    os.environ.setdefault("INSPECT_DISPLAY", "none")
    with ExitStack() as stack:
        log = stack.enter_context((data_dir / "servers.log").open("wb"))
        standin = stack.enter_context(
            serving(
                [sys.executable, "-c", STANDIN_SCRIPT, str(standin_port), str(latency)],
                {**env, "ASSAY_STANDIN_API_KEY": key},
                f"http://127.0.0.1:{standin_port}/",
                log,
            )
        )
        instance = set_up(runtime, standin_url=standin_base, standin_key=key)
        app = stack.enter_context(
            serving(
                [str(ASSAY), "serve", "--port", str(app_port)],
                app_env,
                f"{app_url}/readyz",
                log,
            )
        )
        bench = Bench(
            runtime=runtime,
            instance=instance,
            task=task,
            seed=seed,
            standin_base=standin_base,
            standin_key=key,
            gateway_base=settings.resolved_eval_gateway_url,
            log_root=data_dir / "bare-logs",
            pids=(app.pid, standin.pid),
            profile_dir=profile_dir,
        )
        print("warming up (imports, first eval of each path)", file=sys.stderr, flush=True)
        bench.bare(WARMUP_SAMPLES, 8, via_gateway=False)
        bench.bare(WARMUP_SAMPLES, 8, via_gateway=True)
        bench.assay(WARMUP_SAMPLES, 8)
        for connections, samples in points:
            run_point(bench, connections, samples, repeat=repeat, variants=variants)
        metered = bench.metered()
    runtime.db.dispose()
    if metered != bench.calls:
        raise RuntimeError(f"the gateway metered {metered} calls; {bench.calls} were made")
    return bench, metered


class Row(NamedTuple):
    connections: int
    path: str
    samples: int
    wall: float
    rate: float
    overhead: float
    """Extra wall time per sample against bare, %."""
    cpu: tuple[float, float, float]
    """CPU ms per sample: this process, the app, the stand-in."""
    cpu_overhead: float
    """Extra CPU per sample, all three processes together, against bare, %."""


def table(measures: list[Measure]) -> list[Row]:
    """One row per (connections, path), medians over its runs."""
    groups: dict[tuple[int, str], list[Measure]] = {}
    for m in measures:
        groups.setdefault((m.connections, m.path), []).append(m)

    def cpu(ms: list[Measure]) -> tuple[float, float, float]:
        return (
            statistics.median(m.bench_cpu / m.samples for m in ms) * 1000,
            statistics.median(m.app_cpu / m.samples for m in ms) * 1000,
            statistics.median(m.standin_cpu / m.samples for m in ms) * 1000,
        )

    rows = []
    for (connections, path), ms in groups.items():
        rate = statistics.median(m.rate for m in ms)
        bare = groups[(connections, "bare")]
        bare_rate, bare_cpu = statistics.median(m.rate for m in bare), sum(cpu(bare))
        rows.append(
            Row(
                connections=connections,
                path=path,
                samples=ms[0].samples,
                wall=statistics.median(m.wall for m in ms),
                rate=rate,
                overhead=(bare_rate / rate - 1) * 100,
                cpu=cpu(ms),
                cpu_overhead=(sum(cpu(ms)) / bare_cpu - 1) * 100,
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--samples",
        default="200,1000,1000",
        help="samples per eval: one per --connections entry, or one for all",
    )
    parser.add_argument("--connections", default="1,8,32", help="max_connections to measure")
    parser.add_argument("--latency", type=float, default=0.05, help="stand-in delay, seconds")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each path per point")
    parser.add_argument(
        "--url", default=None, help="a PostgreSQL server URL (default: SQLite in a temp dir)"
    )
    parser.add_argument("--task", default="assay/vuln_detect", help="the suite to run")
    parser.add_argument("--seed", type=int, default=7, help="vuln_detect's sample set")
    parser.add_argument(
        "--poll", type=float, default=None, help="ASSAY_EVAL_POLL_SECONDS (default: the setting's)"
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        choices=sorted(VARIANTS),
        help="also time the Assay path with this change patched in (repeatable)",
    )
    parser.add_argument("--profile", type=Path, default=None, help="cProfile the Assay runs here")
    args = parser.parse_args()
    connections = [int(c) for c in args.connections.split(",")]
    samples = [int(s) for s in args.samples.split(",")]
    if len(samples) == 1:
        samples *= len(connections)
    if len(samples) != len(connections):
        parser.error("--samples needs one count, or one per --connections entry")
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    started = time.monotonic()
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        url = stack.enter_context(scratch_postgres(args.url)) if args.url else None
        bench, metered = run(
            url,
            tmp / "data",
            task=args.task,
            seed=args.seed,
            points=list(zip(connections, samples, strict=True)),
            latency=args.latency,
            repeat=args.repeat,
            variants=args.variant,
            poll=args.poll,
            profile_dir=args.profile,
        )
    poll = args.poll or Settings.model_fields["eval_poll_seconds"].default
    print(
        f"backend: {'postgresql' if args.url else 'sqlite'}   task: {args.task} (seed "
        f"{args.seed})   stand-in latency: {args.latency * 1000:.0f} ms   eval poll: {poll} s   "
        f"repeat: {args.repeat}   metered: {metered}   took {time.monotonic() - started:.0f} s"
    )
    load_after = os.getloadavg()
    print(
        "load average (1, 5, 15 min): "
        f"{' '.join(f'{x:.2f}' for x in load_before)} before, "
        f"{' '.join(f'{x:.2f}' for x in load_after)} after"
    )
    # Overhead: extra wall time per sample against bare. CPU: ms per sample of this process
    # (Inspect, and for assay the worker), the app (the gateway) and the stand-in, all threads,
    # from /proc; CPU overhead: their sum against bare's.
    print(
        f"{'conns':>5}  {'path':<26}{'samples':>8}{'wall s':>8}{'samples/s':>10}{'overhead':>10}"
        f"   {'CPU ms/sample: bench':>20}{'app':>6}{'stand-in':>9}{'CPU overhead':>14}"
    )
    for row in table(bench.measures):
        bare = row.path == "bare"
        over = "" if bare else f"{row.overhead:+.1f}%"
        cpu_over = "" if bare else f"{row.cpu_overhead:+.1f}%"
        b, a, st = row.cpu
        print(
            f"{row.connections:>5}  {row.path:<26}{row.samples:>8}{row.wall:>8.2f}"
            f"{row.rate:>10.1f}{over:>10}   {b:>20.2f}{a:>6.2f}{st:>9.2f}{cpu_over:>14}"
        )
    print("Assay runs by part, ms (the eval in s):")
    print_stages(bench.measures)


def print_stages(measures: list[Measure]) -> None:
    """Each Assay run's time by part (the first run of each path and point): the enqueue,
    the executor's begin, resume point, Inspect eval and finish, the progress checkpoints
    (count, wall ms and CPU ms, in a thread while the eval goes on), and the rest of
    ``run_job`` (claim, heartbeat, the job's finish). ``eval - via gw`` is the eval's wall
    time less the whole ``bare via gateway`` call's: what the executor's Inspect options and
    threads add inside the eval."""
    via = {m.connections: m.wall for m in measures[::-1] if m.path == "bare via gateway"}
    print(
        f"{'conns':>5}  {'path':<26}{'enqueue':>8}{'begin':>7}{'resume':>7}{'eval s':>8}"
        f"{'eval - via gw':>14}{'finish':>8}{'rest':>6}   checkpoints: n, wall, CPU ms"
    )
    seen: set[tuple[int, str]] = set()
    for m in measures:
        if not m.stages or (m.connections, m.path) in seen:
            continue
        seen.add((m.connections, m.path))
        st = m.stages
        ms = {k: v.wall * 1000 for k, v in st.items()}
        rest = m.wall * 1000 - sum(v for k, v in ms.items() if k != "checkpoint")
        over = (st["eval"].wall - via[m.connections]) * 1000 if m.connections in via else 0.0
        cp = st.get("checkpoint", Stage())
        print(
            f"{m.connections:>5}  {m.path:<26}{ms['enqueue']:>8.0f}{ms['begin']:>7.0f}"
            f"{ms['resume']:>7.0f}{st['eval'].wall:>8.2f}{over:>14.0f}{ms['finish']:>8.0f}"
            f"{rest:>6.0f}   {cp.calls}, {cp.wall * 1000:.0f}, {cp.cpu * 1000:.0f}"
        )


if __name__ == "__main__":
    main()
