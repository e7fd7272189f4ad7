"""Clearinghouse intake end to end: parse, validate, fingerprint, dedupe and store SARIF logs.

Run: .venv/bin/python bench/intake.py [--sizes 1000,100000] [--million] [--url SERVER_URL]
     [--logs L] [--no-artifacts] [--exact S --moved S --near S] [--seed K] [--data-dir DIR]
     [--serial] [--stages] [--profile DIR]

For each size N, `sarif_gen` writes N results shaped like CodeQL output, split over L logs
(default 2, one per reporter), with planted exact, moved-line and near duplicates and their
truth. A fresh process then takes the logs in, one after the other, with
``assay.clearinghouse.intake.submit_file`` (one transaction each, the raw file into a
folder blob store) on a fresh database: a SQLite file by default, or with ``--url`` a
scratch database created on that PostgreSQL server and dropped afterwards. Logs of 32 MiB
or more are parsed in a second process (`assay.clearinghouse.prepare`) unless ``--serial``.
Prints the throughput over all N results, the CPU seconds of the intake process and of
the parse processes, and peak memory (the intake process's ``ru_maxrss``; a parse
process's own peak cannot be read from here, run ``python -m assay.clearinghouse.prepare
LOG NAME MAX_BYTES > /dev/null`` under ``/usr/bin/time -v`` for it), then dedupe quality
from the stored findings:

- recall per planted kind: the share of its duplicates placed in their original's
  vulnerability (near duplicates also per snippet variant, see `sarif_gen`);
- precision: of the findings placed into an existing vulnerability (any level but
  ``new``), the share placed in the right one; an original placed anywhere but a new
  vulnerability of its own is wrong.

``--stages`` times the parts of intake by wrapping them (a little overhead per finding;
with ``--serial``, since the parse and signing of large logs otherwise happen elsewhere);
``--profile DIR`` writes a pyinstrument profile per run (pip install pyinstrument).
Record the figures in docs/benchmarks.md with the machine, date and command.
"""

from __future__ import annotations

import argparse
import collections
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from assay.clearinghouse import _bulk, clustering, intake
from assay.clearinghouse.dedupe import fingerprint, near
from assay.clearinghouse.models import DiscoveryMethod, ReportedFinding
from assay.clearinghouse.schemas import SubmissionMeta
from assay.core import migrate
from assay.core.authz import OrgKind, Role
from assay.core.blobs import FolderBlobStore
from assay.core.clock import SystemClock
from assay.core.config import Settings
from assay.core.db import Database
from assay.domains import load_models
from assay.identity import service as identity

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sarif_gen

MILLION = 1_000_000
KINDS = {"e": "exact", "m": "moved", "n": "near"}


