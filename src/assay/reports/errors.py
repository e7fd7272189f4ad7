"""Errors of the report package: one base, so a caller can catch every report problem."""

from __future__ import annotations


class ReportError(Exception):
    """Something about a review report is wrong."""


class InvalidReport(ReportError, ValueError):
    """A value given to the report model breaks one of its rules (the message says which
    field and how to fix it)."""


class ReportSchemaError(ReportError):
    """The JSON form of a report does not match the shipped schema.

    Raised by ``render(..., "json")`` only when the renderer and the schema disagree, which
    is a bug in this package rather than in the caller's data.
    """
