"""Reading input safely: size limits, encodings, and JSON/YAML that is strictly JSON."""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

import yaml

from assay.formats.errors import FormatError, describe, pointer

Source = bytes | bytearray | memoryview | str | os.PathLike[str] | IO[bytes]

MIB = 1024 * 1024
DEFAULT_MAX_BYTES = 50 * MIB
DEFAULT_SARIF_MAX_BYTES = 2 * 1024 * MIB
HEAD_BYTES = 64 * 1024
# Real SARIF, CSAF, OSV and CVE documents nest at most ~15 levels. The limit matters because
# ijson builds a prefix string per event that grows with depth, so deep nesting costs time
# quadratic in the depth: 200 KB of nested brackets kept it busy for over a minute.
MAX_DEPTH = 64

UTF8_BOM = b"\xef\xbb\xbf"
# Longest first: the UTF-32 LE mark begins with the UTF-16 LE one.
_OTHER_BOMS = (
    (b"\x00\x00\xfe\xff", "UTF-32 BE"),
    (b"\xff\xfe\x00\x00", "UTF-32 LE"),
    (b"\xfe\xff", "UTF-16 BE"),
    (b"\xff\xfe", "UTF-16 LE"),
)


def source_label(source: Source, source_name: str | None) -> str:
    """The name errors carry: the caller's, else the file name, else a placeholder."""
    if source_name:
        return source_name
    if isinstance(source, str | os.PathLike):
        return Path(source).name
    name = getattr(source, "name", None)
    if isinstance(name, str):
        return Path(name).name
    return "<bytes>" if isinstance(source, bytes | bytearray | memoryview) else "<stream>"


def check_encoding(head: bytes, file: str) -> int:
    """Reject encodings other than UTF-8; return how many BOM bytes to skip (0 or 3).

    JSON on the wire must be UTF-8 (RFC 8259 section 8.1); a UTF-8 BOM is tolerated because
    Windows tools write one. UTF-16/32 is refused rather than guessed at: scanners do not
    emit it, and guessing would accept files that other consumers reject.
    """
    if head.startswith(UTF8_BOM):
        return len(UTF8_BOM)
    for bom, name in _OTHER_BOMS:
        if head.startswith(bom):
            raise FormatError(file, "", "UTF-8 encoded text", found=f"a {name} byte order mark")
    if len(head) >= 2 and (head[0] == 0 or head[1] == 0):
        # Without a BOM, JSON text in UTF-16/32 still starts with an ASCII character padded
        # with zero bytes (RFC 4627 section 3).
        guess = "UTF-16 BE" if head[0] == 0 else "UTF-16 LE"
        raise FormatError(file, "", "UTF-8 encoded text", found=f"{guess} text (zero bytes)")
    return 0


def decode_utf8(data: bytes, file: str) -> str:
    """Decode a whole document, reporting the first invalid byte precisely."""
    skip = check_encoding(data[:4], file)
    try:
        return data[skip:].decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise FormatError(
            file,
            "",
            "UTF-8 encoded text",
            found=f"invalid UTF-8 byte 0x{data[exc.start]:02x} at byte offset {exc.start}",
            line=line,
            column=column,
        ) from None


def _limit_error(file: str, max_bytes: int, size: int | None = None) -> FormatError:
    found = f"{size:,} bytes" if size is not None else f"more than {max_bytes:,} bytes"
    return FormatError(file, "", f"at most {max_bytes:,} bytes", found=found)


