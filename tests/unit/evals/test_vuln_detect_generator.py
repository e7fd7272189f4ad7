"""The vuln_detect generator: deterministic, varied, valid programs whose key is right.

None of these tests needs inspect_ai.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from assay.evals.suites.vuln_detect.generator import (
    CWE_NAMES,
    GENERATOR_VERSION,
    Sample,
    combinations,
    generate,
    number_lines,
)

SEEDS = range(4)
N = 44  # two rounds of the 11 (language, CWE) pairs, each with its twin


@pytest.fixture(scope="module")
def sets() -> dict[int, list[Sample]]:
    return {seed: generate(seed, N) for seed in SEEDS}


def _pairs(samples: list[Sample]) -> list[tuple[Sample, Sample]]:
    return list(zip(samples[::2], samples[1::2], strict=True))


def test_the_same_seed_gives_the_same_samples() -> None:
    assert generate(7, 30) == generate(7, 30)


# The digest of `generate(0, 22)`. When a change to the generator changes it, bump
# GENERATOR_VERSION (scores of different versions are not comparable) and update it here.
PINNED_VERSION = 1
PINNED_DIGEST = "61220eb4ca7931bd8b7065b2320cb0c9a6a01e914899b142fd7a750d9c39e68c"
_IN_A_NEW_PROCESS = (
    "import hashlib, sys\n"
    "from assay.evals.suites.vuln_detect.generator import generate\n"
    "import assay.evals.suites.vuln_detect.scoring\n"
    "assert not [m for m in sys.modules if m.split('.')[0] == 'inspect_ai'], 'inspect_ai'\n"
    "print(hashlib.sha256(repr(generate(0, 22)).encode()).hexdigest())\n"
)


def _digest(samples: list[Sample]) -> str:
    return hashlib.sha256(repr(samples).encode()).hexdigest()


def test_seed_0_is_pinned_in_any_process() -> None:
    """The same digest here and in a process with another hash seed, which also shows that
    generating and scoring do not import inspect_ai."""
    assert GENERATOR_VERSION == PINNED_VERSION
    assert _digest(generate(0, 22)) == PINNED_DIGEST
    result = subprocess.run(
        [sys.executable, "-c", _IN_A_NEW_PROCESS],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == PINNED_DIGEST


def test_a_smaller_set_is_a_prefix_of_a_larger_one() -> None:
    large = generate(3, 30)
    assert generate(3, 11) == large[:11]
    assert generate(3, 0) == []


def test_different_seeds_give_different_programs(sets: dict[int, list[Sample]]) -> None:
    codes = [{s.code for s in samples} for samples in sets.values()]
    for i, a in enumerate(codes):
        for b in codes[i + 1 :]:
            assert not a & b


def test_no_two_samples_in_a_set_are_identical(sets: dict[int, list[Sample]]) -> None:
    for samples in sets.values():
        assert len({s.code for s in samples}) == len(samples) == N
        assert len({s.id for s in samples}) == N


def test_samples_come_as_a_vulnerable_program_then_its_twin(
    sets: dict[int, list[Sample]],
) -> None:
    for samples in sets.values():
        for vuln, twin in _pairs(samples):
            assert vuln.vulnerable and vuln.cwe in CWE_NAMES and vuln.line is not None
            assert vuln.twin_of is None
            assert not twin.vulnerable and twin.cwe is None and twin.line is None
            assert twin.twin_of == vuln.id
            assert (twin.language, twin.variant) == (vuln.language, vuln.variant)
            assert vuln.variant.startswith(f"{vuln.language}/{vuln.cwe}/")


def test_an_odd_count_ends_with_a_vulnerable_program() -> None:
    samples = generate(1, 5)
    assert [s.vulnerable for s in samples] == [True, False, True, False, True]


def test_every_language_and_class_appears_before_any_repeats() -> None:
    combos = combinations()
    samples = generate(11, 2 * len(combos))
    planted = [(s.language, s.cwe) for s in samples if s.vulnerable]
    assert sorted(planted) == sorted(combos)
    assert {cwe for _, cwe in combos} == set(CWE_NAMES)
    assert len(CWE_NAMES) >= 8


def test_languages_can_be_chosen() -> None:
    assert {s.language for s in generate(2, 12, ("c",))} == {"c"}
    assert {s.language for s in generate(2, 12, ["python"])} == {"python"}


@pytest.mark.parametrize(
    ("n", "languages"),
    [(-1, ("python",)), (2, ()), (2, ("rust",)), (2, "python")],
)
def test_bad_arguments_are_refused(n: int, languages: tuple[str, ...] | str) -> None:
    with pytest.raises(ValueError):
        generate(0, n, languages)  # type: ignore[arg-type]


def test_every_python_sample_compiles(sets: dict[int, list[Sample]]) -> None:
    count = 0
    for samples in sets.values():
        for s in samples:
            if s.language == "python":
                compile(s.code, s.id, "exec")
                count += 1
    assert count > 0


def test_python_samples_use_every_import_and_define_every_name(
    sets: dict[int, list[Sample]], tmp_path: Path
) -> None:
    """Pyflakes' checks, through ruff: an import only one twin used would give it away."""
    pytest.importorskip("ruff")
    for samples in sets.values():
        for s in samples:
            if s.language == "python":
                (tmp_path / f"{s.id.replace('-', '_')}.py").write_text(s.code)
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--select", "F", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[:4000]


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")
def test_every_c_sample_compiles(sets: dict[int, list[Sample]], tmp_path: Path) -> None:
    files = []
    for samples in sets.values():
        for s in samples:
            if s.language == "c":
                path = tmp_path / f"{s.id}.c"
                path.write_text(s.code)
                files.append(str(path))
    assert files
    # Two compilers at once, one per core of the machine the suite is sized for.
    command = ["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-fsyntax-only"]
    runs = [
        subprocess.Popen([*command, *files[i::2]], stderr=subprocess.PIPE, text=True)
        for i in range(2)
    ]
    for run in runs:
        _, errors = run.communicate()
        assert run.returncode == 0, errors[:4000]


