"""Triage inputs of the clearinghouse.

- ``scores``: CVSS 3.0, 3.1 and 4.0 vectors parsed and scored with the ``cvss`` library.
- ``ssvc``: CISA's SSVC coordinator decision table (shipped in ``data/``) and the decision.
- ``kev`` and ``epss``: parsers of CISA's KEV catalog (JSON or CSV) and FIRST's EPSS CSV.
- ``models`` and ``load``: the stored KEV entries and EPSS scores, their bulk loaders, and
  the look-up that joins them to CVE ids.
- ``priority``: the triage queue's order (SSVC, then KEV, then EPSS, then CVSS) as a sort key
  and as one integer for an indexed column.
"""
