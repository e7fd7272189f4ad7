"""The bundled JSON schemas, their validators, and schema errors turned into FormatErrors.

Every `$ref` resolves from files shipped in `schemas/`: jsonschema gets a `referencing`
registry holding them (and no retrieval function, so an unknown URL fails instead of being
fetched), and fastjsonschema gets handlers that refuse every URL scheme.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cache
from importlib import resources
from typing import Any, NoReturn

import fastjsonschema
from jsonschema import Draft4Validator, Draft7Validator, Draft202012Validator, validators
from jsonschema.exceptions import ValidationError, best_match
from jsonschema.protocols import Validator
from referencing import Registry, Resource

from assay.formats._fastcheck import FastChecker, all_unique
from assay.formats.errors import FormatError, describe, pointer

SARIF_SCHEMA = "sarif-schema-2.1.0.json"
OSV_SCHEMA = "osv.schema.json"
CSAF_SCHEMA = "csaf_2.0.schema.json"
CVE5_SCHEMA = "cve-record-format-5.x-bundled.json"
_CVSS_SCHEMAS = ("cvss-v2.0.json", "cvss-v3.0.json", "cvss-v3.1.json")


@cache
def load_schema(name: str) -> dict[str, Any]:
    text = resources.files("assay.formats").joinpath("schemas").joinpath(name).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _schema_id(schema: Mapping[str, Any]) -> str:
    return str(schema.get("$id") or schema.get("id") or "")


@cache
def _registry() -> Registry[Any]:
    resources_: list[tuple[str, Resource[Any]]] = []
    for name in (SARIF_SCHEMA, OSV_SCHEMA, CSAF_SCHEMA, CVE5_SCHEMA, *_CVSS_SCHEMAS):
        schema = load_schema(name)
        resource = Resource.from_contents(schema)
        resources_.append((_schema_id(schema), resource))
        if name in _CVSS_SCHEMAS:
            # The CSAF schema cites "https://www.first.org/cvss/cvss-v3.1.json" while the
            # file's own $id adds a "?20211103"-style query: register both spellings.
            resources_.append((f"https://www.first.org/cvss/{name}", resource))
    return Registry().with_resources(resources_).crawl()


def _unique_items(
    validator: Validator, unique: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    # jsonschema's own check compares every pair of items it cannot sort (objects): a
    # SARIF run's `artifacts` table of 2,000 files took 4.5 s, one of 20,000 several
    # minutes. Same verdict and message, in linear time.
    if unique and validator.is_type(instance, "array") and not all_unique(instance):
        yield ValidationError(f"{instance!r} has non-unique elements")


def _linear(cls: type[Validator]) -> type[Validator]:
    extended: type[Validator] = validators.extend(  # type: ignore[no-untyped-call]
        cls, {"uniqueItems": _unique_items}
    )
    return extended


_Draft4 = _linear(Draft4Validator)
_Draft7 = _linear(Draft7Validator)
_Draft202012 = _linear(Draft202012Validator)


def _ref_validator(cls: type[Validator], schema_name: str, fragment: str = "") -> Validator:
    uri = _schema_id(load_schema(schema_name)) + (f"#{fragment}" if fragment else "")
    return cls({"$ref": uri}, registry=_registry())


@cache
def sarif_validator(fragment: str = "") -> Validator:
    """jsonschema for the SARIF log, or one definition of it ("/definitions/run")."""
    return _ref_validator(_Draft4, SARIF_SCHEMA, fragment)


@cache
def osv_validator() -> Validator:
    return _Draft202012(load_schema(OSV_SCHEMA), registry=_registry())


@cache
def csaf_validator() -> Validator:
    return _Draft202012(load_schema(CSAF_SCHEMA), registry=_registry())


@cache
def cve5_validator() -> Validator:
    return _Draft7(load_schema(CVE5_SCHEMA), registry=_registry())


class _NoRemoteRefs(Mapping[str, Callable[[str], Any]]):
    """fastjsonschema handler table that claims every URL scheme and refuses it, since an
    unclaimed scheme would be fetched with urllib."""

    def __getitem__(self, scheme: str) -> Callable[[str], Any]:
        return self._refuse

    def __contains__(self, scheme: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    @staticmethod
    def _refuse(uri: str) -> NoReturn:
        raise ValueError(f"remote schema reference refused: {uri}")


@cache
def sarif_result_checker() -> Callable[[Any], Any]:
    """A compiled validator for one SARIF `result`, built once per process.

    It only answers "valid or not" (no detailed exceptions, no format checks, no default
    filling): a rejected result is validated again with jsonschema for a precise message.
    Formats are off because jsonschema, which produces the messages, does not assert them.
    """
    schema = load_schema(SARIF_SCHEMA)
    wrapper = {
        "$schema": schema["$schema"],
        "id": schema["id"],
        "definitions": schema["definitions"],
        "$ref": "#/definitions/result",
    }
    checker: Callable[[Any], Any] = fastjsonschema.compile(
        wrapper,
        handlers=_NoRemoteRefs(),
        use_default=False,
        use_formats=False,
        detailed_exceptions=False,
    )
    return checker


FAST_SCHEMA_ERRORS: tuple[type[Exception], ...] = (fastjsonschema.JsonSchemaException,)


@cache
def sarif_result_quick_check() -> Callable[[Any], bool]:
    """True when a SARIF `result` is certainly valid (`_fastcheck`), in about a quarter of
    the compiled validator's time; False means "run the validators"."""
    return FastChecker(load_schema(SARIF_SCHEMA)).for_ref("#/definitions/result")


