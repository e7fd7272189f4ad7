"""Reading policy texts, and the presets shipped in ``presets/``.

A policy text is a YAML mapping::

    name: eo-14110            # lower-case letters, digits and dashes
    version: 1                # an integer from 1; a change is a new version
    title: ...
    description: ...
    default: false            # true for the one policy applied when none is named
    parameters:               # named thresholds, referred to as $name in rules
      compute_flop: {default: 1.0e26, description: ...}
    rule: {...}               # the rule whose result is the outcome (see language.py)
    informational: [...]      # optional: rules traced for the record only

The text is composed into YAML nodes rather than loaded, so every fault found while
checking it (an unknown fact, a missing citation) still names its line.
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from typing import Final

import yaml
from yaml.nodes import Node

from assay.core.errors import NotFound
from assay.frontier.policy._nodes import NodeReader, line_of
from assay.frontier.policy.errors import PolicyError
from assay.frontier.policy.language import Parameter, Policy, Rule, RuleParser

_KEYS: Final = (
    "name",
    "version",
    "title",
    "description",
    "default",
    "parameters",
    "rule",
    "informational",
)
_REQUIRED: Final = ("name", "version", "title", "description", "default", "rule")
_NAME: Final = re.compile(r"[a-z0-9][a-z0-9-]{0,99}")
_PARAMETER: Final = re.compile(r"[a-z][a-z0-9_]*")


def parse_policy(text: str, source: str) -> Policy:
    """Read and check a policy text; ``source`` (a file name) is named in every error.

    Raises ``PolicyError`` naming the file and line of the first fault.
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "unreadable"
        if problem.startswith("but ") and exc.context:
            problem = f"{exc.context}, {problem}"
        line = None if mark is None else mark.line + 1
        raise PolicyError(source, line, f"not valid YAML: {problem}") from exc
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        what = f"character #x{exc.character:04x}" if isinstance(exc.character, int) else "byte"
        raise PolicyError(source, line, f"not valid YAML: {what}: {exc.reason}") from exc
    except yaml.YAMLError as exc:
        raise PolicyError(source, None, f"not valid YAML: {exc}") from exc
    except RecursionError as exc:
        raise PolicyError(source, None, "not valid YAML: nested too deeply") from exc
    if node is None:
        raise PolicyError(source, 1, "the policy is empty")
    return _policy(NodeReader(source), node, text)


def _policy(r: NodeReader, node: Node, text: str) -> Policy:
    entries = r.mapping(node, "the policy", allowed=_KEYS)
    absent = [key for key in _REQUIRED if key not in entries]
    if absent:
        r.fail(node, f"the policy needs {', '.join(absent)}")
    name = r.string(entries["name"][1], "name")
    if not _NAME.fullmatch(name):
        r.fail(entries["name"][1], f"name {name!r} may hold only a-z, 0-9 and dashes")
    version_node = entries["version"][1]
    version = r.scalar(version_node)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        r.fail(version_node, f"version must be a whole number from 1, got {version!r}")
    default = r.scalar(entries["default"][1])
    if not isinstance(default, bool):
        r.fail(entries["default"][1], f"default must be true or false, got {default!r}")
    located = _parameters(r, entries["parameters"][1]) if "parameters" in entries else {}
    parameters = {name: parameter for name, (parameter, _) in located.items()}
    parser = RuleParser(r, parameters)
    root = parser.parse(entries["rule"][1])
    informational: tuple[Rule, ...] = ()
    if "informational" in entries:
        items = r.sequence(entries["informational"][1], "informational")
        informational = tuple(parser.parse(item) for item in items)
    for unused in sorted(parameters.keys() - parser.used, key=lambda n: located[n][1]):
        r.fail(located[unused][1], f"parameter '{unused}' is defined but no rule uses it")
    return Policy(
        name=name,
        version=version,
        title=r.string(entries["title"][1], "title"),
        description=r.string(entries["description"][1], "description"),
        default=default,
        parameters=parameters,
        root=root,
        informational=informational,
        source=r.source,
        source_text=text,
    )


def _parameters(r: NodeReader, node: Node) -> dict[str, tuple[Parameter, int]]:
    """The parameters by name, each with the line it is defined on."""
    out: dict[str, tuple[Parameter, int]] = {}
    if isinstance(node, yaml.ScalarNode) and r.scalar(node) is None:
        return out  # "parameters:" left empty
    for name, (key_node, value_node) in r.mapping(node, "parameters").items():
        if not _PARAMETER.fullmatch(name):
            r.fail(key_node, f"parameter name {name!r} may hold only a-z, 0-9 and _")
        what = f"parameter '{name}'"
        fields = r.mapping(value_node, what, allowed=("default", "description"))
        if "default" not in fields or "description" not in fields:
            r.fail(value_node, f"{what} needs a default and a description")
        default = r.scalar(fields["default"][1])
        if default is None:
            r.fail(fields["default"][1], f"{what} needs a default value")
        description = r.string(fields["description"][1], f"the description of {what}")
        parameter = Parameter(name=name, default=default, description=description)
        out[name] = (parameter, line_of(key_node))
    return out


@functools.cache
def _shipped() -> tuple[Policy, ...]:
    folder = resources.files(__package__).joinpath("presets")
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".yaml")), key=lambda f: f.name)
    policies = [parse_policy(f.read_text(encoding="utf-8"), f.name) for f in files]
    seen: dict[tuple[str, int], str] = {}
    for policy in policies:
        key = (policy.name, policy.version)
        if key in seen:
            raise PolicyError(
                policy.source, None, f"{policy.name} v{policy.version} is also in {seen[key]}"
            )
        seen[key] = policy.source
    defaults = sorted({p.name for p in _latest(policies) if p.default})
    if len(defaults) != 1:
        raise PolicyError("presets", None, f"exactly one preset must be default, not {defaults}")
    return tuple(sorted(policies, key=lambda p: (p.name, p.version)))


def _latest(policies: list[Policy]) -> list[Policy]:
    latest: dict[str, Policy] = {}
    for policy in policies:
        if policy.name not in latest or policy.version > latest[policy.name].version:
            latest[policy.name] = policy
    return list(latest.values())


def load_presets() -> list[Policy]:
    """Every version of every shipped preset, by name then version."""
    return list(_shipped())


def preset(name: str, version: int | None = None) -> Policy:
    """A shipped preset: the latest version, or the one asked for."""
    matching = [p for p in _shipped() if p.name == name]
    if not matching:
        known = ", ".join(sorted({p.name for p in _shipped()}))
        raise NotFound(f"no preset named {name!r}; known presets: {known}")
    if version is None:
        return matching[-1]
    for policy in matching:
        if policy.version == version:
            return policy
    raise NotFound(f"preset {name!r} has no version {version}")


def default_preset() -> Policy:
    """The latest version of the preset marked ``default: true``."""
    return next(p for p in _latest(list(_shipped())) if p.default)
