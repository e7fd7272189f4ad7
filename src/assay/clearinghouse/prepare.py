"""The database-free part of placing findings, and a process that does it beside intake.

`prepare` computes what deduplication needs from a batch of findings alone: their exact
keys, aliases, scopes and, for those that can reach the near level, MinHash signatures.
`Clusterer.add` then needs the database only to look keys up and to write.

For a large SARIF log that work, with the parse itself, is more than half of intake's
time, and it needs nothing from the transaction: `prepared_batches` runs it in a second
process (a fresh interpreter: forking a server process that holds connections and threads
is unsafe) that streams the log and sends each prepared batch through a pipe, while this
process places and stores the previous one. A full pipe blocks the child, so it runs at
most about a batch ahead and memory stays bounded. A FormatError in the child is sent back and
raised here, so a bad file is still rejected whole, with the same file, pointer and
expectation; anything else that goes wrong in the child fails the intake.
"""

from __future__ import annotations

import contextlib
import itertools
import operator
import os
import pickle
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import IO, Any, BinaryIO

import assay.clearinghouse.dedupe.aliases as alias_rules
from assay.clearinghouse.dedupe import fingerprint, near
from assay.formats import Finding, FormatError, iter_sarif

BATCH = 2_000
# Below this size the child's start (about a second: a fresh interpreter importing the
# parsers) costs more than it saves.
PARALLEL_MIN_BYTES = 32 * 1024 * 1024
_FINDING_FIELDS = operator.attrgetter(*(field.name for field in fields(Finding)))


@dataclass(slots=True)
class Prepared:
    """One batch of findings with what deduplication computes from each alone.

    ``signatures`` holds stored signatures (`near.to_bytes`) for the findings that may
    reach the near level, None for the others; None as a whole when not computed yet (the
    clusterer then computes them itself, skipping those the database already places).
    """

    findings: list[Finding]
    keys: list[list[fingerprint.ExactKey]]
    aliases: list[set[str]]
    scopes: list[str]
    signatures: list[bytes | None] | None = None


class Seen:
    """The exact keys and aliases of the findings prepared so far in one file: a finding
    that shares one is placed by it, and needs no signature.

    It holds their hashes, not the strings (a million results have two million keys): a
    collision only leaves a finding unsigned here, and the clusterer, which decides with
    the strings, signs any finding that reaches the near level without a signature.
    """

    def __init__(self) -> None:
        self.keys: set[int] = set()
        self.aliases: set[int] = set()

    def placed(self, keys: Sequence[fingerprint.ExactKey], aliases: set[str]) -> bool:
        """Whether an earlier finding shares a key or alias; remembers this one's."""
        values = [hash(key.value) for key in keys]
        named = [hash(alias) for alias in aliases]
        found = not self.keys.isdisjoint(values) or not self.aliases.isdisjoint(named)
        self.keys.update(values)
        self.aliases.update(named)
        return found


def aliases_of(f: Finding) -> set[str]:
    return {a for a in (alias_rules.normalize_alias(x) for x in f.aliases) if a}


def prepare(findings: Sequence[Finding], seen: Seen | None = None) -> Prepared:
    """Keys, aliases and scopes of a batch; with `seen`, also the signatures of the
    findings no earlier finding of the file places by key or alias."""
    batch = list(findings)
    keys = [fingerprint.exact_keys(f) for f in batch]
    aliases = [aliases_of(f) for f in batch]
    scopes = [near.near_scope(f) for f in batch]
    prepared = Prepared(batch, keys, aliases, scopes)
    if seen is not None:
        wanted = [
            position
            for position, (f_keys, f_aliases, scope) in enumerate(
                zip(keys, aliases, scopes, strict=True)
            )
            if not seen.placed(f_keys, f_aliases) and scope
        ]
        prepared.signatures = signatures_for(batch, wanted)
    return prepared


def signatures_for(batch: Sequence[Finding], positions: Sequence[int]) -> list[bytes | None]:
    """Stored signatures of the findings at `positions` that have text, None elsewhere;
    computed together, several times faster than one by one."""
    out: list[bytes | None] = [None] * len(batch)
    signed: list[int] = []
    features: list[set[int]] = []
    for position in positions:
        found = near.finding_features(batch[position])
        if found:
            signed.append(position)
            features.append(found)
    for position, sig in zip(signed, near.minhash(features), strict=True):
        out[position] = near.to_bytes(sig)
    return out


