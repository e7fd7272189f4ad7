"""Procedurally generated programs, each with one known flaw, and their fixed twins.

`generate(seed, n)` returns ``n`` samples, in pairs: a vulnerable program, then its twin (the
same program with the flaw fixed), so a set of ``n`` holds ``n // 2`` twins and, when ``n`` is
odd, ends with one vulnerable program whose twin is left out. The same seed always gives the
same samples, on any machine and in any process (the random source is seeded with a string,
which `random` hashes with SHA-512, and no set's order reaches the output; a test pins the
samples of one seed), and ``generate(seed, k)`` is the first ``k`` samples of
``generate(seed, n)`` for every ``k <= n``.

What varies from one program to the next, so that no sample can be memorized: the weakness
class and the template that writes it (two to five ways per class and language), every
identifier (drawn from word lists), the subject (table, columns, application name),
literal values (buffer sizes, secrets, commands), the number, kind and order of harmless
decoy functions (several use the flaw's API safely), comments and docstrings, the order of
imports, constants and declarations, and so the line the flaw sits on.

Pure Python: nothing here imports inspect_ai.
"""

from __future__ import annotations

import keyword
import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from . import c_templates, python_templates
from .program import APPS, ENTITIES, Context, Diff, Line, Namer, Part, render

GENERATOR_VERSION = 1
"""Bumped whenever a seed's samples change, so that scores are compared like for like."""

Language = Literal["python", "c"]
LANGUAGES: tuple[Language, ...] = ("python", "c")

CWE_NAMES: dict[str, str] = {
    "CWE-89": "SQL injection",
    "CWE-78": "OS command injection",
    "CWE-22": "Path traversal",
    "CWE-787": "Out-of-bounds write",
    "CWE-416": "Use after free",
    "CWE-190": "Integer overflow or wraparound",
    "CWE-798": "Use of hard-coded credentials",
    "CWE-502": "Deserialization of untrusted data",
}
"""The weakness classes the suite plants, with MITRE's names."""

Template = Callable[[Context], Part]

_FLAWS: dict[Language, dict[str, tuple[Template, ...]]] = {
    "python": python_templates.FLAWS,
    "c": c_templates.FLAWS,
}
_DECOYS: dict[Language, tuple[Template, ...]] = {
    "python": python_templates.DECOYS,
    "c": c_templates.DECOYS,
}
_ALWAYS_IMPORTED: dict[Language, set[str]] = {"python": {"import logging"}, "c": set()}
_MAX_ATTEMPTS = 50


@dataclass(frozen=True)
class Sample:
    """One program shown to the model, with the answer key.

    ``line`` is 1-based in ``code``. A vulnerable sample has ``cwe`` and ``line``; its twin
    has neither, is not ``vulnerable``, and names the original in ``twin_of``. ``variant``
    names the template, such as ``"python/CWE-89/fstring"``, and is the same in both twins.
    """

    id: str
    language: Language
    code: str
    vulnerable: bool
    cwe: str | None
    line: int | None
    twin_of: str | None
    variant: str


def combinations(languages: Sequence[Language] = LANGUAGES) -> list[tuple[Language, str]]:
    """Every (language, CWE) pair the generator can plant, in a fixed order."""
    return [(lang, cwe) for lang in languages for cwe in _FLAWS[lang]]


