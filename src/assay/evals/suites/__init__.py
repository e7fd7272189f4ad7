"""Assay's own evaluation suites, one package each, registered with Inspect as ``assay/<name>``."""