def batches(findings: Iterator[Finding], size: int = BATCH) -> Iterator[list[Finding]]:
    while batch := list(itertools.islice(findings, size)):
        yield batch


# --- the second process ----------------------------------------------------------------------


def use_parallel(path: Path, fmt: str) -> bool:
    """Whether to parse in a second process: a large SARIF log, and two CPUs to run on."""
    if fmt != "sarif" or path.stat().st_size < PARALLEL_MIN_BYTES:
        return False
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        cpus = os.cpu_count() or 1
    return cpus >= 2


def prepared_batches(path: Path, source_name: str, max_bytes: int) -> Iterator[Prepared]:
    """The prepared batches of a SARIF log, parsed and prepared in a second process."""
    # A plain child interpreter running this module, not multiprocessing: its "spawn"
    # imports the parent's __main__ again in the child, which re-runs any script that
    # calls intake without an `if __name__ == "__main__"` guard.
    # The name goes as hex: an upload's file name may hold anything, a NUL byte included,
    # which an argument cannot.
    name = source_name.encode("utf-8", "surrogatepass").hex()
    command = [sys.executable, "-m", __name__, str(path), name, str(max_bytes)]
    child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)  # noqa: S603
    assert child.stdout is not None
    try:
        while True:
            message = _receive(child.stdout)
            if message is None:
                raise RuntimeError("the intake parser process ended unexpectedly")
            kind = message[0]
            if kind == "batch":
                yield _decode(message[1])
            elif kind == "end":
                return
            elif kind == "format_error":
                file, pointer, expected, found, line, column = message[1]
                raise FormatError(file, pointer, expected, found=found, line=line, column=column)
            else:
                raise RuntimeError(f"the intake parser process failed: {message[1]}")
    finally:
        child.stdout.close()
        if child.poll() is None:
            child.kill()  # intake stopped early (a bad file, a database error)
        child.wait()


def _send(channel: BinaryIO, message: tuple[Any, ...]) -> None:
    data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    channel.write(len(data).to_bytes(8, "little"))
    channel.write(data)
    channel.flush()


def _receive(channel: IO[bytes]) -> tuple[Any, ...] | None:
    head = channel.read(8)
    if len(head) < 8:
        return None
    size = int.from_bytes(head, "little")
    data = channel.read(size)
    if len(data) < size:
        return None
    message: tuple[Any, ...] = pickle.loads(data)  # noqa: S301 - our own child's output
    return message


def _produce(path: str, source_name: str, max_bytes: int, channel: BinaryIO) -> None:
    """The child: parse, prepare, send; then a final message saying how it ended."""
    seen = Seen()
    try:
        with iter_sarif(Path(path), source_name, max_bytes=max_bytes) as stream:
            for batch in batches(stream):
                _send(channel, ("batch", _encode(prepare(batch, seen))))
        final: tuple[Any, ...] = ("end",)
    except FormatError as exc:
        final = (
            "format_error",
            (exc.file, exc.pointer, exc.expected, exc.found, exc.line, exc.column),
        )
    except Exception as exc:
        final = ("error", f"{type(exc).__name__}: {exc}")
    _send(channel, final)


def _main(argv: Sequence[str]) -> None:
    path, name, max_bytes = argv
    source_name = bytes.fromhex(name).decode("utf-8", "surrogatepass")
    # The pipe to the parent is this process's stdout: keep it for messages alone, and
    # send anything else that writes to stdout to stderr.
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    try:
        _produce(path, source_name, int(max_bytes), channel)
    except BrokenPipeError:
        pass  # the parent stopped reading: it has failed or finished the intake
    finally:
        with contextlib.suppress(BrokenPipeError):
            channel.close()


# Findings and keys travel as plain tuples: pickling dataclasses and named tuples by
# reference costs three times as much.


def _encode(prepared: Prepared) -> tuple[Any, ...]:
    return (
        [_FINDING_FIELDS(f) for f in prepared.findings],
        [[tuple(key) for key in keys] for keys in prepared.keys],
        prepared.aliases,
        prepared.scopes,
        prepared.signatures,
    )


def _decode(encoded: tuple[Any, ...]) -> Prepared:
    findings, keys, aliases, scopes, signatures = encoded
    make_key = fingerprint.ExactKey._make
    return Prepared(
        [Finding(*values) for values in findings],
        [[make_key(key) for key in f_keys] for f_keys in keys],
        aliases,
        scopes,
        signatures,
    )


if __name__ == "__main__":
    _main(sys.argv[1:])
