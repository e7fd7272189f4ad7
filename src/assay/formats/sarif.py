"""SARIF 2.1.0: a streaming reader that validates and normalizes one result at a time.

Design, and why (measured with ijson's yajl2_c backend on a 60 MB, 100k-result log):

* ijson builds objects at C speed only when it reads the file itself for a single prefix
  (`ijson.items(f, "runs.item.results.item")`: ~1 s). Any design in which Python looks at
  every event (to follow run metadata and results in one pass) costs 3-7 s, more than
  tokenizing the file twice. So the reader makes two passes over the input:

  1. **Envelope pass.** Python follows the events of everything *except* results, builds
     each run's envelope (tool, rules, taxonomies, provenance...), validates it with
     jsonschema for precise messages, and skips each `results` array at C speed while
     counting its objects. Nothing proportional to the number of results is kept.
  2. **Results pass.** `ijson.items` streams the result objects; each is checked by a
     fastjsonschema validator compiled once per process, and only a rejected result is
     validated again with jsonschema to say precisely what is wrong where.

  The counts from pass 1 attribute the flat stream of results back to their runs, so a
  run's `tool` may come before or after its `results` (SARIF allows either order), and the
  header (tools, result counts) is complete before the first finding is produced.
* A path is opened twice; a seekable stream is rewound; a non-seekable stream is first
  copied into a spooled temporary file (within `max_bytes`).
* The envelope and the top-level log are validated before any result is yielded. A bad
  result raises when it is reached, after the findings before it were yielded: callers must
  treat the document as rejected as a whole (intake parses inside one transaction).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import IO, Any

import ijson  # type: ignore[import-untyped]

from assay.formats import _schemas
from assay.formats._io import (
    DEFAULT_SARIF_MAX_BYTES,
    HEAD_BYTES,
    LimitedReader,
    Source,
    check_encoding,
    find_object,
    is_seekable,
    open_binary,
    source_label,
    spool,
)
from assay.formats.detect import guess_from_head, guess_from_keys
from assay.formats.errors import FormatError, describe, pointer
from assay.formats.model import (
    Finding,
    cvss_vector,
    cwe_tuple,
    cwes_in_tags,
    normalize_cwe,
    short_title,
    unique,
    vulnerability_ids,
)

MAX_PROBLEMS = 100
SARIF_VERSION = "2.1.0"
_LEVELS = frozenset({"none", "note", "warning", "error"})

_RESULT_PREFIX = "runs.item.results.item"
_RESULTS_END = ("runs.item.results", "end_array", None)
_RESULT_OBJECT_START = (_RESULT_PREFIX, "start_map", None)
_ELEMENT_EVENTS = frozenset({"start_map", "start_array", "string", "number", "boolean", "null"})
_OPENERS = frozenset({"start_map", "start_array"})
_CLOSERS = frozenset({"end_map", "end_array"})
_PLACEHOLDER = re.compile(r"\{(\d+)\}")


# --- public header -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SarifRun:
    """What the envelope pass learned about one run."""

    index: int
    tool_name: str | None
    tool_version: str | None
    rule_count: int
    result_count: int
    repository: str | None

    @property
    def tool(self) -> str | None:
        return _tool_label(self.tool_name, self.tool_version)


@dataclass(slots=True)
class SarifHeader:
    """The log's metadata, complete once the envelope pass has run (before any finding).

    `problems` collects schema violations instead of raising when the stream was opened
    with `strict=False`: those of the envelope at once, those of results as they are read
    (at most `MAX_PROBLEMS` are kept; `problem_count` counts them all).
    """

    schema_uri: str | None = None
    version: str | None = None
    runs: list[SarifRun] = field(default_factory=list)
    problems: list[FormatError] = field(default_factory=list)
    problem_count: int = 0

    @property
    def result_count(self) -> int:
        return sum(run.result_count for run in self.runs)

    @property
    def tools(self) -> list[str]:
        return [run.tool for run in self.runs if run.tool]


# --- run context: what normalization needs from the envelope --------------------------------


@dataclass(frozen=True, slots=True)
class _Rule:
    id: str | None
    title: str | None
    description: str | None
    default_level: str | None
    cwes: tuple[str, ...]
    cvss: tuple[str, ...]
    messages: dict[str, str]


@dataclass(slots=True)
class _Component:
    rules: list[_Rule]
    by_id: dict[str, _Rule]
    messages: dict[str, str]


@dataclass(slots=True)
class _RunContext:
    info: SarifRun
    driver: _Component
    extensions: list[_Component]
    extension_names: dict[str, int]
    artifact_uris: list[str | None]
    cwe_taxa: dict[int, list[str | None]]
    tool: str | None
    repository: str | None


def _s(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(message: Any) -> str | None:
    return _s(_d(message).get("text"))


def _tool_label(name: str | None, version: str | None) -> str | None:
    if not name:
        return None
    return f"{name} {version}" if version else name


def _property_cwes(properties: dict[str, Any]) -> list[str | None]:
    found: list[str | None] = [*cwes_in_tags(properties.get("tags"))]
    for key, value in properties.items():
        if key.lower().startswith("cwe"):
            for item in value if isinstance(value, list) else [value]:
                found.append(normalize_cwe(item))
    return found


def _property_vectors(properties: dict[str, Any]) -> list[str | None]:
    return [cvss_vector(value) for value in properties.values()]


def _rule(descriptor: Any) -> _Rule:
    descriptor = _d(descriptor)
    properties = _d(descriptor.get("properties"))
    cwes = _property_cwes(properties)
    for relationship in _list(descriptor.get("relationships")):
        target = _d(_d(relationship).get("target"))
        component = _s(_d(target.get("toolComponent")).get("name")) or ""
        if component.upper() == "CWE":
            cwes.append(normalize_cwe(target.get("id")))
    messages = {
        key: text
        for key, value in _d(descriptor.get("messageStrings")).items()
        if (text := _text(value)) is not None
    }
    rule_id = _s(descriptor.get("id"))
    title = _text(descriptor.get("shortDescription")) or _s(descriptor.get("name")) or None
    return _Rule(
        id=rule_id,
        title=short_title(title),
        description=_text(descriptor.get("fullDescription")),
        default_level=_s(_d(descriptor.get("defaultConfiguration")).get("level")),
        cwes=cwe_tuple(cwes),
        cvss=unique(_property_vectors(properties)),
        messages=messages,
    )


def _component(component: Any) -> _Component:
    component = _d(component)
    rules = [_rule(item) for item in _list(component.get("rules"))]
    by_id: dict[str, _Rule] = {}
    for rule in rules:
        if rule.id is not None:
            by_id.setdefault(rule.id, rule)
    messages = {
        key: text
        for key, value in _d(component.get("globalMessageStrings")).items()
        if (text := _text(value)) is not None
    }
    return _Component(rules, by_id, messages)


def _run_context(envelope: dict[str, Any], index: int, result_count: int) -> _RunContext:
    tool = _d(envelope.get("tool"))
    driver = _d(tool.get("driver"))
    name = _s(driver.get("name"))
    version = _s(driver.get("version")) or _s(driver.get("semanticVersion"))
    extensions_raw = _list(tool.get("extensions"))
    extensions = [_component(item) for item in extensions_raw]
    extension_names = {
        ext_name: position
        for position, item in enumerate(extensions_raw)
        if (ext_name := _s(_d(item).get("name")))
    }
    provenance = _list(envelope.get("versionControlProvenance"))
    repository = _s(_d(provenance[0]).get("repositoryUri")) if provenance else None
    artifact_uris = [
        _s(_d(_d(artifact).get("location")).get("uri"))
        for artifact in _list(envelope.get("artifacts"))
    ]
    cwe_taxa: dict[int, list[str | None]] = {}
    for position, raw in enumerate(_list(envelope.get("taxonomies"))):
        taxonomy = _d(raw)
        taxonomy_name = _s(taxonomy.get("name")) or ""
        if taxonomy_name.upper() == "CWE":
            cwe_taxa[position] = [
                normalize_cwe(_d(taxon).get("id")) for taxon in _list(taxonomy.get("taxa"))
            ]
    driver_component = _component(driver)
    info = SarifRun(
        index=index,
        tool_name=name,
        tool_version=version,
        rule_count=len(driver_component.rules),
        result_count=result_count,
        repository=repository,
    )
    return _RunContext(
        info=info,
        driver=driver_component,
        extensions=extensions,
        extension_names=extension_names,
        artifact_uris=artifact_uris,
        cwe_taxa=cwe_taxa,
        tool=_tool_label(name, version),
        repository=repository,
    )


# --- normalization of one result -------------------------------------------------------------


def _find_rule(result: dict[str, Any], ctx: _RunContext) -> _Rule | None:
    reference = _d(result.get("rule"))
    component = ctx.driver
    tool_component = _d(reference.get("toolComponent"))
    if tool_component:
        position = _int(tool_component.get("index"))
        if position is None:
            position = ctx.extension_names.get(_s(tool_component.get("name")) or "")
        if position is not None and 0 <= position < len(ctx.extensions):
            component = ctx.extensions[position]
    index = _int(reference.get("index"))
    if index is None:
        index = _int(result.get("ruleIndex"))
    if index is not None and 0 <= index < len(component.rules):
        return component.rules[index]
    rule_id = _s(result.get("ruleId")) or _s(reference.get("id"))
    if rule_id is None:
        return None
    rule = component.by_id.get(rule_id)
    if rule is None:
        for extension in ctx.extensions:
            rule = extension.by_id.get(rule_id)
            if rule is not None:
                break
    return rule


def _message(result: dict[str, Any], rule: _Rule | None, ctx: _RunContext) -> str | None:
    message = _d(result.get("message"))
    text = _s(message.get("text"))
    if text is None:
        message_id = _s(message.get("id"))
        if message_id is not None:
            text = (rule.messages.get(message_id) if rule else None) or ctx.driver.messages.get(
                message_id
            )
    if text is None:
        return None
    arguments = _list(message.get("arguments"))
    if arguments and "{" in text:

        def substitute(match: re.Match[str]) -> str:
            position = int(match.group(1))
            return str(arguments[position]) if position < len(arguments) else match.group(0)

        text = _PLACEHOLDER.sub(substitute, text)
    return text


def _level(result: dict[str, Any], rule: _Rule | None) -> str:
    # SARIF 2.1.0 section 3.27.10: an absent level is "none" for results whose kind is not
    # "fail", else the rule's default level, else "warning".
    level = _s(result.get("level"))
    if level is not None:
        return level
    kind = _s(result.get("kind"))
    if kind is not None and kind != "fail":
        return "none"
    if rule is not None and rule.default_level in _LEVELS:
        return rule.default_level
    return "warning"


def _string_map(value: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, item in _d(value).items():
        if isinstance(item, str):
            out[key] = item
        elif isinstance(item, dict) and isinstance(item.get("value"), str):
            # Black Duck nests {"value": "..."}; only reachable with strict=False.
            out[key] = item["value"]
    return out


def _suppressed(result: dict[str, Any]) -> bool:
    # A suppression counts unless it is still under review or was rejected (section 3.35.3).
    return any(
        _d(item).get("status", "accepted") == "accepted"
        for item in _list(result.get("suppressions"))
    )


def _result_cwes(result: dict[str, Any], rule: _Rule | None, ctx: _RunContext) -> tuple[str, ...]:
    found: list[str | None] = list(rule.cwes) if rule else []
    found.extend(_property_cwes(_d(result.get("properties"))))
    for raw in _list(result.get("taxa")):
        taxon = _d(raw)
        component = _d(taxon.get("toolComponent"))
        position = _int(component.get("index"))
        name = _s(component.get("name"))
        if position is not None and position in ctx.cwe_taxa:
            taxa = ctx.cwe_taxa[position]
            index = _int(taxon.get("index"))
            if index is not None and 0 <= index < len(taxa):
                found.append(taxa[index])
                continue
        if (name and name.upper() == "CWE") or (position is not None and position in ctx.cwe_taxa):
            found.append(normalize_cwe(taxon.get("id")))
    return cwe_tuple(found)


def normalize_result(result: dict[str, Any], ctx: _RunContext, source_ref: str) -> Finding:
    rule = _find_rule(result, ctx)
    rule_id = _s(result.get("ruleId")) or _s(_d(result.get("rule")).get("id"))
    if rule_id is None and rule is not None:
        rule_id = rule.id
    message = _message(result, rule, ctx)
    path = start_line = end_line = snippet = snippet_line = None
    locations = _list(result.get("locations"))
    if locations:
        physical = _d(_d(locations[0]).get("physicalLocation"))
        artifact = _d(physical.get("artifactLocation"))
        path = _s(artifact.get("uri"))
        if path is None:
            index = _int(artifact.get("index"))
            if index is not None and 0 <= index < len(ctx.artifact_uris):
                path = ctx.artifact_uris[index]
        region = _d(physical.get("region"))
        start_line = _int(region.get("startLine"))
        end_line = _int(region.get("endLine"))
        if end_line is None:
            end_line = start_line
        snippet = _text(region.get("snippet"))
        if snippet:
            snippet_line = start_line
        else:
            context = _d(physical.get("contextRegion"))
            snippet = _text(context.get("snippet"))
            snippet_line = _int(context.get("startLine"))
    properties = _d(result.get("properties"))
    vectors = [*(rule.cvss if rule else ()), *_property_vectors(properties)]
    return Finding(
        source_format="sarif",
        source_ref=source_ref,
        tool=ctx.tool,
        rule_id=rule_id,
        title=(rule.title if rule else None) or short_title(message) or rule_id,
        description=message or (rule.description if rule else None),
        cwe_ids=_result_cwes(result, rule, ctx),
        aliases=unique(vulnerability_ids(rule_id)),
        severity=_level(result, rule),
        cvss_vectors=unique(vectors),
        repository=ctx.repository,
        path=path,
        start_line=start_line,
        end_line=end_line,
        snippet=snippet,
        snippet_line=snippet_line if snippet else None,
        fingerprints=_string_map(result.get("fingerprints")),
        partial_fingerprints=_string_map(result.get("partialFingerprints")),
        kind=_s(result.get("kind")) or "fail",
        suppressed=_suppressed(result),
    )


# --- the stream --------------------------------------------------------------------------------


def _strict_dict_type(duplicates: list[tuple[dict[str, Any], str]]) -> type[dict[str, Any]]:
    """A dict type for ijson's builders that notes duplicate keys instead of silently
    keeping the last value. It records rather than raises: an exception raised inside
    ijson's C builder surfaces as a SystemError."""

    class StrictDict(dict[str, Any]):
        __slots__ = ()

        # Defaults bind the helpers as locals: this runs for every key of every result.
        def __setitem__(
            self,
            key: str,
            value: Any,
            _set: Any = dict.__setitem__,
            _note: Any = duplicates.append,
        ) -> None:
            if key in self:
                _note((self, key))
            _set(self, key, value)

    return StrictDict


