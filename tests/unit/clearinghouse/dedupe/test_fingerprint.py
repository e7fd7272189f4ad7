"""Exact keys: what changes them and what must not."""

from __future__ import annotations

import dataclasses
import random

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from assay.clearinghouse.dedupe.fingerprint import (
    MAX_KEY_LENGTH,
    ExactKey,
    exact_keys,
    normalize_code,
    normalize_path,
    normalize_repository,
)
from assay.formats.model import Finding

BASE = Finding(
    source_format="sarif",
    source_ref="/runs/0/results/0",
    tool="CodeQL",
    rule_id="py/sql-injection",
    title="SQL injection",
    cwe_ids=("CWE-89",),
    repository="https://github.com/acme/shop",
    path="app/db.py",
    start_line=88,
    snippet="cursor.execute(query % name)",
)


def computed(f: Finding) -> str:
    keys = [key.value for key in exact_keys(f) if key.kind == "computed"]
    assert len(keys) == 1, exact_keys(f)
    return keys[0]


# --- strategies ------------------------------------------------------------------------------

NAMES = ["x", "y", "buf", "user_id", "getUser", "_tmp", "cursor", "execute", "L12", "q2", "self"]
IDENTIFIER = st.one_of(st.sampled_from(NAMES), st.text("abcxyzXYZ_", min_size=1, max_size=5))
OPERATOR = st.sampled_from(list("()=+.,;[]{}<>*/-!&\"'"))
LINE = st.lists(st.one_of(IDENTIFIER, OPERATOR), min_size=1, max_size=8)
CODE = st.lists(LINE, min_size=1, max_size=6)
SPACES = ["", " ", "  ", "\t", " \t "]
INDENTS = ["", "    ", "\t", "  "]
CHECK = settings(max_examples=40, deadline=None)


def render(lines: list[list[str]], rnd: random.Random, *, ending: str = "\n") -> str:
    """The code with whitespace drawn freely between tokens, and any indentation."""
    out = []
    for tokens in lines:
        out.append(rnd.choice(INDENTS) + "".join(token + rnd.choice(SPACES) for token in tokens))
    return ending.join(out) + rnd.choice(["", "\n", "\n\n", "  \n"])


GUTTERS = ["{n}: ", "{n} | ", "  {n} │ ", "{n}:", "> {n} | ", "{n}\t", "L{n}: "]


# --- the computed key ------------------------------------------------------------------------


@CHECK
@given(CODE, st.randoms(use_true_random=False), st.sampled_from(["\n", "\r\n", "\n\n"]))
def test_whitespace_never_changes_the_computed_key(
    lines: list[list[str]], rnd: random.Random, ending: str
) -> None:
    first = render(lines, rnd)
    second = render(lines, rnd, ending=ending)
    a = dataclasses.replace(BASE, snippet=first)
    b = dataclasses.replace(BASE, snippet=second)
    assert computed(a) == computed(b)


@CHECK
@given(CODE, st.randoms(use_true_random=False), st.integers(1, 99_999), st.sampled_from(GUTTERS))
def test_line_number_gutters_never_change_the_computed_key(
    lines: list[list[str]], rnd: random.Random, start: int, gutter: str
) -> None:
    plain = render(lines, rnd)
    rendered = render(lines, rnd).split("\n")
    # "12:=" or "12::" is not read as a gutter (normalize_code's rule: it could be code);
    # a gutter with no space before such a line is ambiguous, so not generated.
    assume(not (gutter.endswith(":") and any(line[:1] in (":", "=") for line in rendered)))
    numbered = "\n".join(gutter.format(n=start + i) + line for i, line in enumerate(rendered))
    assert normalize_code(numbered) == normalize_code(plain)
    a = dataclasses.replace(BASE, snippet=plain)
    b = dataclasses.replace(BASE, snippet=numbered)
    assert computed(a) == computed(b)