# --- turning jsonschema errors into FormatErrors ---------------------------------------------


def first_error(validator: Validator, instance: Any) -> ValidationError | None:
    """The most useful single error: the deepest one, ties broken by jsonschema's relevance."""
    errors = list(validator.iter_errors(instance))
    if not errors:
        return None
    deepest = max(len(error.absolute_path) for error in errors)
    best: ValidationError | None = best_match(
        error for error in errors if len(error.absolute_path) == deepest
    )
    return best


def all_errors(validator: Validator, instance: Any) -> list[ValidationError]:
    return sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path])


def _literal(value: object) -> str:
    return json.dumps(value) if not isinstance(value, str) else repr(value)


_SIMPLE: dict[str, Callable[[Any], str]] = {
    "const": _literal,
    "minimum": lambda value: f"a number >= {value}",
    "maximum": lambda value: f"a number <= {value}",
    "exclusiveMinimum": lambda value: f"a number > {value}",
    "exclusiveMaximum": lambda value: f"a number < {value}",
    "pattern": lambda value: f"a string matching {value!r}",
    "minLength": lambda value: f"a string of at least {value} character(s)",
    "maxLength": lambda value: f"a string of at most {value} characters",
    "minItems": lambda value: f"at least {value} item(s)",
    "maxItems": lambda value: f"at most {value} items",
    "minProperties": lambda value: f"at least {value} property(ies)",
    "enum": lambda value: "one of " + ", ".join(_literal(v) for v in value),
    "type": lambda value: (
        "a value of type "
        + " or ".join(repr(t) for t in (value if isinstance(value, list) else [value]))
    ),
}


def to_format_error(
    error: ValidationError, file: str, prefix: Iterable[str | int] = ()
) -> FormatError:
    """Describe a schema violation as what was expected where (pointer into the file)."""
    error = _settle(error)
    path: list[str | int] = [*prefix, *error.absolute_path]
    kind = str(error.validator)
    found: str | None = describe(error.instance)
    if kind in _SIMPLE:
        expected = _SIMPLE[kind](error.validator_value)
    elif kind == "required":
        missing = _missing(error)
        expected = f"the property {missing!r}" if missing else "a required property"
        found = "an object without it"
    elif kind == "additionalProperties" and (extra := _unexpected_keys(error)):
        path.append(extra[0])
        expected = "no property of that name here (the schema does not define it)"
        found = repr(extra[0])
    elif kind in {"anyOf", "oneOf"}:
        expected = _alternatives(error)
    elif kind == "uniqueItems":
        expected, found = "unique items", "a repeated item"
    else:
        expected, found = f"a value valid against the schema ({error.message})", None
    return FormatError(file, pointer(path), expected, found=found)


def _settle(error: ValidationError) -> ValidationError:
    """Descend from an anyOf/oneOf into the branch that came closest to matching (fewest
    errors), when that branch fails somewhere deeper: that place is the better pointer."""
    while error.validator in {"anyOf", "oneOf"} and error.context:
        branches: dict[object, list[ValidationError]] = {}
        for sub in error.context:
            key = sub.relative_schema_path[0] if sub.relative_schema_path else None
            branches.setdefault(key, []).append(sub)
        closest = min(branches.values(), key=lambda group: (len(group), -_depth(group)))
        candidate = max(closest, key=lambda sub: len(sub.absolute_path))
        if len(candidate.absolute_path) <= len(error.absolute_path):
            break
        error = candidate
    return error


def _depth(errors: list[ValidationError]) -> int:
    return max(len(error.absolute_path) for error in errors)


def _missing(error: ValidationError) -> str | None:
    match = re.match(r"'(.*)' is a required property", error.message)
    return match.group(1) if match else None


def _unexpected_keys(error: ValidationError) -> list[str]:
    schema = error.schema if isinstance(error.schema, dict) else {}
    known = set(schema.get("properties", {}))
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    instance = error.instance if isinstance(error.instance, dict) else {}
    return [
        key for key in instance if key not in known and not any(p.search(key) for p in patterns)
    ]


def _alternatives(error: ValidationError) -> str:
    branches = error.context or []
    how_many = "exactly one" if error.validator == "oneOf" else "at least one"
    if branches and all(branch.validator == "required" for branch in branches):
        names = [name for name in (_missing(branch) for branch in branches) if name]
        if names:
            return f"{how_many} of the properties " + ", ".join(
                repr(n) for n in dict.fromkeys(names)
            )
    return f"a value matching {how_many} of the forms the schema allows"