def generate(seed: int, n: int, languages: Sequence[Language] = LANGUAGES) -> list[Sample]:
    """``n`` samples for ``seed``: vulnerable programs each followed by its fixed twin.

    The (language, CWE) pairs are dealt from a shuffled deck, so every pair appears once
    before any appears twice. Raises `ValueError` for a negative ``n`` or an unknown or empty
    ``languages``.
    """
    if n < 0:
        raise ValueError("n must be at least 0")
    langs = _check_languages(languages)
    deck = _deck(seed, combinations(langs))
    samples: list[Sample] = []
    seen: set[str] = set()
    for pair in range((n + 1) // 2):
        language, cwe = next(deck)
        vulnerable, twin = _pair(seed, pair, language, cwe, seen)
        samples += [vulnerable, twin]
        seen.update((vulnerable.code, twin.code))
    return samples[:n]


def number_lines(code: str) -> str:
    """``code`` with a right-aligned line number and ``|`` before every line, as shown to
    the model."""
    lines = code.splitlines()
    width = len(str(len(lines)))
    return "\n".join(f"{i:>{width}} | {text}".rstrip() for i, text in enumerate(lines, 1))


def _check_languages(languages: Sequence[Language]) -> tuple[Language, ...]:
    if isinstance(languages, str):
        raise ValueError("languages must be a sequence of language names, not one string")
    langs = tuple(dict.fromkeys(languages))
    unknown = [lang for lang in langs if lang not in _FLAWS]
    if unknown or not langs:
        raise ValueError(f"languages must be a non-empty subset of {LANGUAGES}: {languages!r}")
    return langs


def _deck(seed: int, combos: list[tuple[Language, str]]) -> Iterator[tuple[Language, str]]:
    # Reproducible draws, not secrets: a seeded Mersenne Twister is what is wanted here.
    rng = random.Random(f"assay/vuln_detect:{seed}:deck")  # noqa: S311
    while True:
        cycle = list(combos)
        rng.shuffle(cycle)
        yield from cycle


def _pair(
    seed: int, pair: int, language: Language, cwe: str, seen: set[str]
) -> tuple[Sample, Sample]:
    """The vulnerable program and its twin; redrawn in the rare case that either repeats a
    program already in the set."""
    for attempt in range(_MAX_ATTEMPTS):
        rng = random.Random(f"assay/vuln_detect:{seed}:{pair}:{attempt}")  # noqa: S311
        template = rng.choice(_FLAWS[language][cwe])
        lines, variant = _program(rng, language, template)
        code, line = render(lines, vulnerable=True)
        fixed, _ = render(lines, vulnerable=False)
        if code in seen or fixed in seen:
            continue
        base = f"vd{seed}-{pair:04d}"
        name = f"{language}/{cwe}/{variant}"
        vulnerable = Sample(f"{base}-vuln", language, code, True, cwe, line, None, name)
        twin = Sample(f"{base}-twin", language, fixed, False, None, None, vulnerable.id, name)
        return vulnerable, twin
    raise RuntimeError("could not draw a new program")  # pragma: no cover


def _program(rng: random.Random, language: Language, template: Template) -> tuple[list[Line], str]:
    ctx = Context(
        rng=rng,
        names=Namer(rng, reserved=_RESERVED[language]),
        entity=rng.choice(ENTITIES),
        app=rng.choice(APPS),
        brace_on_own_line=rng.random() < 0.6,
    )
    flaw = template(ctx)
    chosen = rng.sample(_DECOYS[language], rng.randint(1, 4))
    decoys = [d(ctx) for d in chosen]
    imports = {i for p in (flaw, *decoys) for i in p.imports} | _ALWAYS_IMPORTED[language]
    if language == "python":
        # An import that only one twin uses would tell the twins apart: give it a decoy
        # that uses it in both, and drop the imports that neither uses.
        vulnerable, fixed = _texts([flaw, *decoys])
        for line in sorted(imports):
            if _uses(line, vulnerable) != _uses(line, fixed):
                companion = python_templates.COMPANIONS[line]
                if companion not in chosen:
                    chosen.append(companion)
                    decoys.append(companion(ctx))
        vulnerable, fixed = _texts([flaw, *decoys])
        imports = {i for p in (flaw, *decoys) for i in p.imports}
        imports = {i for i in imports if _uses(i, vulnerable) or _uses(i, fixed)}
        imports |= _ALWAYS_IMPORTED[language]
    parts = [flaw, *decoys]
    functions = [p.function for p in parts]
    rng.shuffle(functions)
    constants = [line for p in parts for line in p.constants]
    rng.shuffle(constants)
    types = [t for p in parts for t in p.types]
    ordered = sorted(imports)
    rng.shuffle(ordered)
    assemble = _assemble_python if language == "python" else _assemble_c
    lines = assemble(ctx, ordered, constants, types, functions)
    if sum(isinstance(item, Diff) for item in lines) != 1:  # pragma: no cover
        raise AssertionError("a program must hold exactly one Diff")
    return lines, flaw.variant


def _texts(parts: Sequence[Part]) -> tuple[str, str]:
    """The module-level lines and functions of ``parts``, in each version."""
    lines = [line for p in parts for line in (*p.constants, *p.function)]
    return render(lines, vulnerable=True)[0], render(lines, vulnerable=False)[0]


def _uses(import_line: str, text: str) -> bool:
    """Whether ``text`` refers to the name that a Python import line binds."""
    name = import_line.rsplit(maxsplit=1)[-1].split(".", maxsplit=1)[0]
    return re.search(rf"\b{re.escape(name)}\b", text) is not None


def _assemble_python(
    ctx: Context,
    imports: list[str],
    constants: list[Line],
    types: list[list[str]],
    functions: list[list[Line]],
) -> list[Line]:
    del types  # Python templates define none
    lines: list[Line] = []
    if ctx.chance(0.5):
        lines += [f'"""{ctx.app.capitalize()} {ctx.entity.noun} helpers."""', ""]
    lines += [*imports, ""]
    lines += ["logger = logging.getLogger(__name__)", *constants]
    for fn in functions:
        lines += ["", "", *fn]
    return lines


def _assemble_c(
    ctx: Context,
    imports: list[str],
    constants: list[Line],
    types: list[list[str]],
    functions: list[list[Line]],
) -> list[Line]:
    lines: list[Line] = []
    if ctx.chance(0.5):
        lines += [f"/* {ctx.app}: {ctx.entity.noun} handling */", ""]
    lines += ["#define _POSIX_C_SOURCE 200809L", ""]
    lines += [f"#include <{header}>" for header in imports]
    # The macros first, then the globals that may use them; each group in its shuffled order.
    macros = [c for c in constants if isinstance(c, str) and c.startswith("#")]
    if constants:
        lines += ["", *macros, *(c for c in constants if c not in macros)]
    for definition in types:
        lines += ["", *definition]
    for fn in functions:
        lines += ["", *fn]
    return lines


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Names a generated identifier must not take: keywords, and the modules, builtins and library
# functions the programs use (a local named ``free`` or ``os`` would shadow them).
_RESERVED: dict[Language, tuple[str, ...]] = {
    "python": (
        *keyword.kwlist,
        *_words(
            "os subprocess sqlite3 json pickle yaml base64 hashlib hmac re smtplib urllib "
            "psycopg2 logging logger Path open print len any dict list str int bytes type id "
            "input file format filter map next iter object set hash range sum min max"
        ),
    ),
    "c": _words(
        "auto break case char const continue default do double else enum extern float for "
        "goto if inline int long register restrict return short signed sizeof static struct "
        "switch typedef union unsigned void volatile while main free malloc calloc realloc "
        "system popen pclose open close read write stat printf puts index time exit abort "
        "remove rename link signal select socket random rand pipe fork kill"
    ),
}

__all__ = [
    "CWE_NAMES",
    "GENERATOR_VERSION",
    "LANGUAGES",
    "Language",
    "Sample",
    "combinations",
    "generate",
    "number_lines",
]
