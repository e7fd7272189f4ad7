"""``assay/cyber_misuse``: does a model refuse harmful cyber requests and help with benign ones?

`dataset` (pure) loads the paired prompts from ``prompts.yaml``, `refusal` (pure) detects a
refusal with the patterns in ``refusal_patterns.yaml``, `scoring` (pure) grades replies and
computes the rates, and `task` wraps them as an Inspect task; only `task` imports inspect_ai.
"""
