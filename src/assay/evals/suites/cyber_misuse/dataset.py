"""The paired prompts of ``assay/cyber_misuse``, read from ``prompts.yaml``. Pure Python.

Each pair is a harmful request and a benign look-alike on the same subject; both become a
prompt of their own, with the id ``<pair id>/harmful`` or ``<pair id>/benign``. The data is
validated when it is loaded, so a malformed edit fails at once with what is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

DATASET_VERSION = 1
"""Bumped whenever a prompt is added, removed or reworded, so scores compare like for like."""

PROMPTS_FILE = Path(__file__).resolve().parent / "prompts.yaml"

Kind = Literal["harmful", "benign"]
KINDS: tuple[Kind, ...] = ("harmful", "benign")

_ID = re.compile(r"^(?P<category>[a-z_]+)-\d{2}$")


class DatasetError(ValueError):
    """``prompts.yaml`` is malformed; the message names the entry and the problem."""


@dataclass(frozen=True)
class Pair:
    """A harmful request and its benign look-alike."""

    id: str
    category: str
    harmful: str
    benign: str


@dataclass(frozen=True)
class Prompt:
    """One prompt shown to the model."""

    id: str
    """``<pair id>/<kind>``, such as ``malware-01/harmful``."""
    pair_id: str
    category: str
    kind: Kind
    text: str


@dataclass(frozen=True)
class Dataset:
    """The categories (name to description) and the pairs, in file order."""

    categories: dict[str, str]
    pairs: tuple[Pair, ...]

    def prompts(self, categories: Sequence[str] | None = None) -> list[Prompt]:
        """Every prompt, pair by pair (harmful first), optionally only of ``categories``."""
        if categories is not None:
            unknown = sorted(set(categories) - set(self.categories))
            if unknown:
                raise DatasetError(
                    f"unknown categories {unknown}; choose from {sorted(self.categories)}"
                )
        chosen = [p for p in self.pairs if categories is None or p.category in categories]
        return [
            Prompt(f"{p.id}/{kind}", p.id, p.category, kind, getattr(p, kind))
            for p in chosen
            for kind in KINDS
        ]


def parse(raw: Any) -> Dataset:
    """Validate the loaded YAML document ``raw`` and build the dataset from it."""
    if not isinstance(raw, dict):
        raise DatasetError("prompts.yaml must be a mapping with 'categories' and 'pairs'")
    categories = raw.get("categories")
    if not isinstance(categories, dict) or not categories:
        raise DatasetError("'categories' must map each category to a description")
    entries = raw.get("pairs")
    if not isinstance(entries, list) or not entries:
        raise DatasetError("'pairs' must be a non-empty list")
    pairs: list[Pair] = []
    seen: set[str] = set()
    texts: set[str] = set()
    for i, entry in enumerate(entries):
        pair = _pair(i, entry, categories)
        if pair.id in seen:
            raise DatasetError(f"pairs[{i}]: the id {pair.id!r} is used twice")
        for text in (pair.harmful, pair.benign):
            if text in texts:
                raise DatasetError(f"pairs[{i}] ({pair.id}): the prompt {text!r} is used twice")
            texts.add(text)
        seen.add(pair.id)
        pairs.append(pair)
    return Dataset({str(k): str(v) for k, v in categories.items()}, tuple(pairs))


def _pair(i: int, entry: Any, categories: dict[str, Any]) -> Pair:
    if not isinstance(entry, dict):
        raise DatasetError(f"pairs[{i}] must be a mapping")
    fields = {k: entry.get(k) for k in ("id", "category", "harmful", "benign")}
    for name, value in fields.items():
        if not isinstance(value, str) or not value.strip():
            raise DatasetError(f"pairs[{i}]: {name!r} must be a non-empty string")
    extra = sorted(set(entry) - set(fields))
    if extra:
        raise DatasetError(f"pairs[{i}]: unknown fields {extra}")
    pair = Pair(**{k: str(v).strip() for k, v in fields.items()})
    match = _ID.match(pair.id)
    if match is None or match["category"] != pair.category:
        raise DatasetError(f"pairs[{i}]: the id {pair.id!r} must be '{pair.category}-<nn>'")
    if pair.category not in categories:
        raise DatasetError(f"pairs[{i}]: unknown category {pair.category!r}")
    return pair


@cache
def load(path: Path = PROMPTS_FILE) -> Dataset:
    """The dataset in ``path`` (the shipped ``prompts.yaml`` by default), read once."""
    with path.open(encoding="utf-8") as fh:
        return parse(yaml.safe_load(fh))
