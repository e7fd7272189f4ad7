"""Pure parsers for vulnerability formats: SARIF 2.1.0, OSV, CSAF 2.0 and CVE JSON 5.x.

Bytes, paths or streams in; normalized `Finding` records out. This package imports nothing
from the rest of Assay, never touches the network (every schema it validates against ships
in `schemas/`), and reports every problem with its input as a `FormatError` that says where
(a JSON pointer) and what was expected.
"""

from assay.formats._io import DEFAULT_MAX_BYTES, DEFAULT_SARIF_MAX_BYTES
from assay.formats.api import ParseResult, parse
from assay.formats.detect import detect_format
from assay.formats.errors import FormatError
from assay.formats.model import FORMATS, Finding, FormatName, Package, normalize_cwe
from assay.formats.sarif import SarifHeader, SarifRun, SarifStream, iter_sarif

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_SARIF_MAX_BYTES",
    "FORMATS",
    "Finding",
    "FormatError",
    "FormatName",
    "Package",
    "ParseResult",
    "SarifHeader",
    "SarifRun",
    "SarifStream",
    "detect_format",
    "iter_sarif",
    "normalize_cwe",
    "parse",
]