# --- the worker: one intake in a process of its own ------------------------------------------


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _cpu_seconds(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def _database(server_url: str | None, scratch: Path) -> Iterator[str]:
    if not server_url:
        yield f"sqlite:///{scratch / 'intake.db'}"
        return
    name = f"assay_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class _Stages:
    """Seconds spent in each wrapped part of intake."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = collections.defaultdict(float)

    def wrap(self, owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name, None)
        if original is None:
            return
        seconds = self.seconds
        clock = time.perf_counter

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = clock()
            try:
                return original(*args, **kwargs)
            finally:
                seconds[label] += clock() - started

        setattr(owner, name, timed)

    def wrap_iterator(self, owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)
        seconds = self.seconds
        clock = time.perf_counter

        def timed(*args: Any, **kwargs: Any) -> Iterator[Any]:
            iterator = iter(original(*args, **kwargs))
            while True:
                started = clock()
                try:
                    item = next(iterator)
                except StopIteration:
                    seconds[label] += clock() - started
                    return
                seconds[label] += clock() - started
                yield item

        setattr(owner, name, timed)


class _TimedSession:
    """The clusterer's session, with each ``execute`` timed by statement kind."""

    def __init__(self, inner: Any, stages: _Stages) -> None:
        self._inner = inner
        self._stages = stages

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def execute(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        kind = (
            "db insert (bulk: executemany or COPY)"
            if getattr(statement, "is_insert", False)
            else "db update"
            if getattr(statement, "is_update", False)
            else "db select"
        )
        started = time.perf_counter()
        try:
            return self._inner.execute(statement, *args, **kwargs)
        finally:
            self._stages.seconds[kind] += time.perf_counter() - started


# Stages of intake, in the order printed: the top-level parts of `submit_file` first (what
# they leave is the blob store, the audit event and the commit), then parts of
# `Clusterer.add`, which may nest (the inserts of new vulnerabilities are also "db insert").
TOP_STAGES = (
    "parse + validate + normalize",
    "clusterer.add",
    "clusterer.finish (counts, merges)",
    "report (IntakeOut)",
)
ADD_STAGES = (
    "exact keys",
    "key and alias lookups",
    "load scopes (earlier signatures)",
    "near text (features)",
    "near signature (per batch)",
    "near index query + add",
    "new vulnerabilities (ids, triage, insert)",
    "db insert (bulk: executemany or COPY)",
    "db update",
    "db select",
)


def _install_stages(stages: _Stages) -> None:
    stages.wrap_iterator(intake, "_findings", TOP_STAGES[0])
    stages.wrap(clustering.Clusterer, "add", TOP_STAGES[1])
    stages.wrap(clustering.Clusterer, "finish", TOP_STAGES[2])
    stages.wrap(intake, "_report", TOP_STAGES[3])
    stages.wrap(fingerprint, "exact_keys", "exact keys")
    stages.wrap(clustering.Clusterer, "_lookup_keys", "key and alias lookups")
    stages.wrap(clustering.Clusterer, "_lookup_aliases", "key and alias lookups")
    stages.wrap(clustering.Clusterer, "_load_scopes", "load scopes (earlier signatures)")
    stages.wrap(near, "finding_features", "near text (features)")
    stages.wrap(near, "minhash", "near signature (per batch)")
    stages.wrap(near.NearIndex, "query", "near index query + add")
    stages.wrap(near.NearIndex, "add", "near index query + add")
    stages.wrap(clustering.Clusterer, "_insert_vulns", "new vulnerabilities (ids, triage, insert)")
    stages.wrap(_bulk.BulkTable, "insert", "db insert (bulk: executemany or COPY)")
    init = clustering.Clusterer.__init__

    def timed_init(self: Any, session: Any, **kwargs: Any) -> None:
        init(self, _TimedSession(session, stages), **kwargs)

    clustering.Clusterer.__init__ = timed_init  # type: ignore[method-assign]


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    paths = [Path(path) for path in spec["paths"]]
    truth = sarif_gen.Truth.load(Path(spec["truth"]))
    stages = _Stages()
    if spec["stages"]:
        _install_stages(stages)
    load_models()
    with (
        tempfile.TemporaryDirectory() as scratch,
        _database(spec["url"], Path(scratch)) as url,
    ):
        db = Database.from_url(url)
        migrate.upgrade(db.engine)
        clock = SystemClock()
        actors = []
        with db.transaction(write=True) as session:
            for log in range(len(paths)):  # one reporter per log
                org = identity.create_organization(
                    session,
                    actor=None,
                    clock=clock,
                    name=f"Bench Reporter {log}",
                    kind=OrgKind.REPORTER,
                )
                user = identity.create_user(
                    session,
                    actor=None,
                    clock=clock,
                    org_id=org.id,
                    email=f"bench{log}@reporter.example",
                    name=f"Bench {log}",
                    role=Role.MEMBER,
                    password="bench password that is long enough",
                )
                session.flush()
                actors.append(identity.actor_for(user))
        fields = Settings.model_fields
        limits = intake.IntakeLimits(
            max_bytes=fields["intake_max_bytes"].default,
            near_threshold=fields["near_duplicate_threshold"].default,
            near_band=fields["near_duplicate_band"].default,
            parallel=not spec["serial"],
        )
        meta = SubmissionMeta(
            format="auto",
            discovery_method=DiscoveryMethod.AUTOMATED,
            discovery_tool="CodeQL 2.15.3",
        )
        blobs = FolderBlobStore(Path(scratch) / "blobs")
        profiler = None
        if spec["profile"]:
            from pyinstrument import Profiler  # noqa: PLC0415 - optional, for --profile

            profiler = Profiler(interval=0.005)
            profiler.start()
        rss_before = _maxrss_mib()
        cpu_before = _cpu_seconds()
        # The parse process that intake starts for large logs is joined when each intake
        # ends, so its time is in RUSAGE_CHILDREN.
        child_cpu_before = _cpu_seconds(resource.RUSAGE_CHILDREN)
        outs = []
        seconds = []
        for path, actor in zip(paths, actors, strict=True):
            started = time.perf_counter()
            outs.append(
                intake.submit_file(
                    db,
                    actor=actor,
                    clock=clock,
                    blobs=blobs,
                    path=path,
                    source_name=path.name,
                    meta=meta,
                    limits=limits,
                )
            )
            seconds.append(time.perf_counter() - started)
        # Only this process: a child's ru_maxrss counts the parent's pages it shared
        # between vfork and exec, so the parse process's own peak is not measurable here.
        peak = _maxrss_mib()
        cpu = _cpu_seconds() - cpu_before
        child_cpu = _cpu_seconds(resource.RUSAGE_CHILDREN) - child_cpu_before
        if profiler is not None:
            profiler.stop()
            Path(spec["profile"]).write_text(profiler.output_text(unicode=True, show_all=False))
        rows = []
        with db.transaction() as session:
            for log, out in enumerate(outs):
                found = session.execute(
                    select(
                        ReportedFinding.source_ref,
                        ReportedFinding.vulnerability_id,
                        ReportedFinding.level,
                        ReportedFinding.possible_duplicate_of,
                    ).where(ReportedFinding.submission_id == out.submission)
                ).all()
                first = truth.starts[log]
                rows += [
                    (first + int(ref.rsplit("/", 1)[1]), vuln, level, maybe)
                    for ref, vuln, level, maybe in found
                ]
        db.dispose()
    assert sum(out.findings for out in outs) == truth.results == len(rows)
    return {
        "results": truth.results,
        "logs": len(paths),
        "bytes": sum(path.stat().st_size for path in paths),
        "seconds": sum(seconds),
        "log_seconds": seconds,
        "cpu_seconds": cpu + child_cpu,
        "main_cpu_seconds": cpu,
        "parser_cpu_seconds": child_cpu,
        "rss_before_mib": rss_before,
        "peak_rss_mib": peak,
        "new": sum(out.new for out in outs),
        "duplicates": sum(out.duplicates for out in outs),
        "quality": quality(truth, rows),
        "stages": dict(stages.seconds),
    }


def quality(truth: sarif_gen.Truth, rows: list[Any]) -> dict[str, Any]:
    """Recall per planted kind and precision, from (result index, vulnerability, level,
    possible duplicate of) per stored finding.

    A result's bug is its own index for an original, else its original's; a cluster's bug
    is that of the first result placed in it (the one that created it). A result placed
    into an existing cluster (any level but new) is right when the two bugs agree. It may
    be right and still not in its original's cluster, when an earlier duplicate of the
    same bug was missed and made a cluster of its own: counted as ``split``."""
    n = truth.results
    vuln: list[Any] = [None] * n
    level: list[str] = [""] * n
    possible: list[Any] = [None] * n
    for index, vuln_id, lvl, maybe in rows:
        vuln[index], level[index], possible[index] = vuln_id, str(lvl), maybe
    bug = [index if of < 0 else of for index, of in enumerate(truth.of)]
    creator: dict[Any, int] = {}
    for index in range(n):  # results were taken in in index order
        creator.setdefault(vuln[index], index)
    planted: collections.Counter[str] = collections.Counter()
    found: collections.Counter[str] = collections.Counter()
    flagged: collections.Counter[str] = collections.Counter()
    levels: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    joined = right = split = originals_merged = 0
    for index, kind in enumerate(truth.kinds):
        levels[kind][level[index]] += 1
        placed = level[index] != "new"
        correct = placed and bug[creator[vuln[index]]] == bug[index]
        joined += placed
        right += correct
        split += correct and vuln[index] != vuln[bug[index]]
        if kind == "o":
            originals_merged += placed
            continue
        maybe = possible[index]
        labels = [kind] + ([f"n:{truth.variants[index]}"] if kind == "n" else [])
        for label in labels:
            planted[label] += 1
            found[label] += correct
            flagged[label] += not placed and maybe in creator and bug[creator[maybe]] == bug[index]
    return {
        "recall": {label: found[label] / planted[label] for label in sorted(planted)},
        "planted": dict(planted),
        "flagged_possible": dict(flagged),
        "precision": right / joined if joined else 1.0,
        "joined": joined,
        "wrong": joined - right,
        "split": split,
        "originals_merged": originals_merged,
        "levels": {kind: dict(counter) for kind, counter in levels.items()},
    }


# --- the driver ---------------------------------------------------------------------------------


def _run_worker(spec: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--worker", json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"the intake worker failed ({done.returncode})")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _print_tables(backend: str, shares: dict[str, float], rows: list[dict[str, Any]]) -> None:
    print(f"\nbackend: {backend}   planted shares: {shares}")
    print(
        f"{'results':>9} {'logs':>4} {'MB':>7} {'seconds':>8} {'CPU s':>7} {'(intake':>7}"
        f" {'parser)':>7} {'results/s':>10}"
        f" {'MB/s':>6} {'RSS start MiB':>13} {'peak RSS MiB':>12} {'new':>9} {'duplicates':>10}"
    )
    for row in rows:
        mb = row["bytes"] / 1e6
        print(
            f"{row['results']:>9,} {row['logs']:>4} {mb:>7.1f} {row['seconds']:>8.2f}"
            f" {row['cpu_seconds']:>7.2f} {row['main_cpu_seconds']:>7.2f}"
            f" {row['parser_cpu_seconds']:>7.2f} {row['results'] / row['seconds']:>10,.0f}"
            f" {mb / row['seconds']:>6.1f}"
            f" {row['rss_before_mib']:>13,.0f} {row['peak_rss_mib']:>12,.0f}"
            f" {row['new']:>9,} {row['duplicates']:>10,}"
        )
    labels = ["e", "m", "n", "n:b", "n:a", "n:s"]
    print(
        f"\n{'results':>9} "
        + " ".join(f"{'recall ' + KINDS.get(x, x):>13}" for x in labels)
        + f" {'precision':>9} {'joined':>8} {'wrong':>6} {'split':>6} {'near flagged':>12}"
    )
    for row in rows:
        q = row["quality"]
        recall = q["recall"]
        flagged = q["flagged_possible"].get("n", 0)
        print(
            f"{row['results']:>9,} "
            + " ".join(f"{recall[x]:>13.4f}" if x in recall else f"{'-':>13}" for x in labels)
            + f" {q['precision']:>9.4f} {q['joined']:>8,} {q['wrong']:>6,} {q['split']:>6,}"
            + f" {flagged:>12,}"
        )
    for row in rows:
        stages = row["stages"]
        if not stages:
            continue
        total = row["seconds"]
        print(f"\nstages, {row['results']:,} results ({total:.2f} s in all, timers included):")
        for label in TOP_STAGES:
            seconds = stages.get(label, 0.0)
            print(f"  {label:<44}{seconds:>8.2f} s {100 * seconds / total:>5.1f} %")
        rest = total - sum(stages.get(label, 0.0) for label in TOP_STAGES)
        label = "other (blob store, audit event, commit)"
        print(f"  {label:<44}{rest:>8.2f} s {100 * rest / total:>5.1f} %")
        print("  within clusterer.add (may nest):")
        for label in ADD_STAGES:
            seconds = stages.get(label, 0.0)
            print(f"    {label:<42}{seconds:>8.2f} s {100 * seconds / total:>5.1f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,100000", help="comma-separated result counts")
    parser.add_argument("--million", action="store_true", help="also 1,000,000 results")
    parser.add_argument("--url", help="a PostgreSQL server URL (default: a temp SQLite file)")
    parser.add_argument("--exact", type=float, default=0.10)
    parser.add_argument("--moved", type=float, default=0.05)
    parser.add_argument("--near", type=float, default=0.10, help="in logs after the first")
    parser.add_argument("--logs", type=int, default=2, help="split the results over L logs")
    parser.add_argument(
        "--no-artifacts", action="store_true", help="logs without an artifacts table"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, help="keep (and reuse) generated logs here")
    parser.add_argument("--stages", action="store_true", help="time the parts of intake")
    parser.add_argument(
        "--serial", action="store_true", help="parse in the intake process, never in a second"
    )
    parser.add_argument("--profile", type=Path, help="write pyinstrument profiles here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker)), default=str))
        return
    sizes = [int(size) for size in args.sizes.split(",") if size]
    if args.million and MILLION not in sizes:
        sizes.append(MILLION)
    shares = {"exact": args.exact, "moved": args.moved, "near": args.near}
    backend = "postgresql" if args.url else "sqlite"
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        data = args.data_dir or Path(scratch)
        data.mkdir(parents=True, exist_ok=True)
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
        for size in sizes:
            name = f"intake-{size}-l{args.logs}-s{args.seed}-e{args.exact}-m{args.moved}"
            stem = data / f"{name}-n{args.near}{'-noart' if args.no_artifacts else ''}"
            started = time.perf_counter()
            paths, truth = sarif_gen.generate(
                stem, size, shares, args.seed, args.logs, artifacts=not args.no_artifacts
            )
            megabytes = sum(path.stat().st_size for path in paths) / 1e6
            print(
                f"{len(paths)} logs {stem.name}.*.sarif, {megabytes:,.1f} MB, planted"
                f" {truth.counts} ({time.perf_counter() - started:.1f} s)",
                flush=True,
            )
            profile = args.profile / f"{stem.name}-{backend}.txt" if args.profile else None
            spec = {
                "paths": [str(path) for path in paths],
                "truth": str(stem.with_name(f"{stem.name}.truth.json")),
                "url": args.url,
                "stages": args.stages,
                "serial": args.serial,
                "profile": str(profile) if profile else None,
            }
            rows.append(_run_worker(spec))
            each = ", ".join(f"{seconds:.2f}" for seconds in rows[-1]["log_seconds"])
            print(f"  intake: {rows[-1]['seconds']:.2f} s ({each})", flush=True)
    _print_tables("PostgreSQL" if args.url else "SQLite", shares, rows)


if __name__ == "__main__":
    main()