@CHECK
@given(CODE, st.integers(1, 10**6), st.integers(1, 10**6))
def test_moving_lines_never_changes_the_computed_key(
    lines: list[list[str]], start: int, moved: int
) -> None:
    snippet = "\n".join(" ".join(tokens) for tokens in lines)
    a = dataclasses.replace(BASE, snippet=snippet, start_line=start, end_line=start + 3)
    b = dataclasses.replace(BASE, snippet=snippet, start_line=moved, end_line=None)
    assert computed(a) == computed(b)


@CHECK
@given(CODE, st.randoms(use_true_random=False), st.one_of(IDENTIFIER, OPERATOR))
def test_a_changed_token_changes_the_computed_key(
    lines: list[list[str]], rnd: random.Random, replacement: str
) -> None:
    row = rnd.randrange(len(lines))
    column = rnd.randrange(len(lines[row]))
    assume(replacement != lines[row][column])
    changed = [list(tokens) for tokens in lines]
    changed[row][column] = replacement
    a = dataclasses.replace(BASE, snippet=render(lines, rnd))
    b = dataclasses.replace(BASE, snippet=render(changed, rnd))
    assert computed(a) != computed(b)


def test_what_the_computed_key_is_made_of() -> None:
    key = computed(BASE)
    assert key.startswith("cfp:") and len(key) == 4 + 64
    # The tool, the title and the severity are not facts about the bug's place.
    assert computed(dataclasses.replace(BASE, tool="Semgrep", title="Other words")) == key
    assert computed(dataclasses.replace(BASE, source_ref="/runs/3/results/9")) == key
    # The CWE ids are preferred to the rule; their order does not matter.
    assert computed(dataclasses.replace(BASE, rule_id="python.sqli")) == key
    two = dataclasses.replace(BASE, cwe_ids=("CWE-89", "CWE-943"))
    assert computed(two) == computed(dataclasses.replace(two, cwe_ids=("CWE-943", "CWE-89")))
    assert computed(two) != key
    # Each fact on its own changes it.
    assert computed(dataclasses.replace(BASE, cwe_ids=("CWE-79",))) != key
    assert computed(dataclasses.replace(BASE, path="app/views.py")) != key
    assert computed(dataclasses.replace(BASE, repository="https://github.com/acme/other")) != key
    # The repository and path are compared normalized.
    spelled = dataclasses.replace(
        BASE,
        repository="git@github.com:Acme/Shop.git",
        path="file:///home/runner/work/shop/shop/app/db.py",
    )
    assert computed(spelled) == key


def test_without_cwe_the_rule_id_lowercased_is_the_weakness() -> None:
    f = dataclasses.replace(BASE, cwe_ids=(), rule_id="PY/SQL-Injection")
    assert computed(f) == computed(dataclasses.replace(f, rule_id="py/sql-injection "))
    assert computed(f) != computed(dataclasses.replace(f, rule_id="py/xss"))
    assert exact_keys(dataclasses.replace(f, rule_id=None)) == []
    assert exact_keys(dataclasses.replace(f, rule_id="  ")) == []


def test_without_a_snippet_the_line_stands_in_for_the_code() -> None:
    f = dataclasses.replace(BASE, snippet=None)
    assert computed(f) == computed(dataclasses.replace(f, end_line=99, snippet="  \n "))
    assert computed(f) != computed(dataclasses.replace(f, start_line=89))
    # A snippet's key never equals a line key, whatever the snippet says.
    assert computed(f) != computed(dataclasses.replace(f, snippet="line:88"))
    per_file = dataclasses.replace(f, start_line=None)
    assert computed(per_file) not in {computed(f), computed(BASE)}


def test_records_without_a_location_get_no_computed_key() -> None:
    osv = Finding(source_format="osv", source_ref="PYSEC-2021-76", aliases=("CVE-2021-21330",))
    assert exact_keys(osv) == []
    assert exact_keys(dataclasses.replace(BASE, path=None)) == []


# --- tool fingerprints -----------------------------------------------------------------------


