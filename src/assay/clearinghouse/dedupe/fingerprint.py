"""Exact-duplicate keys of one finding.

`exact_keys` returns, in priority order, every key under which a finding can be recognized
again; two findings that share any key are the same vulnerability.

1. ``fp:<name>:<digest>``, one per SARIF ``fingerprints`` entry. A tool promises that such a
   fingerprint alone identifies the result, so each entry is a key by itself. The digest
   covers the normalized repository, the name and the value: without the repository, two
   projects that vendor the same file would share every fingerprint a tool computes from
   rule, path and code (Semgrep's ``matchBasedId``, Flawfinder's ``contextHash``).
2. ``pfp:<digest>``, one for all SARIF ``partialFingerprints`` together, with the rule,
   the normalized path and the repository. Partial fingerprints are, as SARIF says, parts
   from which a result management system computes a fingerprint: taken one by one they
   are not identities. In DefectDojo's shell-script SARIF the same
   ``scanPrimaryLocationHash`` marks one line of code in three files under two rules, and
   one ``scanFileHash`` marks every result in a file; either alone would merge different
   bugs.
3. ``cfp:<digest>``, computed from facts independent of the tool: the normalized
   repository and path, the weakness (the sorted CWE ids, else the rule id lowercased),
   and the code region with all whitespace and any line-number gutter removed. The line
   number is not part of it, so a finding whose code only moved still matches. Without a
   snippet the start line takes the code's place (repository, path, rule and line are the
   best facts left; the near-duplicate level catches what moved); without a line either,
   the key is per file and rule, which fits the file-level checks that report neither.
   Records with no path (OSV, CSAF, CVE, image and binary scanners) get no computed key:
   their identity is their aliases.

Consequence of (3), accepted: two identical lines of code in one file, flagged by one rule,
share the key and become one vulnerability with two findings (Flawfinder's own
``contextHash/v1`` makes the same choice). Keys are at most `MAX_KEY_LENGTH` characters, the
width of the database column, and carry a scheme version (``v1`` in the hashed text) so that
a later change of normalization cannot silently match keys made under the old one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Literal, NamedTuple
from urllib.parse import unquote

from assay.formats.model import Finding

KeyKind = Literal["fingerprint", "partial_fingerprint", "computed"]
MAX_KEY_LENGTH = 200
# Fingerprint names are tool-chosen labels; cut so that a key always fits its column.
_MAX_NAME = 64
_SCHEME = "v1"


class ExactKey(NamedTuple):
    """One exact key and the level it belongs to (what a match on it means)."""

    kind: KeyKind
    value: str


def exact_keys(f: Finding) -> list[ExactKey]:
    """The exact keys of `f`, strongest first: tool fingerprints, then the combined partial
    fingerprints, then the computed fingerprint. Empty when none applies."""
    repo = normalize_repository(f.repository) if f.repository else ""
    keys: list[ExactKey] = []
    if f.fingerprints:
        for name, value in sorted(f.fingerprints.items()):
            if name and value:
                digest = _digest(_SCHEME, repo, name, value)
                keys.append(ExactKey("fingerprint", f"fp:{name[:_MAX_NAME]}:{digest}"))
    path = normalize_path(f.path, repo) if f.path else ""
    if f.partial_fingerprints:
        parts = [
            field
            for name, value in sorted(f.partial_fingerprints.items())
            if name and value
            for field in (name, value)
        ]
        if parts:
            digest = _digest(_SCHEME, repo, path, f.rule_id or "", *parts)
            keys.append(ExactKey("partial_fingerprint", "pfp:" + digest))
    if path:
        if f.cwe_ids:
            cwes = f.cwe_ids
            weakness = cwes[0].upper() if len(cwes) == 1 else ",".join(sorted(_upper(cwes)))
        elif f.rule_id and not f.rule_id.isspace():
            weakness = f.rule_id.strip().lower()
        else:
            # Nothing says which bug this is: a key per place would merge unrelated bugs.
            return keys
        code = normalize_code(f.snippet) if f.snippet else ""
        if code:
            where = "code:" + code
        elif f.start_line is not None:
            where = f"line:{f.start_line}"
        else:
            where = "file"
        keys.append(ExactKey("computed", "cfp:" + _digest(_SCHEME, repo, path, weakness, where)))
    return keys


def _upper(values: Iterable[str]) -> set[str]:
    return {value.upper() for value in values}


def _digest(*fields: str) -> str:
    # Unambiguous, so that no choice of field values makes two different field lists hash
    # alike: fields joined by NUL when none holds a NUL (the common, fast case), else
    # length-prefixed; the first character tells the two encodings apart. surrogatepass,
    # because JSON may carry lone surrogates.
    text = "J" + "\x00".join(fields)
    if text.count("\x00") != len(fields) - 1:
        text = "L" + "".join([f"{len(field)}:{field}" for field in fields])
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# --- repositories ----------------------------------------------------------------------------

_SCHEME_PREFIX = re.compile(r"^[a-z][a-z0-9+.-]*://")
# git's rule: without a scheme, a colon before the first slash makes "host:path".
_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?([^/:]+):(.*)$")
_PORT = re.compile(r":\d*$")


@lru_cache(maxsize=4096)
def normalize_repository(url: str) -> str:
    """A repository URL reduced to ``host/path``, lowercase.

    The scheme, credentials, port, query, fragment, a leading ``www.``, trailing slashes and
    a ``.git`` suffix are dropped, and the scp-like form ``git@host:org/repo`` is read as
    ``host/org/repo``, so ``git@github.com:Org/Repo.git`` and ``https://github.com/org/repo/``
    are both ``github.com/org/repo``. Hosts such as GitHub treat paths case-insensitively,
    hence the lowercase. Empty input gives ``""``.
    """
    result = url
    for _ in range(4):  # reach a fixed point, so normalizing twice changes nothing
        again = _repository_once(result)
        if again == result:
            break
        result = again
    return result


def _repository_once(url: str) -> str:
    text = url.strip().lower().replace("\\", "/")
    text = text.split("#", 1)[0].split("?", 1)[0]
    if text.startswith("git+"):
        text = text[4:]
    match = _SCHEME_PREFIX.match(text)
    if match:
        text = text[match.end() :]
        host, _, path = text.partition("/")
        host = host.rsplit("@", 1)[-1]
        host = _PORT.sub("", host)
    else:
        scp = _SCP_LIKE.match(text)
        if scp:
            host, path = scp.group(1), scp.group(2)
        else:
            host, _, path = text.partition("/")
            host = _PORT.sub("", host.rsplit("@", 1)[-1])
    host = host.removeprefix("www.")
    segments = [segment for segment in path.split("/") if segment]
    while segments and segments[-1].endswith(".git"):
        last = segments[-1].removesuffix(".git")
        if last:
            segments[-1] = last
        else:
            segments.pop()
    return "/".join([host, *segments]).strip("/")


# --- paths -----------------------------------------------------------------------------------

_DRIVE = re.compile(r"^[A-Za-z]:$")
# Checkout roots of CI systems: an absolute path under one is relative to the repository
# from that point, whoever ran the scan.
_CI_ROOTS: tuple[tuple[str, ...], ...] = (
    ("github", "workspace"),
    ("home", "runner", "work", "*", "*"),
    ("builds", "*", "*"),
    ("drone", "src"),
    ("opt", "atlassian", "pipelines", "agent", "build"),
    ("bitrise", "src"),
    ("harness",),
)


@lru_cache(maxsize=65536)
def normalize_path(path: str, repository: str | None = None) -> str:
    """A file path as a repository-relative POSIX path, case preserved.

    Drops a ``file:`` scheme and its authority, percent-decodes, turns backslashes into
    slashes, removes a drive letter, empty and ``.`` segments, and resolves ``..`` (a
    leading ``..`` that would leave the root is dropped: the tool ran in a subdirectory).
    An absolute path loses the checkout root when one can be recognized: a CI system's
    (``/github/workspace``, ``/home/runner/work/<repo>/<repo>``, ``/builds/<group>/<repo>``,
    ...), or else everything up to the first directory named like the repository's last
    segment (`repository` as given by `normalize_repository`). Absolute paths with no
    recognizable root keep their directories, without the leading slash. Idempotent.
    """
    return _normalize_path(path, repository.rsplit("/", 1)[-1].lower() if repository else "")


def _normalize_path(path: str, repo_name: str) -> str:
    result = path
    for _ in range(8):  # reach a fixed point, so normalizing twice changes nothing
        again = _path_once(result, repo_name)
        if again == result:
            break
        result = again
    return result


def _path_once(path: str, repo_name: str) -> str:
    text = path.strip()
    absolute = False
    if text[:5].lower() == "file:":
        text = text[5:]
        absolute = True
        if text.startswith("//"):
            # file://host/path: the authority (usually empty or "localhost") is not the path.
            text = "/" + text[2:].partition("/")[2]
    if "%" in text:
        text = _unquote_fully(text)
    text = text.replace("\\", "/")
    absolute = absolute or text.startswith("/")
    segments = [segment for segment in text.split("/") if segment and segment != "."]
    while segments and _DRIVE.match(segments[0]):
        segments.pop(0)
        absolute = True
    resolved: list[str] = []
    for segment in segments:
        if segment == "..":
            if resolved:
                resolved.pop()
        else:
            resolved.append(segment)
    if absolute:
        resolved = _strip_root(resolved, repo_name)
    return "/".join(resolved)


def _unquote_fully(text: str) -> str:
    # Decoding to a fixed point keeps normalization idempotent: a path that still held an
    # escape after one pass would change again on the next.
    while True:
        decoded = unquote(text, errors="surrogateescape")
        if decoded == text:
            return text
        text = decoded


def _strip_root(segments: list[str], repo_name: str) -> list[str]:
    for root in _CI_ROOTS:
        if len(segments) > len(root) and all(
            want in ("*", have) for want, have in zip(root, segments, strict=False)
        ):
            return segments[len(root) :]
    if repo_name:
        for index, segment in enumerate(segments[:-1]):
            if segment.lower() == repo_name:
                return segments[index + 1 :]
    return segments


# --- code ------------------------------------------------------------------------------------

# A line-number gutter that some tools embed in snippets: "12:", "12 |", "  12 │", "> 12 |"
# (a code frame's marker), "L12:", or "12<TAB>" as `cat -n` prints it.
_GUTTER = re.compile(r"[ \t]*(?:>[ \t]*)?(?:L?(\d{1,9})[ \t]*[:|│¦](?![:=])|(\d{1,9})\t)")


def normalize_code(snippet: str) -> str:
    """The code of a snippet with every whitespace character and any line-number gutter
    removed, so that re-indenting, re-wrapping, CRLF/LF and a tool's gutter do not count.

    A gutter is stripped only when every non-blank line starts with one and the numbers
    increase from line to line: a single ``1: 'a',`` in a dict literal would otherwise lose
    its key. (A one-line snippet that starts with ``<digits>:`` is read as a gutter.)
    """
    if _GUTTER.match(snippet.lstrip()):
        snippet = _strip_gutter(snippet)
    return "".join(snippet.split())


def _strip_gutter(snippet: str) -> str:
    lines = [line for line in snippet.splitlines() if line.strip()]
    stripped: list[str] = []
    previous = -1
    for line in lines:
        match = _GUTTER.match(line)
        if match is None:
            return snippet
        number = int(match.group(1) or match.group(2))
        if number <= previous:
            return snippet
        previous = number
        stripped.append(line[match.end() :])
    return "\n".join(stripped)
