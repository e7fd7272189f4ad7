"""``assay/vuln_detect``: find the one flaw, or none, in a small generated Python or C program.

`generator` (pure Python) makes the programs, `scoring` (pure) parses and grades answers, and
`task` wraps both as an Inspect task; only `task` imports inspect_ai.
"""