def _syntax_error(exc: Exception, file: str, where: list[str | int], offset: int) -> FormatError:
    """Translate yajl's message. yajl does not report positions; `offset` (bytes handed to
    the parser so far, read in 64 KiB chunks) bounds where it stopped."""
    raw = exc.args[0] if exc.args else str(exc)
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    first = text.strip().split("\n", 1)[0].strip()
    lowered = text.lower()
    at = pointer(where)
    within = f"within the first {offset:,} bytes"
    if "premature eof" in lowered:
        return FormatError(
            file,
            at,
            "more JSON: the document ends early (truncated)",
            found=f"the end of the input after {offset:,} bytes",
        )
    if "invalid bytes in utf8" in lowered:
        return FormatError(file, at, "UTF-8 encoded text", found=f"invalid UTF-8 {within}")
    if "overflow" in lowered:
        return FormatError(
            file, at, "a number within range", found=f"a number that overflows {within}"
        )
    if "invalid char" in lowered and any(word in text for word in ("NaN", "Infinity")):
        return FormatError(
            file,
            at,
            "a finite JSON number (NaN and Infinity are not JSON)",
            found=f"NaN or Infinity {within}",
        )
    if "trailing garbage" in lowered:
        return FormatError(file, "", "nothing after the top-level JSON value", found="more data")
    return FormatError(file, at, f"valid JSON ({first})", found=f"invalid JSON {within}")


