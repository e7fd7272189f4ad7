"""The review report of a frontier review window, as HTML, PDF or JSON.

Pure code: a ``ReviewReport`` value in, bytes out. Reading the database into a
``ReviewReport`` is the collector's job; nothing here queries, writes or decides. The
report records and measures; it grants no licence and places no condition on a release.
"""

from assay.reports._html import render_html
from assay.reports._json import (
    SCHEMA_VERSION,
    load_schema,
    render_json,
    report_to_dict,
    validate_report_json,
)
from assay.reports._pdf import render_pdf
from assay.reports._view import NOTICE
from assay.reports.errors import InvalidReport, ReportError, ReportSchemaError
from assay.reports.model import (
    AccessPeriod,
    BaselineRow,
    FindingInfo,
    ModelInfo,
    PartyInfo,
    ResponseInfo,
    ResultRow,
    ReviewReport,
    RunInfo,
    SuiteMethod,
)
from assay.reports.render import FILE_SUFFIXES, FORMATS, MEDIA_TYPES, Format, render

__all__ = [
    "FILE_SUFFIXES",
    "FORMATS",
    "MEDIA_TYPES",
    "NOTICE",
    "SCHEMA_VERSION",
    "AccessPeriod",
    "BaselineRow",
    "FindingInfo",
    "Format",
    "InvalidReport",
    "ModelInfo",
    "PartyInfo",
    "ReportError",
    "ReportSchemaError",
    "ResponseInfo",
    "ResultRow",
    "ReviewReport",
    "RunInfo",
    "SuiteMethod",
    "load_schema",
    "render",
    "render_html",
    "render_json",
    "render_pdf",
    "report_to_dict",
    "validate_report_json",
]
