"""What a generated program is made of, and how one is rendered as the flawed or the fixed twin.

A program is a flat list of lines. Exactly one item of that list is a `Diff`: the region where
the vulnerable version and its fixed twin differ, with the index of the line that is recorded
as the flaw. Everything else is shared, so the twins differ only there by construction.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Diff:
    """The lines that differ between the vulnerable program and its fixed twin.

    ``flaw`` indexes ``vulnerable``: the line recorded as the flaw. A flaw that is built on
    one statement and used on the next (a query string, then its execution) puts both in
    ``vulnerable`` and records the use; the two are adjacent, so an answer naming either is
    within the scorer's one-line tolerance.
    """

    vulnerable: tuple[str, ...]
    fixed: tuple[str, ...]
    flaw: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.flaw < len(self.vulnerable):
            raise ValueError("flaw must index a line of the vulnerable version")
        if self.vulnerable == self.fixed:
            raise ValueError("a Diff must differ")


Line = str | Diff


@dataclass
class Part:
    """A contribution to a program: its imports, module-level lines and one function.

    ``imports`` are whole lines in Python and header names in C; ``constants`` are single
    lines that may be shuffled; ``types`` are multi-line definitions (C structs). The flaw's
    part carries the program's one `Diff`, in ``constants`` or ``function``;
    decoy parts carry none.
    """

    function: list[Line]
    imports: set[str] = field(default_factory=set)
    constants: list[Line] = field(default_factory=list)
    variant: str = ""
    types: list[list[str]] = field(default_factory=list)


@dataclass
class Context:
    """What a template draws on: the program's random source, its names and its subject."""

    rng: random.Random
    names: Namer
    entity: Entity
    app: str
    brace_on_own_line: bool = True

    def chance(self, p: float) -> bool:
        """True with probability ``p``."""
        return self.rng.random() < p


def render(lines: Sequence[Line], *, vulnerable: bool) -> tuple[str, int | None]:
    """The program's text, and in the vulnerable version the 1-based line of the flaw."""
    out: list[str] = []
    flaw: int | None = None
    for item in lines:
        if isinstance(item, Diff):
            if vulnerable:
                flaw = len(out) + item.flaw + 1
                out.extend(item.vulnerable)
            else:
                out.extend(item.fixed)
        else:
            out.append(item)
    return "\n".join(out) + "\n", flaw


def indent(level: int, text: str) -> str:
    """``text`` indented by ``level`` steps of four spaces."""
    return "    " * level + text


class Namer:
    """Picks identifiers at random, never the same one twice in a program."""

    def __init__(self, rng: random.Random, reserved: Sequence[str] = ()) -> None:
        self.rng = rng
        self.used: set[str] = set(reserved)

    def pick(self, options: Sequence[str]) -> str:
        """An unused name among ``options``; a numbered one if all are taken."""
        free = [o for o in options if o not in self.used]
        if free:
            name = self.rng.choice(free)
        else:
            base = self.rng.choice(options)
            suffix = 2
            while f"{base}_{suffix}" in self.used:
                suffix += 1
            name = f"{base}_{suffix}"
        self.used.add(name)
        return name

    def function(self, noun: str, verbs: Sequence[str] = ()) -> str:
        """A ``verb_noun`` function name."""
        return self.pick([f"{v}_{noun}" for v in (verbs or VERBS)])

    def constant(self, options: Sequence[str]) -> str:
        """An upper-case module constant."""
        return self.pick([o.upper() for o in options])


VERBS = (
    "load",
    "fetch",
    "get",
    "read",
    "find",
    "lookup",
    "resolve",
    "open",
    "handle",
    "process",
    "prepare",
    "collect",
    "build",
    "sync",
    "refresh",
)


@dataclass(frozen=True)
class Entity:
    """A thing a program is about: a table name and a few text columns."""

    noun: str
    table: str
    columns: tuple[str, ...]


ENTITIES = (
    Entity("customer", "customers", ("email", "name", "city", "phone")),
    Entity("invoice", "invoices", ("number", "status", "currency", "notes")),
    Entity("ticket", "tickets", ("title", "status", "assignee", "priority")),
    Entity("device", "devices", ("serial", "owner", "model", "location")),
    Entity("order", "orders", ("reference", "status", "channel", "coupon")),
    Entity("employee", "employees", ("badge", "email", "department", "manager")),
    Entity("book", "books", ("isbn", "title", "author", "shelf")),
    Entity("shipment", "shipments", ("tracking_code", "carrier", "status", "destination")),
    Entity("member", "members", ("username", "email", "tier", "region")),
    Entity("project", "projects", ("slug", "owner", "state", "label")),
    Entity("sensor", "sensors", ("tag", "site", "kind", "unit")),
    Entity("booking", "bookings", ("code", "guest", "room", "status")),
)

APPS = (
    "ledger",
    "harbor",
    "atlas",
    "beacon",
    "orchard",
    "quill",
    "summit",
    "tidal",
    "willow",
    "cobalt",
    "meridian",
    "juniper",
)

DIRS = ("uploads", "exports", "reports", "attachments", "static", "media", "archive", "spool")

DOC_PHRASES = (
    "{Verb} the {noun} records.",
    "Helper for the {noun} views.",
    "{Verb} {noun} data for the caller.",
    "Used by the nightly {noun} job.",
    "Small wrapper kept for the {noun} admin pages.",
    "{Verb} one {noun}.",
)


def doc_phrase(rng: random.Random, noun: str) -> str:
    """A neutral one-line description of a function about ``noun``."""
    verb = rng.choice(("Load", "Fetch", "Return", "Update", "Handle", "Prepare", "Read"))
    return rng.choice(DOC_PHRASES).format(Verb=verb, noun=noun)


_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def secret(rng: random.Random) -> str:
    """A random credential-looking string: a password or an API token."""
    kind = rng.randrange(3)
    if kind == 0:
        word = rng.choice(("Summer", "Winter", "Falcon", "Orchid", "Granite", "Harbor", "Zephyr"))
        return f"{word}{rng.randrange(10, 10000)}{rng.choice('!#$&*?')}"
    if kind == 1:
        prefix = rng.choice(("ak_", "tok_", "key_", "svc_"))
        return prefix + "".join(rng.choice(_ALNUM) for _ in range(rng.randrange(20, 33)))
    return "".join(rng.choice("0123456789abcdef") for _ in range(rng.choice((32, 40))))
