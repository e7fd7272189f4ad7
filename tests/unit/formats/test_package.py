"""The package's own rules: it imports nothing else of Assay, ships its schemas with their
licences, and never reaches for the network to resolve a schema reference."""

from __future__ import annotations

import ast
import json
from importlib import resources
from pathlib import Path

import fastjsonschema
import pytest
from jsonschema import Draft202012Validator
from referencing.exceptions import Unresolvable

import assay.formats
from assay.formats import _schemas

PACKAGE = Path(assay.formats.__file__).parent


def test_formats_imports_nothing_else_of_assay() -> None:
    for module in PACKAGE.rglob("*.py"):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{module.name}: use absolute imports"
                names = [node.module or ""]
            else:
                continue
            for name in names:
                if name == "assay" or name.startswith("assay."):
                    assert name.startswith("assay.formats"), f"{module.name} imports {name}"


SCHEMAS = [
    "sarif-schema-2.1.0.json",
    "osv.schema.json",
    "csaf_2.0.schema.json",
    "cvss-v2.0.json",
    "cvss-v3.0.json",
    "cvss-v3.1.json",
    "cve-record-format-5.x-bundled.json",
]
NOTICES = [
    "SOURCES.md",
    "LICENSE-oasis-sarif-spec.md",
    "LICENSE-osv-schema.txt",
    "LICENSE-oasis-csaf.md",
    "LICENSE-first-cvss-schemas.txt",
]


@pytest.mark.parametrize("name", SCHEMAS + NOTICES)
def test_schemas_and_licences_ship_in_the_package(name: str) -> None:
    resource = resources.files("assay.formats").joinpath("schemas").joinpath(name)
    text = resource.read_text("utf-8")
    if name.endswith(".json"):
        assert isinstance(json.loads(text), dict)
        sources = (PACKAGE / "schemas" / "SOURCES.md").read_text(encoding="utf-8")
        assert name.split(".json", maxsplit=1)[0].split("-v", maxsplit=1)[0] in sources


def test_unknown_remote_refs_are_not_fetched() -> None:
    with pytest.raises(ValueError, match="remote schema reference refused"):
        fastjsonschema.compile(
            {"$ref": "https://example.invalid/schema.json"}, handlers=_schemas._NoRemoteRefs()
        )
    validator = Draft202012Validator(
        {"$ref": "https://example.invalid/schema.json"}, registry=_schemas._registry()
    )
    with pytest.raises(Unresolvable):
        validator.is_valid({})