def _surrogate_error(file: str, where: list[str | int]) -> FormatError:
    # yajl validates UTF-8 but turns a "\\udc00"-style escape into bytes that are not
    # UTF-8, which ijson then fails to decode.
    return FormatError(
        file,
        pointer(where),
        "strings without unpaired UTF-16 surrogate escapes",
        found="an escape such as \\udc00 with no partner",
    )


class SarifStream(Iterator[Finding]):
    """Findings from a SARIF 2.1.0 log, one per result, read as a stream.

    Use as an iterator (and preferably as a context manager, so that an abandoned stream
    closes its file). `header` runs the envelope pass on first access if iteration has not
    started yet.
    """

    def __init__(
        self,
        source: Source,
        source_name: str | None = None,
        *,
        max_bytes: int = DEFAULT_SARIF_MAX_BYTES,
        strict: bool = True,
    ) -> None:
        self.file = source_label(source, source_name)
        self._max_bytes = max_bytes
        self._strict = strict
        self._spool: IO[bytes] | None = None
        self._source = source
        self._start: int | None = None
        self._header: SarifHeader | None = None
        # Filled by the envelope pass and published as `_header` only when it succeeds.
        self._building = SarifHeader()
        self._failure: FormatError | None = None
        self._contexts: list[_RunContext] = []
        self._iterator: Iterator[Finding] | None = None

    # iterator protocol

    def __iter__(self) -> SarifStream:
        return self

    def __next__(self) -> Finding:
        if self._failure is not None:
            # A rejected document stays rejected: never a silent end after an error.
            raise self._failure
        if self._iterator is None:
            self._iterator = self._findings()
        try:
            return next(self._iterator)
        except FormatError as exc:
            self._failure = exc
            raise

    def __enter__(self) -> SarifStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._iterator is not None and hasattr(self._iterator, "close"):
            self._iterator.close()
        if self._spool is not None:
            self._spool.close()
            self._spool = None

    @property
    def header(self) -> SarifHeader:
        return self._ensure_header()

    def _ensure_header(self) -> SarifHeader:
        if self._failure is not None:
            raise self._failure
        if self._header is None:
            try:
                self._envelope_pass()
            except FormatError as exc:
                # The input may be a stream that cannot be read again: fail the same way.
                self._failure = exc
                raise
            self._header = self._building
        return self._header

    # input handling

    def _prepare_source(self) -> None:
        """Make the input re-readable: a path is reopened, a seekable stream rewound, and
        anything else copied once into a spooled temporary file."""
        source = self._source
        if isinstance(source, str | os.PathLike | bytes | bytearray | memoryview):
            return
        if is_seekable(source):
            self._start = source.tell()
            return
        self._spool = spool(source, self.file, self._max_bytes)
        self._source = self._spool
        self._start = 0

    def _open(self) -> AbstractContextManager[IO[bytes]]:
        if self._start is not None:
            assert not isinstance(self._source, str | os.PathLike | bytes | bytearray | memoryview)
            self._source.seek(self._start)
        return open_binary(self._source, self.file, self._max_bytes)

    def _problem(self, error: FormatError) -> None:
        if self._strict:
            raise error
        self._building.problem_count += 1
        if len(self._building.problems) < MAX_PROBLEMS:
            self._building.problems.append(error)

    # pass 1

    def _envelope_pass(self) -> None:
        self._prepare_source()
        with self._open() as handle:
            head = handle.read(HEAD_BYTES)
            if not isinstance(head, bytes):
                raise FormatError(self.file, "", "a binary stream", found="a text stream")
            skip = check_encoding(head[:4], self.file)
            if not head[skip:].strip():
                raise FormatError(
                    self.file, "", "a SARIF log (a JSON object)", found="an empty document"
                )
            _gate_head(head, self.file)
        with self._open() as handle:
            reader = LimitedReader(handle, self.file, self._max_bytes, guard_depth=True)
            where: list[str | int] = []
            try:
                self._scan(reader, where)
            except ijson.JSONError as exc:
                raise _syntax_error(exc, self.file, where, reader.consumed) from None
            except UnicodeDecodeError:
                raise _surrogate_error(self.file, where) from None
            except StopIteration:
                # ijson reports a premature end itself; this only guards the event loop.
                raise FormatError(
                    self.file, pointer(where), "more JSON: the document ends early (truncated)"
                ) from None
            except RecursionError:
                raise FormatError(self.file, pointer(where), "JSON nested less deeply") from None

    def _scan(self, reader: LimitedReader, where: list[str | int]) -> None:
        duplicates: list[tuple[dict[str, Any], str]] = []
        strict_dict = _strict_dict_type(duplicates)
        events = ijson.parse(reader, use_float=True)
        first = next(events)
        if first[1] != "start_map":
            found = "an array" if first[1] == "start_array" else "a JSON " + first[1]
            raise FormatError(self.file, "", "a SARIF log (a JSON object)", found=found)
        top = strict_dict()
        runs_value: Any = None
        runs_seen = False
        for prefix, event, value in events:
            if event == "end_map" and prefix == "":
                break
            key: str = value
            where[:] = [key]
            if key == "runs":
                if runs_seen:
                    raise FormatError(
                        self.file,
                        "/runs",
                        "each member name once per object",
                        found="a second 'runs'",
                    )
                runs_seen = True
                runs_value = self._scan_runs(events, strict_dict, duplicates, where)
            else:
                top[key] = _build(events, strict_dict)
                self._check_duplicates(duplicates, top, [])
        where[:] = []
        for _ in events:
            # yajl reports trailing garbage when the input ends; reaching here means a second
            # top-level value, which ijson would otherwise accept silently.
            raise FormatError(self.file, "", "nothing after the top-level JSON value")
        self._building.schema_uri = _s(top.get("$schema"))
        self._building.version = _s(top.get("version"))
        if not runs_seen:
            raise _gate_error(self.file, top)
        envelope = dict(top)
        envelope["runs"] = [] if runs_value is _RUNS_ARRAY else runs_value
        self._validate(_schemas.sarif_validator(), envelope, [])

    def _scan_runs(
        self,
        events: Iterator[tuple[str, str, Any]],
        strict_dict: type[dict[str, Any]],
        duplicates: list[tuple[dict[str, Any], str]],
        where: list[str | int],
    ) -> Any:
        prefix, event, value = next(events)
        if event != "start_array":
            # null (allowed: no runs) or a wrong type, reported by the schema check.
            return _build(events, strict_dict, (prefix, event, value))
        for prefix, event, value in events:
            if event == "end_array" and prefix == "runs":
                return _RUNS_ARRAY
            index = len(self._contexts)
            where[:] = ["runs", index]
            if event == "start_map":
                envelope, count = self._scan_run(events, strict_dict, duplicates, index, where)
            else:
                envelope, count = _build(events, strict_dict, (prefix, event, value)), 0
            where[:] = ["runs", index]
            self._validate(_schemas.sarif_validator("/definitions/run"), envelope, ["runs", index])
            context = _run_context(_d(envelope), index, count)
            self._contexts.append(context)
            self._building.runs.append(context.info)
        raise FormatError(self.file, "/runs", "more JSON: the document ends early (truncated)")

    def _scan_run(
        self,
        events: Iterator[tuple[str, str, Any]],
        strict_dict: type[dict[str, Any]],
        duplicates: list[tuple[dict[str, Any], str]],
        index: int,
        where: list[str | int],
    ) -> tuple[dict[str, Any], int]:
        envelope = strict_dict()
        count = 0
        has_results = False
        for prefix, event, value in events:
            if event == "end_map" and prefix == "runs.item":
                return envelope, count
            key: str = value
            where[:] = ["runs", index, key]
            if key == "results":
                if has_results or "results" in envelope:
                    raise FormatError(
                        self.file,
                        pointer(where),
                        "each member name once per object",
                        found="a second 'results'",
                    )
                first = next(events)
                if first == ("runs.item.results", "start_array", None):
                    has_results = True
                    # C-speed skip: iter() stops at the results array's own end event (no
                    # nested event has this exact prefix), and only result objects are counted.
                    count = sum(
                        map(_RESULT_OBJECT_START.__eq__, iter(events.__next__, _RESULTS_END))
                    )
                    continue
                envelope["results"] = _build(events, strict_dict, first)
            else:
                envelope[key] = _build(events, strict_dict, None)
            self._check_duplicates(duplicates, envelope, ["runs", index])
        raise FormatError(
            self.file, pointer(where), "more JSON: the document ends early (truncated)"
        )

    def _check_duplicates(
        self,
        duplicates: list[tuple[dict[str, Any], str]],
        root: dict[str, Any],
        prefix: list[str | int],
    ) -> None:
        if not duplicates:
            return
        target, key = duplicates[0]
        path = find_object(root, target) or []
        raise FormatError(
            self.file,
            pointer([*prefix, *path, key]),
            "each member name once per object",
            found=f"a second {key!r}",
        )

    def _check_item_duplicates(
        self,
        duplicates: list[tuple[dict[str, Any], str]],
        item: dict[str, Any],
        here: list[str | int],
    ) -> None:
        # ijson builds every result of a 64 KiB chunk before handing over the first, so a
        # duplicate noted now may belong to a later result of the same chunk.
        for target, key in duplicates:
            path = find_object(item, target)
            if path is not None:
                raise FormatError(
                    self.file,
                    pointer([*here, *path, key]),
                    "each member name once per object",
                    found=f"a second {key!r}",
                )

    # pass 2

    def _findings(self) -> Iterator[Finding]:
        self._ensure_header()
        runs = [(context, context.info.result_count) for context in self._contexts]
        runs = [(context, count) for context, count in runs if count]
        if not runs:
            return
        quick = _schemas.sarif_result_quick_check()
        checker = _schemas.sarif_result_checker()
        duplicates: list[tuple[dict[str, Any], str]] = []
        strict_dict = _strict_dict_type(duplicates)
        run_position = 0
        context, remaining = runs[0]
        run_index = context.info.index
        result_index = 0
        seen = 0
        with self._open() as handle:
            reader = LimitedReader(handle, self.file, self._max_bytes)
            items = ijson.items(reader, _RESULT_PREFIX, use_float=True, map_type=strict_dict)
            try:
                for item in items:
                    seen += 1
                    if not isinstance(item, dict):
                        raise self._locate_non_object(seen, item)
                    while remaining == 0:
                        run_position += 1
                        if run_position >= len(runs):
                            raise FormatError(
                                self.file,
                                "/runs",
                                "the same content in both reading passes",
                                found="more results than the first pass counted",
                            )
                        context, remaining = runs[run_position]
                        run_index, result_index = context.info.index, 0
                    here: list[str | int] = ["runs", run_index, "results", result_index]
                    if duplicates:
                        self._check_item_duplicates(duplicates, item, here)
                    if not quick(item):
                        try:
                            checker(item)
                        except _schemas.FAST_SCHEMA_ERRORS:
                            self._result_problem(item, here)
                    # pointer(here), without escaping: the tokens are plain names and numbers.
                    ref = f"/runs/{run_index}/results/{result_index}"
                    yield normalize_result(item, context, ref)
                    remaining -= 1
                    result_index += 1
            except ijson.JSONError as exc:
                where: list[str | int] = ["runs", run_index, "results"]
                raise _syntax_error(exc, self.file, where, reader.consumed) from None
            except UnicodeDecodeError:
                raise _surrogate_error(self.file, ["runs", run_index, "results"]) from None
        if remaining or run_position != len(runs) - 1:
            raise FormatError(
                self.file,
                "/runs",
                "the same content in both reading passes",
                found="fewer results than the first pass counted",
            )

    def _validate(self, validator: Any, instance: Any, here: list[str | int]) -> bool:
        """Report schema violations (the first, or all when lenient); False if none."""
        if self._strict:
            error = _schemas.first_error(validator, instance)
            errors = [error] if error is not None else []
        else:
            errors = _schemas.all_errors(validator, instance)
        for error in errors:
            self._problem(_schemas.to_format_error(error, self.file, here))
        return bool(errors)

    def _result_problem(self, item: dict[str, Any], here: list[str | int]) -> None:
        if not self._validate(_schemas.sarif_validator("/definitions/result"), item, here):
            # The two validators disagree (they should not); trust the stricter one.
            self._problem(FormatError(self.file, pointer(here), "a valid SARIF result"))

    def _locate_non_object(self, ordinal: int, item: Any) -> FormatError:
        """Point at the `ordinal`-th element of all results arrays, which is not an object.

        Only reached for broken input, so a slow exact pass is fine: the first pass counted
        result objects only and cannot say on its own which run this element belongs to.
        """
        with self._open() as handle:
            reader = LimitedReader(handle, self.file, self._max_bytes)
            run = -1
            position = 0
            count = 0
            for prefix, event, _ in ijson.parse(reader, use_float=True):
                if prefix == "runs.item" and event == "start_map":
                    run += 1
                elif prefix == "runs.item.results" and event == "start_array":
                    position = 0
                elif prefix == _RESULT_PREFIX and event in _ELEMENT_EVENTS:
                    count += 1
                    if count == ordinal:
                        break
                    position += 1
        return FormatError(
            self.file,
            pointer(["runs", max(run, 0), "results", position]),
            "a SARIF result (a JSON object)",
            found=describe(item),
        )