def test_keys_come_strongest_first_and_say_their_level() -> None:
    f = dataclasses.replace(
        BASE,
        fingerprints={"v2": "bbb", "matchBasedId/v1": "aaa"},
        partial_fingerprints={"primaryLocationLineHash": "39fa2ee980eb94b0:1"},
    )
    keys = exact_keys(f)
    assert [key.kind for key in keys] == [
        "fingerprint",
        "fingerprint",
        "partial_fingerprint",
        "computed",
    ]
    assert keys[0].value.startswith("fp:matchBasedId/v1:")
    assert keys[1].value.startswith("fp:v2:")
    assert keys[2].value.startswith("pfp:")
    assert all(isinstance(key, ExactKey) and len(key.value) <= MAX_KEY_LENGTH for key in keys)


def test_a_fingerprint_is_a_key_by_itself_within_its_repository() -> None:
    a = dataclasses.replace(BASE, fingerprints={"matchBasedId/v1": "x" * 500})
    b = dataclasses.replace(a, path="elsewhere.py", rule_id="other", cwe_ids=(), snippet="x")
    assert exact_keys(a)[0] == exact_keys(b)[0]
    assert len(exact_keys(a)[0].value) <= MAX_KEY_LENGTH
    other_repo = dataclasses.replace(a, repository="https://github.com/someone/else")
    assert exact_keys(a)[0] != exact_keys(other_repo)[0]
    long_name = dataclasses.replace(BASE, fingerprints={"n" * 1000: "v"})
    assert len(exact_keys(long_name)[0].value) <= MAX_KEY_LENGTH
    assert [
        k.kind for k in exact_keys(dataclasses.replace(BASE, fingerprints={"": "v", "n": ""}))
    ] == ["computed"]


def test_partial_fingerprints_count_only_together_with_rule_and_place() -> None:
    # As in DefectDojo's shell-script SARIF: one line hash in two files and under two
    # rules, one file hash for every result in a file.
    f = dataclasses.replace(
        BASE, partial_fingerprints={"scanPrimaryLocationHash": "4d65", "scanFileHash": "4ee2"}
    )

    def pfp(g: Finding) -> str:
        return next(k.value for k in exact_keys(g) if k.kind == "partial_fingerprint")

    swapped = dict(reversed(list(f.partial_fingerprints.items())))
    assert pfp(f) == pfp(dataclasses.replace(f, partial_fingerprints=swapped, start_line=3))
    assert pfp(f) != pfp(dataclasses.replace(f, path="setup/db.py"))
    assert pfp(f) != pfp(dataclasses.replace(f, rule_id="py/other"))
    assert pfp(f) != pfp(
        dataclasses.replace(f, partial_fingerprints={"scanPrimaryLocationHash": "4d65"})
    )
    # Names and values cannot be shifted into each other.
    a = dataclasses.replace(f, partial_fingerprints={"a=b": "c"})
    b = dataclasses.replace(f, partial_fingerprints={"a": "b=c"})
    assert pfp(a) != pfp(b)


def test_field_boundaries_cannot_be_forged() -> None:
    a = dataclasses.replace(BASE, path="a\x00b", snippet=None)
    b = dataclasses.replace(BASE, path="a", snippet=None, cwe_ids=("b\x00CWE-89",))
    assert computed(a) != computed(b)
    # Lone surrogates (valid in JSON strings) are hashed, not refused.
    assert computed(dataclasses.replace(BASE, snippet="x = '\ud800'"))


# --- repositories ----------------------------------------------------------------------------

HOST = st.sampled_from(["github.com", "gitlab.com", "bitbucket.org", "git.example.org"])
NAME = st.text("abcXYZ019_-", min_size=1, max_size=10).filter(lambda n: n[0] not in "_-")
SPELLINGS = [
    "https://{host}/{org}/{repo}",
    "https://{host}/{org}/{repo}.git",
    "https://{host}/{org}/{repo}/",
    "http://www.{host}/{org}/{repo}",
    "https://user:s3cret@{host}/{org}/{repo}.git",
    "https://{host}:443/{org}/{repo}.git?ref=main#readme",
    "git@{host}:{org}/{repo}.git",
    "{host}:{org}/{repo}",
    "ssh://git@{host}:22/{org}/{repo}.git",
    "git+https://{host}/{org}/{repo}.git",
    "git://{host}/{org}/{repo}",
    "{host}/{org}/{repo}",
    "  HTTPS://{HOST}/{ORG}/{REPO}.GIT  ",
]


