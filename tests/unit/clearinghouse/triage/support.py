"""Paths of the shared real data, and an EPSS fixture."""

from __future__ import annotations

from tests.shared_data import SHARED_DATA, shared

KEV_DIR = SHARED_DATA / "kev"
__all__ = ["EPSS_FIXTURE", "KEV_CSV", "KEV_JSON", "SHARED_DATA", "shared"]
KEV_JSON = KEV_DIR / "known_exploited_vulnerabilities.json"
KEV_CSV = KEV_DIR / "known_exploited_vulnerabilities.csv"

# A FIXTURE in the shape of FIRST's daily file (epss_scores-YYYY-MM-DD.csv): the comment
# line, the header, then one row per CVE. The CVE ids are real (all in the shared KEV
# catalog), but the numbers are made up for these tests: they are not FIRST's scores.
EPSS_FIXTURE = b"""\
#model_version:v2025.03.14,score_date:2025-08-25T00:00:00+0000
cve,epss,percentile
CVE-2021-44228,0.94358,0.99994
CVE-2023-4966,0.94233,0.99924
CVE-2024-3400,0.94321,0.99972
CVE-2017-0144,0.94043,0.99883
CVE-2025-48384,0.00335,0.55853
CVE-2024-8068,0.00081,0.25197
CVE-2013-1347,0.93106,0.99791
CVE-2020-29583,0.92817,0.99738
"""