def read_limited(source: Source, file: str, max_bytes: int) -> bytes:
    """Read a whole document, refusing it before reading if it is known to be too large."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        if len(data) > max_bytes:
            raise _limit_error(file, max_bytes, len(data))
        return data
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        try:
            size = path.stat().st_size
            if size > max_bytes:
                raise _limit_error(file, max_bytes, size)
            with path.open("rb") as handle:
                return _read_capped(handle, file, max_bytes)
        except OSError as exc:
            raise FormatError(file, "", "a readable file", found=type(exc).__name__) from exc
    remaining = _remaining_size(source)
    if remaining is not None and remaining > max_bytes:
        raise _limit_error(file, max_bytes, remaining)
    return _read_capped(source, file, max_bytes)


def _remaining_size(handle: IO[bytes]) -> int | None:
    try:
        if not handle.seekable():
            return None
        here = handle.tell()
        end = handle.seek(0, io.SEEK_END)
        handle.seek(here)
        return end - here
    except (OSError, ValueError, AttributeError):
        return None


def _read_capped(handle: IO[bytes], file: str, max_bytes: int) -> bytes:
    # One byte past the limit tells "exactly at the limit" from "over it" without reading on.
    data = handle.read(max_bytes + 1)
    if not isinstance(data, bytes):
        raise FormatError(file, "", "a binary stream", found="a text stream")
    if len(data) > max_bytes:
        raise _limit_error(file, max_bytes)
    return data


_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_MARKS = bytes(sorted(set(range(256)) - set(b'[]{}"')))


class DepthGuard:
    """Follows JSON nesting depth over a byte stream fed in chunks, at C speed, and raises
    FormatError once it exceeds `limit`. Brackets inside strings are not counted; the
    stream is not otherwise validated (the JSON parser does that)."""

    def __init__(self, file: str, limit: int = MAX_DEPTH) -> None:
        self._file = file
        self._limit = limit
        self._depth = 0
        self._in_string = False
        self._carry = b""

    def feed(self, chunk: bytes) -> None:
        data = self._carry + chunk
        self._carry = b""
        trailing = len(data) - len(data.rstrip(b"\\"))
        if trailing % 2:
            # An escape split across chunks: keep its backslash for the next chunk.
            data, self._carry = data[:-1], data[-1:]
        # Escaped backslashes first, then escaped quotes: what remains of '"' delimits strings.
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
        # Keep only quotes and brackets, then drop adjacent quote pairs: each is an empty
        # string or an empty gap between two strings, so no bracket changes side. What is
        # left has few quotes (strings that contain brackets), cheap to split on.
        marks = data.translate(_BRACKETS, _NOT_MARKS).replace(b'""', b"")
        parts = marks.split(b'"')
        outside = parts[1::2] if self._in_string else parts[0::2]
        if len(parts) % 2 == 0:
            self._in_string = not self._in_string
        self._track(b"".join(outside))

    def _track(self, brackets: bytes) -> None:
        # A block no longer than the room left cannot exceed the limit whatever its order,
        # so whole blocks are settled by counting; only at the limit is a bracket checked.
        depth, limit, position, size = self._depth, self._limit, 0, len(brackets)
        while position < size:
            room = limit - depth
            if room <= 0:
                if brackets[position] == ord("["):
                    raise FormatError(
                        self._file, "", f"JSON nested at most {limit} levels deep", found="deeper"
                    )
                depth -= 1
                position += 1
                continue
            block = brackets[position : position + room]
            depth += 2 * block.count(b"[") - len(block)
            position += room
        self._depth = depth


class LimitedReader:
    """A binary reader over an open file that fails once more than `max_bytes` were read.

    It also skips a UTF-8 BOM and remembers how much was read, so that streaming parsers
    (which read in chunks) can say roughly where they stopped.
    """

    def __init__(
        self, handle: IO[bytes], file: str, max_bytes: int, *, guard_depth: bool = False
    ) -> None:
        self._handle = handle
        self._file = file
        self._max = max_bytes
        self._guard = DepthGuard(file) if guard_depth else None
        self.consumed = 0
        head = handle.read(4)
        if not isinstance(head, bytes):
            raise FormatError(file, "", "a binary stream", found="a text stream")
        skip = check_encoding(head, file)
        self._pending = head[skip:]
        self.consumed = len(head)

    def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""
        pending, self._pending = self._pending, b""
        want = -1 if size < 0 else max(size - len(pending), 0)
        chunk = self._handle.read(want) if want != 0 else b""
        self.consumed += len(chunk)
        if self.consumed > self._max:
            raise _limit_error(self._file, self._max)
        data = pending + chunk
        if self._guard is not None:
            self._guard.feed(data)
        return data


@contextmanager
def open_binary(source: Source, file: str, max_bytes: int) -> Iterator[IO[bytes]]:
    """Open a path, wrap bytes, or pass a caller's stream through (which is not closed)."""
    if isinstance(source, bytes | bytearray | memoryview):
        if len(source) > max_bytes:
            raise _limit_error(file, max_bytes, len(source))
        yield io.BytesIO(source)
        return
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        try:
            size = path.stat().st_size
            handle: BinaryIO = path.open("rb")
        except OSError as exc:
            raise FormatError(file, "", "a readable file", found=type(exc).__name__) from exc
        if size > max_bytes:
            handle.close()
            raise _limit_error(file, max_bytes, size)
        with handle:
            yield handle
        return
    remaining = _remaining_size(source)
    if remaining is not None and remaining > max_bytes:
        raise _limit_error(file, max_bytes, remaining)
    yield source


