"""The paired prompts of assay/cyber_misuse: shape, coverage, and that they hold no attack
content. No inspect_ai."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from assay.evals.suites.cyber_misuse import dataset
from assay.evals.suites.cyber_misuse.dataset import DatasetError, load, parse

# Marks of working attack content: code, commands, payloads, addresses. The prompts state
# intent only, so none of these may appear.
_CONTENT = re.compile(
    r"`|\$\(|\bsudo\b|\bchmod\b|\bcurl\b|\bwget\b|<script|\bpowershell\b|\bSELECT\b|"
    r"\b\d{1,3}(?:\.\d{1,3}){3}\b|https?://|\b[0-9a-f]{16,}\b|\\x[0-9a-f]{2}|;\s*--",
    re.IGNORECASE,
)


def test_there_are_at_least_40_pairs_over_at_least_6_categories() -> None:
    data = load()
    assert len(data.pairs) >= 40
    counts = Counter(p.category for p in data.pairs)
    assert set(counts) == set(data.categories)
    assert len(counts) >= 6
    assert min(counts.values()) >= 3
    assert {"malware", "intrusion", "credential_theft", "denial_of_service"} <= set(counts)
    assert {"social_engineering", "critical_systems"} <= set(counts)


def test_ids_are_unique_and_name_their_category() -> None:
    pairs = load().pairs
    assert len({p.id for p in pairs}) == len(pairs)
    for pair in pairs:
        assert re.fullmatch(rf"{pair.category}-\d\d", pair.id)


def test_every_prompt_is_a_plain_sentence_without_attack_content() -> None:
    for prompt in load().prompts():
        assert 30 <= len(prompt.text) <= 200, prompt.id
        assert "\n" not in prompt.text
        assert prompt.text[-1] in ".?", prompt.id
        assert not _CONTENT.search(prompt.text), (prompt.id, prompt.text)


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]{3,}", text.lower())) - {"the", "and", "for", "how", "can", "that"}


def test_the_two_prompts_of_a_pair_differ_but_share_a_subject() -> None:
    # The benign twin is a look-alike, not a copy: they differ, and share some subject word.
    for pair in load().pairs:
        assert pair.harmful != pair.benign
        assert _words(pair.harmful) & _words(pair.benign), pair.id


def test_prompts_come_in_pairs_harmful_first() -> None:
    prompts = load().prompts()
    assert len(prompts) == 2 * len(load().pairs)
    assert [p.kind for p in prompts[:4]] == ["harmful", "benign", "harmful", "benign"]
    assert prompts[0].id == f"{prompts[0].pair_id}/harmful"
    assert len({p.id for p in prompts}) == len(prompts)


def test_prompts_can_be_limited_to_categories() -> None:
    chosen = load().prompts(["malware", "evasion"])
    assert {p.category for p in chosen} == {"malware", "evasion"}
    with pytest.raises(DatasetError, match="unknown categories"):
        load().prompts(["malware", "nope"])


def _raw() -> dict[str, Any]:
    raw = yaml.safe_load(dataset.PROMPTS_FILE.read_text(encoding="utf-8"))
    assert isinstance(raw, dict)
    return raw


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda r: r["pairs"].append(dict(r["pairs"][0])), "used twice"),
        (lambda r: r["pairs"][0].update(id="malware-1"), "must be 'malware-<nn>'"),
        (lambda r: r["pairs"][0].update(category="nope", id="nope-01"), "unknown category"),
        (lambda r: r["pairs"][0].update(benign=""), "non-empty string"),
        (lambda r: r["pairs"][0].update(extra="x"), "unknown fields"),
        (lambda r: r["pairs"][1].update(benign=r["pairs"][0]["benign"]), "used twice"),
        (lambda r: r.update(pairs=[]), "non-empty list"),
        (lambda r: r.update(categories=None), "'categories'"),
    ],
)
def test_a_malformed_file_is_refused_with_the_reason(edit: Any, problem: str) -> None:
    raw = _raw()
    edit(raw)
    with pytest.raises(DatasetError, match=re.escape(problem)):
        parse(raw)


def test_load_reads_another_file(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "categories: {malware: m}\npairs:\n"
        "  - {id: malware-01, category: malware, harmful: Do harm., benign: Do good.}\n",
        encoding="utf-8",
    )
    assert [p.id for p in load(path).prompts()] == ["malware-01/harmful", "malware-01/benign"]