# What the recorded line of each class must hold. A flaw built on one statement and used on
# the next records the use; `_BUILT` then checks the line before or the line itself.
_SINKS: dict[tuple[str, str], str] = {
    ("python", "CWE-89"): r"\.execute\(",
    ("python", "CWE-78"): r"os\.system\(|os\.popen\(|shell=True",
    ("python", "CWE-22"): r"\bopen\(|\.read_text\(",
    ("python", "CWE-502"): r"pickle\.loads?\(|yaml\.load\(",
    ("c", "CWE-787"): r"\bstrcpy\(|\bsprintf\(|\bmemcpy\(|\w+\[\w+\]\s*=[^=]",
    ("c", "CWE-190"): r"^\s*(size_t|int|unsigned int|uint32_t) \w+ = [^;]*[*+][^;]*;$",
    ("c", "CWE-78"): r"\bsystem\(|\bpopen\(",
    ("c", "CWE-22"): r"\bfopen\(|\bopen\(",
}
_BUILT: dict[tuple[str, str], str] = {
    ("python", "CWE-89"): r"(SELECT|UPDATE|DELETE|INSERT).*(\{|%|\+|\.format\()",
    ("python", "CWE-22"): r"os\.path\.join\(|\+ \"/\" \+| / ",
    ("c", "CWE-78"): r'snprintf\(.*"[^"]*%s',
    ("c", "CWE-22"): r'snprintf\(.*"%s/%s"',
}


def _literals(line: str) -> list[str]:
    return [m for m in re.findall(r'"([^"]*)"', line) if len(m) >= 8]


def test_the_recorded_line_holds_the_flaw(sets: dict[int, list[Sample]]) -> None:
    checked: set[str] = set()
    for samples in sets.values():
        for vuln, twin in _pairs(samples):
            assert vuln.line is not None and vuln.cwe is not None
            lines = vuln.code.splitlines()
            flaw = lines[vuln.line - 1]
            key = (vuln.language, vuln.cwe)
            if key in _SINKS:
                assert re.search(_SINKS[key], flaw), (vuln.variant, flaw)
            if key in _BUILT:
                window = "\n".join(lines[vuln.line - 2 : vuln.line])
                assert re.search(_BUILT[key], window), (vuln.variant, window)
            if vuln.cwe == "CWE-798":
                # A credential literal on the line, and gone from the twin.
                secrets = [lit for lit in _literals(flaw) if lit not in twin.code]
                assert secrets, (vuln.variant, flaw)
            if vuln.cwe == "CWE-416":
                # A pointer freed just before, used on the line.
                before = "\n".join(lines[max(0, vuln.line - 3) : vuln.line - 1])
                freed = re.findall(r"free\((\w+)\)", before)
                assert freed and re.search(rf"\b{freed[-1]}\b", flaw), (vuln.variant, flaw)
                assert "free(" not in flaw
            checked.add(vuln.variant)
    assert len(checked) >= 30  # nearly every template, in four seeds


def test_twins_differ_only_around_the_flaw(sets: dict[int, list[Sample]]) -> None:
    for samples in sets.values():
        for vuln, twin in _pairs(samples):
            assert vuln.line is not None
            a, b = vuln.code.splitlines(), twin.code.splitlines()
            changes = list(difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes())
            changed = [(i1, i2) for tag, i1, i2, _, _ in changes if tag != "equal"]
            assert changed, vuln.id
            flaw = vuln.line - 1  # 0-based
            for i1, i2 in changed:
                # Within the two lines before the flaw and the flaw's own line.
                assert flaw - 2 <= i1 <= i2 <= flaw + 1, (vuln.variant, vuln.line, changes)


def test_the_flaw_moves(sets: dict[int, list[Sample]]) -> None:
    lines: dict[tuple[str, str | None], set[int]] = defaultdict(set)
    for samples in sets.values():
        for s in samples:
            if s.vulnerable and s.line is not None:
                lines[(s.language, s.cwe)].add(s.line)
    assert len(lines) == len(combinations())
    for key, seen in lines.items():
        assert len(seen) >= 3, (key, seen)


def test_identifiers_vary() -> None:
    """The same template, drawn again, names its function differently."""
    names: dict[str, set[str]] = defaultdict(set)
    for seed in range(8):
        for s in generate(seed, 22):
            names[s.variant].update(re.findall(r"(?:def |\w+ \**)(\w+)\(", s.code))
    assert sum(len(v) for v in names.values()) > 3 * len(names)


def test_numbered_lines_are_what_the_model_sees() -> None:
    code = "a = 1\n\nb = 2\n" + "x\n" * 9
    shown = number_lines(code).splitlines()
    assert shown[0] == " 1 | a = 1"
    assert shown[1] == " 2 |"
    assert shown[11] == "12 | x"
    assert len(shown) == len(code.splitlines())
