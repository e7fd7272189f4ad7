"""Evaluations of frontier models on inspect_ai: suites, runs, baselines, reports."""
