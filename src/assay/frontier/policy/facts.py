"""The model facts a coverage policy may read, and how a fact's value is checked.

A fact absent from the mapping, or mapped to ``None``, is *missing*: missing is never
zero, because a developer who has not said how much compute it used has not said "none".
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from assay.frontier.policy.errors import FactError

BENCHMARK_PREFIX: Final = "benchmark."
_BENCHMARK_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")

FactValue = bool | int | float | tuple[str, ...]
"""A fact's value once read: a number, a yes/no, or a tuple of strings."""


class FactType(StrEnum):
    NUMBER = "number"
    BOOL = "true or false"
    STRINGS = "list of strings"


@dataclass(frozen=True)
class FactSpec:
    """What one fact means and which values it takes."""

    type: FactType
    description: str
    nonnegative: bool = False
    """A quantity that cannot be below zero, so a sum of such facts only grows as parts
    become known; only these may be summed."""


FACTS: Final[Mapping[str, FactSpec]] = {
    "training_flop": FactSpec(
        FactType.NUMBER, "pre-training compute, integer or floating-point operations", True
    ),
    "finetune_flop": FactSpec(
        FactType.NUMBER,
        "compute of fine-tuning, reinforcement learning and other later modifications",
        True,
    ),
    "parameters": FactSpec(FactType.NUMBER, "number of model parameters", True),
    "bio_sequence_data": FactSpec(FactType.BOOL, "trained primarily on biological sequence data"),
    "revenue_usd": FactSpec(
        FactType.NUMBER, "the developer's annual gross revenue with affiliates, US dollars", True
    ),
    "eu_business_users": FactSpec(
        FactType.NUMBER, "registered business users established in the European Union", True
    ),
    "modalities": FactSpec(FactType.STRINGS, "input and output modalities, e.g. text, image"),
}
_BENCHMARK_SPEC: Final = FactSpec(FactType.NUMBER, "a self-reported benchmark score")


def known_facts_hint() -> str:
    return ", ".join([*FACTS, f"{BENCHMARK_PREFIX}<name>"])


def fact_spec(name: str) -> FactSpec | None:
    """The spec of a fact name, or ``None`` when the language has no such fact."""
    if name.startswith(BENCHMARK_PREFIX):
        rest = name.removeprefix(BENCHMARK_PREFIX)
        return _BENCHMARK_SPEC if _BENCHMARK_NAME.fullmatch(rest) else None
    return FACTS.get(name)


def unknown_fact_message(name: str) -> str:
    close = difflib.get_close_matches(name, list(FACTS), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"unknown fact '{name}' (known: {known_facts_hint()}){hint}"


def _lookup(facts: Mapping[str, object], name: str) -> object:
    if name in facts or not name.startswith(BENCHMARK_PREFIX):
        return facts.get(name)
    # Benchmark names are self-reported, so "CyBench" must still count as "cybench"; an
    # ambiguous spelling counts as missing rather than picking one at random.
    wanted = name.casefold()
    found = [v for k, v in facts.items() if k.casefold() == wanted]
    return found[0] if len(found) == 1 else None


def read_fact(facts: Mapping[str, object], name: str) -> FactValue | None:
    """The checked value of a fact, or ``None`` if it is missing.

    Raises ``FactError`` when the value has the wrong kind, because an outcome computed
    from it would look authoritative and mean nothing.
    """
    spec = fact_spec(name)
    assert spec is not None, name  # the parser admits only known facts
    value = _lookup(facts, name)
    if value is None:
        return None
    if spec.type is FactType.BOOL:
        if isinstance(value, bool):
            return value
        raise FactError(f"fact '{name}' must be true or false, got {value!r}")
    if spec.type is FactType.STRINGS:
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise FactError(f"fact '{name}' must be a list of strings, got {value!r}")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FactError(f"fact '{name}' must be a number, got {value!r}")
    if not math.isfinite(value):
        raise FactError(f"fact '{name}' must be a finite number, got {value!r}")
    if spec.nonnegative and value < 0:
        raise FactError(f"fact '{name}' cannot be negative, got {value!r}")
    return value