@CHECK
@given(HOST, NAME, NAME, st.sampled_from(SPELLINGS))
def test_repository_spellings_normalize_equal(
    host: str, org: str, repo: str, spelling: str
) -> None:
    url = spelling.format(
        host=host, org=org, repo=repo, HOST=host.upper(), ORG=org.upper(), REPO=repo.upper()
    )
    assert normalize_repository(url) == f"{host}/{org}/{repo}".lower()


@CHECK
@given(st.text(max_size=60))
def test_repository_normalization_is_idempotent(url: str) -> None:
    once = normalize_repository(url)
    assert normalize_repository(once) == once


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("git@github.com:org/repo.git", "github.com/org/repo"),
        ("https://github.com/org/repo", "github.com/org/repo"),
        ("https://gitlab.com/group/sub/project.git", "gitlab.com/group/sub/project"),
        ("git@github.com:1234/repo.git", "github.com/1234/repo"),
        ("https://github.com/org/repo.git.git", "github.com/org/repo"),
        ("", ""),
    ],
)
def test_repository_examples(url: str, expected: str) -> None:
    assert normalize_repository(url) == expected


# --- paths -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "repository", "expected"),
    [
        ("./src//app/../db.py", None, "src/db.py"),
        ("src\\app\\db.py", None, "src/app/db.py"),
        ("file:///C:/code/file1.c", None, "code/file1.c"),
        ("file://localhost/srv/app.py", None, "srv/app.py"),
        ("C:\\code\\x.c", None, "code/x.c"),
        ("my%20file%2Epy", None, "my file.py"),
        ("%2541", None, "A"),
        ("../../src/App.py", None, "src/App.py"),
        ("/github/workspace/src/a.py", None, "src/a.py"),
        ("/home/runner/work/shop/shop/src/a.py", None, "src/a.py"),
        ("/builds/acme/shop/src/a.py", None, "src/a.py"),
        ("/home/dev/code/shop/app/db.py", "github.com/acme/shop", "app/db.py"),
        # The first directory named like the repository: a package may share its name.
        ("/home/u/requests/requests/api.py", "github.com/psf/requests", "requests/api.py"),
        # Relative paths never lose a directory named like the repository.
        ("shop/app/db.py", "github.com/acme/shop", "shop/app/db.py"),
        ("file:///home/damien/dd/docker/setEnv.sh", None, "home/damien/dd/docker/setEnv.sh"),
    ],
)
def test_path_examples(path: str, repository: str | None, expected: str) -> None:
    assert normalize_path(path, repository) == expected


@CHECK
@given(st.text(max_size=60), st.sampled_from([None, "github.com/acme/shop", "x/y/home"]))
def test_path_normalization_is_idempotent(path: str, repository: str | None) -> None:
    once = normalize_path(path, repository)
    assert normalize_path(once, repository) == once
    assert not once.startswith("/") and "//" not in once


@CHECK
@given(st.lists(st.sampled_from(["a", "B", "c.py", ".", "..", "", "%20", "d%2Fe"]), max_size=8))
def test_path_normalization_is_idempotent_on_path_like_input(segments: list[str]) -> None:
    path = "/".join(segments)
    once = normalize_path(path)
    assert normalize_path(once) == once
    assert ".." not in once.split("/") and "." not in once.split("/")


# --- code ------------------------------------------------------------------------------------


def test_gutters_are_stripped_only_when_every_line_has_one() -> None:
    assert normalize_code("12: a = 1\n13:\n14 |   b()") == "a=1b()"
    assert normalize_code("  \n   7\tx = 1\n   8\ty()") == "x=1y()"
    # A dict literal keeps its keys: the numbers do not rise line by line.
    assert normalize_code("1: 'a',\n1: 'b',") == "1:'a',1:'b',"
    assert normalize_code("x = {\n1: 'a',\n2: 'b'}") == "x={1:'a',2:'b'}"
    assert normalize_code("std::move(x)") == "std::move(x)"
    assert normalize_code(" \r\n\t ") == ""
