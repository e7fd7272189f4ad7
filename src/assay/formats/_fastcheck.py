"""A quick, conservative check of JSON values against a subset of JSON Schema (draft 4).

Streaming SARIF validates every result. fastjsonschema's compiled code costs about 21
microseconds per CodeQL-shaped result, most of it spent asking each of the ~30 properties
the schema defines whether it is present; this checker walks the properties a value *has*
(a dict lookup each), which takes a few microseconds.

It answers only "certainly valid" (True) or "not sure" (False): a keyword it does not
implement exactly makes its schema answer False for every value. A False is followed by the
full validators (fastjsonschema, then jsonschema for the message), so the rejections, and
what they say, are the schema's own; this module only lets valid results skip them.
Soundness, True only for values the schema accepts, is what the tests check against
jsonschema.

Implemented exactly: ``type`` (integers are Python ints, not floats, as in draft 4; a float
such as 1.0 is "not sure"), ``enum`` of strings, ``minimum`` and ``maximum`` (without the
exclusive forms), ``pattern`` (``re.search``, as jsonschema does), ``minItems``,
``maxItems``, ``uniqueItems`` (JSON equality: 1 equals 1.0, true does not equal 1),
``items`` (one schema), ``properties``, ``additionalProperties``, ``required``, ``anyOf``
(a value passes when one branch certainly passes) and local ``$ref``\\ s. Annotations
(``default``, ``description``, ``title``) and ``format`` (asserted by neither validator
here) are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Mapping
from typing import Any

Check = Callable[[Any], bool]

_IGNORED = frozenset({"default", "description", "title", "format", "$schema", "id", "$id"})
_HANDLED = frozenset(
    {
        "type",
        "enum",
        "minimum",
        "maximum",
        "pattern",
        "minItems",
        "maxItems",
        "uniqueItems",
        "items",
        "properties",
        "additionalProperties",
        "required",
        "anyOf",
        "$ref",
    }
)
_OBJECT_WORDS = frozenset({"properties", "additionalProperties", "required"})
_ARRAY_WORDS = frozenset({"items", "minItems", "maxItems", "uniqueItems"})
_NUMBER_WORDS = frozenset({"minimum", "maximum"})
_STRING_WORDS = frozenset({"pattern", "enum"})


def _never(value: Any) -> bool:
    return False


def _always(value: Any) -> bool:
    return True


def _is_str(value: Any) -> bool:
    return type(value) is str


def _is_int(value: Any) -> bool:
    return type(value) is int


def _is_number(value: Any) -> bool:
    kind = type(value)
    return kind is int or kind is float


def _is_bool(value: Any) -> bool:
    return type(value) is bool


def _is_null(value: Any) -> bool:
    return value is None


def _is_object(value: Any) -> bool:
    return isinstance(value, dict)


def _is_array(value: Any) -> bool:
    return isinstance(value, list)


_TYPES: dict[str, Check] = {
    "string": _is_str,
    "integer": _is_int,
    "number": _is_number,
    "boolean": _is_bool,
    "null": _is_null,
    "object": _is_object,
    "array": _is_array,
}


def canonical(value: Any) -> Hashable:
    """A hashable stand-in for a JSON value: two values are equal under JSON Schema's
    equality (jsonschema's ``equal``) exactly when their stand-ins are equal. Python already
    makes 1 == 1.0 and 0 == -0.0; booleans are wrapped so that true is not 1."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, dict):
        return ("object", frozenset((key, canonical(item)) for key, item in value.items()))
    if isinstance(value, list):
        return ("array", tuple(canonical(item) for item in value))
    if isinstance(value, str | int | float) or value is None:
        return value
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def all_unique(items: list[Any]) -> bool:
    """Whether no two items of a JSON array are equal (JSON Schema's ``uniqueItems``), in
    linear time: jsonschema compares every pair of unsortable items (dicts), which took
    minutes for a SARIF ``artifacts`` table of 20,000 files."""
    if len(items) < 2:
        return True
    return len({canonical(item) for item in items}) == len(items)


class FastChecker:
    """Compiles the definitions of one schema document into closures, once each."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self._document = document
        self._compiled: dict[str, Check] = {}

    def for_ref(self, ref: str) -> Check:
        """The check of a local reference ("#/definitions/result")."""
        compiled = self._compiled.get(ref)
        if compiled is not None:
            return compiled
        # A reference may be reached again while its schema compiles (recursive schemas):
        # until then it resolves through this table, then the table holds the real check.
        table = self._compiled

        def forward(value: Any) -> bool:
            return table[ref](value)

        table[ref] = forward
        table[ref] = self.compile(self._resolve(ref))
        return table[ref]

    def _resolve(self, ref: str) -> Any:
        if not ref.startswith("#/"):
            raise ValueError(f"only local references are compiled: {ref}")
        target: Any = self._document
        for token in ref[2:].split("/"):
            target = target[token.replace("~1", "/").replace("~0", "~")]
        return target

    def compile(self, schema: Any) -> Check:
        if not isinstance(schema, dict):
            return _always if schema is True else _never
        words = set(schema) - _IGNORED
        if not words or words - _HANDLED:
            # Nothing to check, or a keyword not implemented here: never certain.
            return _never if words else _always
        if "$ref" in schema:
            ref = schema["$ref"]
            # Draft 4 ignores the siblings of $ref; not worth a special case here.
            local = words == {"$ref"} and isinstance(ref, str) and ref.startswith("#/")
            return self.for_ref(ref) if local else _never
        types = schema.get("type")
        if types is None and words <= _OBJECT_WORDS:
            # Object keywords alone (an anyOf branch {"required": [...]}): they constrain
            # objects and let every other value pass.
            return self._object(schema, words, objects_only=False)
        type_names = [types] if isinstance(types, str) else types
        if not isinstance(type_names, list) or len(type_names) != 1:
            # No type with other keywords (each would apply to its own kind of value), or
            # several types.
            return _never
        return self._typed(schema, words, type_names[0])

    def _typed(self, schema: dict[str, Any], words: set[str], kind: Any) -> Check:
        base = _TYPES.get(kind) if isinstance(kind, str) else None
        if base is None:
            return _never
        if kind == "object":
            return self._object(schema, words)
        if kind == "array":
            return self._array(schema, words)
        if kind in ("integer", "number"):
            return _number(schema, words, base)
        if kind == "string":
            return _string(schema, words)
        return base if words == {"type"} else _never

    def _object(
        self, schema: dict[str, Any], words: set[str], *, objects_only: bool = True
    ) -> Check:
        if words - _OBJECT_WORDS - {"type", "anyOf"}:
            return _never
        required = schema.get("required", [])
        if not isinstance(required, list) or not all(isinstance(n, str) for n in required):
            return _never
        required_names = tuple(required)
        branches = schema.get("anyOf")
        if branches is not None and (not isinstance(branches, list) or not branches):
            return _never
        # SARIF's anyOf is "one of these members is present" ({"required": [name]} per
        # branch): a set test. Other branches are compiled.
        any_names = _one_name_each(branches) if branches else None
        alternatives = (
            tuple(self.compile(branch) for branch in branches)
            if branches and any_names is None
            else ()
        )
        properties = schema.get("properties", {})
        if not isinstance(properties, dict):
            return _never
        # Members that are a plain string, or an integer with a lower bound, are checked
        # inline (most members are): a call per member costs more than the check.
        leaves: dict[str, tuple[type[Any], int | None]] = {}
        checks: dict[str, Check] = {}
        for name, sub in properties.items():
            leaf = _leaf(sub)
            if leaf is not None:
                leaves[name] = leaf
            else:
                checks[name] = self.compile(sub)
        extra_schema = schema.get("additionalProperties", True)
        extra: Check | None = None if extra_schema is True else self.compile(extra_schema)
        if extra_schema is False:
            extra = _never
        leaf_of = leaves.get
        check_of = checks.get

        # One early exit per rule keeps this hot path flat.
        def check(value: Any) -> bool:  # noqa: PLR0911
            if not isinstance(value, dict):
                return not objects_only
            for name in required_names:
                if name not in value:
                    return False
            if any_names is not None and any_names.isdisjoint(value):
                return False
            for key, item in value.items():
                leaf = leaf_of(key)
                if leaf is not None:
                    if type(item) is not leaf[0] or (leaf[1] is not None and item < leaf[1]):
                        return False
                    continue
                found = check_of(key)
                if found is None:
                    if extra is not None and not extra(item):
                        return False
                elif not found(item):
                    return False
            if alternatives:
                return any(branch(value) for branch in alternatives)
            return True

        return check

    def _array(self, schema: dict[str, Any], words: set[str]) -> Check:
        items_schema = schema.get("items", True)
        if isinstance(items_schema, list):
            return _never  # tuple validation
        each = self.compile(items_schema)
        low = schema.get("minItems", 0)
        high = schema.get("maxItems")
        unique = schema.get("uniqueItems", False)
        if not _is_int(low) or not (high is None or _is_int(high)) or not _is_bool(unique):
            return _never
        check_each = each is not _always

        def check(value: Any) -> bool:
            if not isinstance(value, list):
                return False
            size = len(value)
            if size < low or (high is not None and size > high):
                return False
            if check_each:
                for item in value:
                    if not each(item):
                        return False
            return not unique or all_unique(value)

        return check


def _number(schema: dict[str, Any], words: set[str], base: Check) -> Check:
    if words - _NUMBER_WORDS - {"type"}:
        return _never
    low, high = schema.get("minimum"), schema.get("maximum")
    if not all(bound is None or _is_number(bound) for bound in (low, high)):
        return _never
    if low is None and high is None:
        return base

    def check(value: Any) -> bool:
        return base(value) and (low is None or value >= low) and (high is None or value <= high)

    return check


def _string(schema: dict[str, Any], words: set[str]) -> Check:
    if words - _STRING_WORDS - {"type"}:
        return _never
    enum = schema.get("enum")
    if enum is not None:
        if not isinstance(enum, list) or not all(_is_str(item) for item in enum):
            return _never
        allowed = frozenset(enum)
    pattern = schema.get("pattern")
    search = re.compile(pattern).search if isinstance(pattern, str) else None
    if pattern is not None and search is None:
        return _never
    if enum is None and search is None:
        return _is_str

    def check(value: Any) -> bool:
        if type(value) is not str:
            return False
        if enum is not None and value not in allowed:
            return False
        return search is None or search(value) is not None

    return check


def _one_name_each(branches: list[Any]) -> frozenset[str] | None:
    """The member names of an anyOf whose every branch is exactly {"required": [name]}."""
    names: set[str] = set()
    for branch in branches:
        if not isinstance(branch, dict) or set(branch) != {"required"}:
            return None
        required = branch["required"]
        if not isinstance(required, list) or len(required) != 1 or not _is_str(required[0]):
            return None
        names.add(required[0])
    return frozenset(names)


def _leaf(schema: Any) -> tuple[type[Any], int | None] | None:
    """(str, None) for {"type": "string"}, (int, low) for {"type": "integer"} with an
    optional integer minimum; None for anything else."""
    if not isinstance(schema, dict):
        return None
    words = set(schema) - _IGNORED
    if schema.get("type") == "string" and words == {"type"}:
        return (str, None)
    if schema.get("type") == "integer" and words <= {"type", "minimum"}:
        low = schema.get("minimum")
        if low is None or _is_int(low):
            return (int, low)
    return None
