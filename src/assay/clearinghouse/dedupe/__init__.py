"""The pure deduplication engine: no database, no clock, no I/O.

Three levels, each a module, tried in this order by `assay.clearinghouse.clustering`:

- `fingerprint`: exact keys of one finding (the tool's SARIF fingerprints, its partial
  fingerprints, and a fingerprint computed from facts no tool controls);
- `aliases`: public identifiers (CVE, GHSA, PYSEC, ...) normalized and merged transitively;
- `near`: MinHash signatures of the text and an LSH index per package or repository, with a
  "duplicate" and a "possible duplicate" verdict.
"""
