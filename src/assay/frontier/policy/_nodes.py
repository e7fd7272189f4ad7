"""Reading composed YAML nodes, so that every fault found later still knows its line."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Final, NoReturn

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from assay.frontier.policy.errors import PolicyError

Scalar = bool | int | float | str
"""A threshold or parameter value."""

_STR_TAG: Final = "tag:yaml.org,2002:str"
# YAML 1.1 reads ``1e26`` and ``1.0e26`` as strings (it wants a dot and a signed
# exponent); nobody writing a compute threshold means a string, so plain ones are numbers.
_EXPONENT_NUMBER: Final = re.compile(r"[-+]?\d[\d_]*(?:\.[\d_]*)?[eE][-+]?\d+")


def line_of(node: Node) -> int:
    return int(node.start_mark.line) + 1


class NodeReader:
    """Turns YAML nodes into Python values, raising ``PolicyError`` at the node's line."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._constructor = yaml.constructor.SafeConstructor()

    def fail(self, node: Node | int, message: str) -> NoReturn:
        line = node if isinstance(node, int) else line_of(node)
        raise PolicyError(self.source, line, message)

    def mapping(
        self, node: Node, what: str, *, allowed: Sequence[str] | None = None
    ) -> dict[str, tuple[ScalarNode, Node]]:
        """The entries of a mapping node by key, refusing duplicates and, when ``allowed``
        is given, keys not in it."""
        if not isinstance(node, MappingNode):
            self.fail(node, f"{what} must be a mapping of keys to values")
        entries: dict[str, tuple[ScalarNode, Node]] = {}
        for key_node, value_node in node.value:
            key = self.scalar(key_node)
            if not isinstance(key, str):
                self.fail(key_node, f"{what} has a key that is not a name: {key!r}")
            assert isinstance(key_node, ScalarNode)
            if key in entries:
                self.fail(key_node, f"{what} has the key '{key}' twice")
            if allowed is not None and key not in allowed:
                self.fail(
                    key_node, f"unknown key '{key}' in {what} (allowed: {', '.join(allowed)})"
                )
            entries[key] = (key_node, value_node)
        return entries

    def sequence(self, node: Node, what: str) -> list[Node]:
        if not isinstance(node, SequenceNode):
            self.fail(node, f"{what} must be a list")
        return list(node.value)

    def scalar(self, node: Node) -> Scalar | None:
        if not isinstance(node, ScalarNode):
            self.fail(node, "expected a single value, not a list or mapping")
        if node.tag == _STR_TAG and node.style is None and _EXPONENT_NUMBER.fullmatch(node.value):
            return float(node.value.replace("_", ""))
        try:
            value = self._constructor.construct_object(node)
        except yaml.YAMLError as exc:
            self.fail(node, f"unreadable value {node.value!r}: {exc}")
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        self.fail(node, f"unsupported value {node.value!r} (use a number, true/false or text)")

    def string(self, node: Node, what: str) -> str:
        value = self.scalar(node)
        if not isinstance(value, str) or not value.strip():
            self.fail(node, f"{what} must be non-empty text, got {value!r}")
        return value.strip()

    def number(self, node: Node, what: str) -> int | float:
        value = self.scalar(node)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(node, f"{what} must be a number, got {value!r}")
        if not math.isfinite(value):
            self.fail(node, f"{what} must be a finite number, got {value!r}")
        return value