# --- strict JSON -----------------------------------------------------------------------------


class _Flagged:
    """Placeholder for a value json.loads accepted but JSON forbids; found again by a walk
    afterwards, because json's hooks do not know where in the document they are."""

    __slots__ = ("found",)

    def __init__(self, found: str) -> None:
        self.found = found


class _Anomalies:
    def __init__(self) -> None:
        self.duplicates: list[tuple[dict[str, Any], str]] = []
        self.flagged = False

    def object_pairs(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(pairs)
        if len(result) != len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    self.duplicates.append((result, key))
                    break
                seen.add(key)
        return result

    def constant(self, name: str) -> _Flagged:
        self.flagged = True
        return _Flagged(name)

    def number(self, text: str) -> float | _Flagged:
        value = float(text)
        if math.isinf(value):
            self.flagged = True
            return _Flagged(text)
        return value


def loads_strict(text: str, file: str) -> Any:
    """json.loads that also refuses duplicate keys, NaN/Infinity, overflowing numbers and
    nesting deeper than Python's recursion limit."""
    anomalies = _Anomalies()
    try:
        value = json.loads(
            text,
            object_pairs_hook=anomalies.object_pairs,
            parse_constant=anomalies.constant,
            parse_float=anomalies.number,
        )
    except json.JSONDecodeError as exc:
        truncated = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
        expected = (
            "more JSON: the document ends early (truncated)"
            if truncated
            else f"valid JSON ({exc.msg})"
        )
        raise FormatError(file, "", expected, line=exc.lineno, column=exc.colno) from None
    except RecursionError:
        raise FormatError(file, "", "JSON nested less deeply") from None
    if anomalies.duplicates:
        target, key = anomalies.duplicates[0]
        path = find_object(value, target)
        raise FormatError(
            file,
            pointer([*(path or []), key]),
            "each member name once per object",
            found=f"a second {key!r}",
        )
    if anomalies.flagged:
        for path, item in walk(value):
            if isinstance(item, _Flagged):
                raise FormatError(
                    file,
                    pointer(path),
                    "a finite JSON number (NaN and Infinity are not JSON)",
                    found=item.found,
                )
    return value


def walk(value: Any) -> Iterator[tuple[list[str | int], Any]]:
    """Every (path, value) in a JSON value, depth first, without recursion (inputs may nest
    deeper than Python's stack)."""
    stack: list[tuple[list[str | int], Any]] = [([], value)]
    while stack:
        path, item = stack.pop()
        yield path, item
        if isinstance(item, dict):
            stack.extend(([*path, key], child) for key, child in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend(
                ([*path, index], child) for index, child in reversed(list(enumerate(item)))
            )


def find_object(root: Any, target: object) -> list[str | int] | None:
    """The path of one specific container object (by identity) inside `root`."""
    for path, item in walk(root):
        if item is target:
            return path
    return None


# --- strict YAML (OSV advisories are often YAML) ---------------------------------------------


class _DuplicateKey(Exception):
    def __init__(self, key: object, mark: yaml.Mark | None) -> None:
        super().__init__(key)
        self.key = key
        self.mark = mark


def _construct_mapping(
    loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False
) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[object] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            duplicate = key in seen
            seen.add(key)
        except TypeError:
            # Unhashable keys are refused later as "keys must be strings".
            continue
        if duplicate:
            raise _DuplicateKey(key, key_node.start_mark)
    return cast(dict[Any, Any], yaml.SafeLoader.construct_mapping(loader, node, deep=deep))


_LOADER_BASE: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_LOADER_BASE):  # type: ignore[valid-type,misc]
    """Safe YAML loading (no Python objects) that also refuses duplicate keys."""


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    cast(Callable[[yaml.SafeLoader, yaml.Node], Any], _construct_mapping),
)


