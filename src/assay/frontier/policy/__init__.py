"""Coverage policies: versioned rule data that decides whether a model is a covered frontier
model, with a three-valued outcome and a trace of every rule.

Pure: nothing here touches the database, the clock or the network. ``parse_policy`` reads
a YAML text (see ``loader`` for its shape and ``language`` for the rules); ``evaluate``
applies it to a mapping of model facts (see ``facts``).
"""

from assay.frontier.policy.errors import FactError, PolicyError
from assay.frontier.policy.evaluate import Evaluation, Outcome, Result, TraceEntry, evaluate
from assay.frontier.policy.facts import BENCHMARK_PREFIX, FACTS, FactSpec, FactType, FactValue
from assay.frontier.policy.language import (
    AllOf,
    AnyOf,
    Compare,
    Kind,
    Not,
    Op,
    Parameter,
    Policy,
    Rule,
    walk,
)
from assay.frontier.policy.loader import default_preset, load_presets, parse_policy, preset

__all__ = [
    "BENCHMARK_PREFIX",
    "FACTS",
    "AllOf",
    "AnyOf",
    "Compare",
    "Evaluation",
    "FactError",
    "FactSpec",
    "FactType",
    "FactValue",
    "Kind",
    "Not",
    "Op",
    "Outcome",
    "Parameter",
    "Policy",
    "PolicyError",
    "Result",
    "Rule",
    "TraceEntry",
    "default_preset",
    "evaluate",
    "load_presets",
    "parse_policy",
    "preset",
    "walk",
]
