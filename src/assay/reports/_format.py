"""How numbers and times are written in the report: one place, so the HTML, the chart and
the PDF print them alike."""

from __future__ import annotations

from datetime import UTC, datetime


def number(value: float, *, short: bool = False) -> str:
    """Three decimals (``0.625``); ``short`` drops trailing zeros, for axis ticks."""
    if abs(value) >= 10_000:
        return f"{value:,.0f}"
    text = f"{value:.3f}"
    if text == "-0.000":  # a tiny negative value must not print as a negative zero
        text = "0.000"
    return text.rstrip("0").rstrip(".") if short else text


def signed(value: float) -> str:
    """A difference with its sign: ``+0.125``, ``-0.050``, ``0.000``."""
    text = number(value)
    return text if text.startswith("-") or text == "0.000" else f"+{text}"


def utc(value: datetime | None, *, empty: str = "—") -> str:
    """``2026-03-02 09:00 UTC``; ``empty`` for a missing time."""
    if value is None:
        return empty
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def iso(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, as the JSON carries it."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