_RUNS_ARRAY = object()


def _build(
    events: Iterator[tuple[str, str, Any]],
    strict_dict: type[dict[str, Any]],
    first: tuple[str, str, Any] | None = None,
) -> Any:
    """Build one complete JSON value from the event stream (envelope parts only)."""
    _, event, value = first if first is not None else next(events)
    if event not in _OPENERS:
        return value
    builder = ijson.ObjectBuilder(map_type=strict_dict)
    builder.event(event, value)
    depth = 1
    for _, event, value in events:
        builder.event(event, value)
        if event in _OPENERS:
            depth += 1
        elif event in _CLOSERS:
            depth -= 1
            if depth == 0:
                return builder.value
    raise ijson.IncompleteJSONError("premature EOF")


# --- telling SARIF from other formats --------------------------------------------------------


def _gate_head(head: bytes, file: str) -> None:
    """Fail fast when the start of the file already shows another format."""
    guess = guess_from_head(head)
    if guess.format not in (None, "sarif") and "runs" not in guess.keys:
        raise _gate_error(file, guess.values, found=_FORMAT_NAMES.get(guess.format))


_FORMAT_NAMES = {
    "osv": "an OSV record",
    "csaf": "a CSAF document",
    "cve5": "a CVE JSON 5 record",
}


def _gate_error(file: str, top: dict[str, Any], found: str | None = None) -> FormatError:
    missing = []
    schema_uri = _s(top.get("$schema")) or ""
    if top.get("version") != SARIF_VERSION and "sarif" not in schema_uri.lower():
        missing.append("'$schema'/'version' 2.1.0")
    if "runs" not in top:
        missing.append("'runs'")
    if not missing:
        missing.append("'runs'")
    if found is None:
        found = _FORMAT_NAMES.get(guess_from_keys(top) or "")
    return FormatError(file, "", "a SARIF log: missing " + " and ".join(missing), found=found)


def iter_sarif(
    source: Source,
    source_name: str | None = None,
    *,
    max_bytes: int = DEFAULT_SARIF_MAX_BYTES,
    strict: bool = True,
) -> SarifStream:
    """Stream the findings of a SARIF 2.1.0 log (path, bytes or binary file object).

    Memory stays bounded by the largest run envelope and one result, not by the number of
    results. With `strict=False`, schema violations are collected in `header.problems`
    instead of raised (syntax, encoding, size and duplicate-key errors always raise).
    """
    return SarifStream(source, source_name, max_bytes=max_bytes, strict=strict)