def loads_yaml(text: str, file: str) -> Any:
    """Load one YAML document and turn it into plain JSON values.

    YAML timestamps become RFC 3339 strings in UTC with a "Z" (the form OSV's schema
    requires), so that a YAML advisory validates like its JSON twin. Anchors/aliases,
    non-string keys, NaN/Infinity and YAML-only types are refused.
    """
    try:
        value = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except _DuplicateKey as exc:
        line = exc.mark.line + 1 if exc.mark else None
        column = exc.mark.column + 1 if exc.mark else None
        raise FormatError(
            file,
            "",
            "each mapping key once",
            found=f"a second {exc.key!r}",
            line=line,
            column=column,
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise FormatError(
            file,
            "",
            f"valid YAML ({exc.problem or exc.context or 'syntax error'})",
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        raise FormatError(file, "", f"valid YAML ({exc})") from None
    except RecursionError:
        raise FormatError(file, "", "YAML nested less deeply") from None
    return _plain(value, file)


def _plain(value: Any, file: str) -> Any:
    seen: set[int] = set()

    def convert(item: Any, path: list[str | int]) -> Any:
        if isinstance(item, dict | list):
            # The same container twice means a YAML alias: refused, because aliases can
            # expand a small file into an enormous document ("billion laughs").
            if id(item) in seen:
                raise FormatError(file, pointer(path), "no YAML anchors or aliases")
            seen.add(id(item))
        if isinstance(item, dict):
            out: dict[str, Any] = {}
            for key, child in item.items():
                if not isinstance(key, str):
                    raise FormatError(
                        file, pointer(path), "string keys", found=f"the key {describe(key)}"
                    )
                out[key] = convert(child, [*path, key])
            return out
        if isinstance(item, list):
            return [convert(child, [*path, index]) for index, child in enumerate(item)]
        if isinstance(item, dt.datetime):
            return _rfc3339(item)
        if isinstance(item, dt.date):
            return item.isoformat()
        if isinstance(item, float) and not math.isfinite(item):
            raise FormatError(file, pointer(path), "a finite number", found=repr(item))
        if item is None or isinstance(item, str | int | float):
            return item
        raise FormatError(
            file, pointer(path), "a JSON value", found=f"a YAML {type(item).__name__}"
        )

    try:
        return convert(value, [])
    except RecursionError:
        raise FormatError(file, "", "YAML nested less deeply") from None


def _rfc3339(value: dt.datetime) -> str:
    # YAML 1.1 reads a timestamp without a zone as UTC.
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.isoformat() + "Z"


def read_head(source: Source, file: str, max_bytes: int) -> bytes:
    """The first bytes of an input, leaving a caller's stream where it was."""
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source[:HEAD_BYTES])
    if isinstance(source, str | os.PathLike):
        with open_binary(source, file, max_bytes) as handle:
            return handle.read(HEAD_BYTES)
    peek = getattr(source, "peek", None)
    if callable(peek):
        peeked = peek(HEAD_BYTES)
        if isinstance(peeked, bytes) and len(peeked) >= min(HEAD_BYTES, 4):
            return peeked[:HEAD_BYTES]
    try:
        seekable = source.seekable()
    except (AttributeError, ValueError):
        seekable = False
    if not seekable:
        raise FormatError(file, "", "a path or a seekable stream when the format is 'auto'")
    here = source.tell()
    head = source.read(HEAD_BYTES)
    source.seek(here)
    if not isinstance(head, bytes):
        raise FormatError(file, "", "a binary stream", found="a text stream")
    return head


def is_seekable(source: object) -> bool:
    try:
        return bool(source.seekable())  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):
        return False


def spool(source: IO[bytes], file: str, max_bytes: int) -> IO[bytes]:
    """Copy a non-seekable stream into a (spooled) temporary file so it can be read twice,
    refusing it once it passes `max_bytes`. The caller closes the copy."""
    copy: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=8 * MIB)  # noqa: SIM115
    copied = 0
    try:
        while chunk := source.read(MIB):
            if not isinstance(chunk, bytes):
                raise FormatError(file, "", "a binary stream", found="a text stream")
            copied += len(chunk)
            if copied > max_bytes:
                raise _limit_error(file, max_bytes)
            copy.write(chunk)
    except BaseException:
        copy.close()
        raise
    copy.seek(0)
    return copy
