"""FIRST's EPSS scores, in the CSV form FIRST publishes daily.

The file starts with a comment line naming the model and the day scored, then a header::

    #model_version:v2025.03.14,score_date:2025-08-25T00:00:00+0000
    cve,epss,percentile
    CVE-2025-48384,0.00335,0.55853

Gzip-compressed files (FIRST serves ``epss_scores-current.csv.gz``) are accepted as they
are. A file without the comment line must carry a ``date`` column (as FIRST's API CSV
does). EPSS and percentile must be numbers in [0, 1] and a CVE may appear once; every
problem is reported with its line (see ``_input``).
"""

from __future__ import annotations

import gzip
import math
import zlib
from dataclasses import dataclass
from datetime import date

from assay.clearinghouse.triage._input import (
    CVE_ID,
    Errors,
    csv_records,
    decode_text,
    parse_date,
)

WHAT = "EPSS score file"
REQUIRED_COLUMNS = ("cve", "epss", "percentile")
MAX_VERSION_LENGTH = 40


@dataclass(frozen=True)
class EpssScore:
    cve_id: str
    epss: float
    """The probability of exploitation activity in the next 30 days, in [0, 1]."""
    percentile: float
    score_date: date


@dataclass(frozen=True)
class EpssFile:
    model_version: str | None
    score_date: date
    """The comment line's date, or the newest ``date`` of the rows."""
    scores: tuple[EpssScore, ...]


def parse_epss_csv(data: bytes, *, source_name: str) -> EpssFile:
    errors = Errors(source_name, WHAT)
    text = decode_text(_decompress(data, errors), errors)
    model_version, file_date = None, None
    first_line = 1
    if text.startswith("#"):
        comment, _, text = text.partition("\n")
        first_line = 2
        model_version, file_date = _comment(comment, errors)
    records = csv_records(text, errors, first_line=first_line)
    first = next(records, None)
    if first is None:
        raise errors.fail(f"{source_name}:{first_line}", "a header row: cve,epss,percentile")
    header_line, header_cells = first
    header = [cell.strip().lower() for cell in header_cells]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise errors.fail(f"{source_name}:{header_line}", f"the columns {', '.join(missing)}")
    if file_date is None and "date" not in header:
        raise errors.fail(
            f"{source_name}:1",
            "a first line #model_version:...,score_date:YYYY-MM-DD, or a date column",
        )
    scores: list[EpssScore] = []
    seen: dict[str, int] = {}
    for line, cells in records:
        score = _row(cells, header, file_date, errors, f"{source_name}:{line}")
        if score is None:
            continue
        if score.cve_id in seen:
            errors.add(
                f"{source_name}:{line}:cve",
                f"a CVE listed once ({score.cve_id} is also on line {seen[score.cve_id]})",
            )
            continue
        seen[score.cve_id] = line
        scores.append(score)
    if not scores and not errors.items:
        errors.add(f"{source_name}:{header_line + 1}", "at least one score after the header")
    errors.raise_if_any()
    return EpssFile(
        model_version=model_version,
        score_date=file_date or max(s.score_date for s in scores),
        scores=tuple(scores),
    )


def _decompress(data: bytes, errors: Errors) -> bytes:
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise errors.fail(errors.source_name, f"a readable gzip file ({exc})") from None


def _comment(comment: str, errors: Errors) -> tuple[str | None, date]:
    """FIRST's first line: ``#model_version:v2025.03.14,score_date:2025-08-25T00:00:00+0000``."""
    fields = dict(part.split(":", 1) for part in comment[1:].strip().split(",") if ":" in part)
    score_date = parse_date(fields.get("score_date", "").strip()[:10])
    if score_date is None:
        raise errors.fail(
            f"{errors.source_name}:1", "a comment line with score_date:YYYY-MM-DD (FIRST's form)"
        )
    model_version = fields.get("model_version", "").strip() or None
    if model_version is not None and len(model_version) > MAX_VERSION_LENGTH:
        raise errors.fail(
            f"{errors.source_name}:1", f"a model_version of at most {MAX_VERSION_LENGTH} characters"
        )
    return model_version, score_date


def _row(
    cells: list[str], header: list[str], file_date: date | None, errors: Errors, at: str
) -> EpssScore | None:
    if len(cells) != len(header):
        errors.add(at, f"{len(header)} cells, not {len(cells)}")
        return None
    row = dict(zip(header, cells, strict=True))
    before = errors.count
    cve = row["cve"].strip()
    if not CVE_ID.match(cve):
        errors.add(f"{at}:cve", "a CVE id such as CVE-2024-3400")
    epss = _probability(row["epss"], errors, f"{at}:epss")
    percentile = _probability(row["percentile"], errors, f"{at}:percentile")
    score_date = file_date
    if "date" in row:
        score_date = parse_date(row["date"].strip())
        if score_date is None:
            errors.add(f"{at}:date", "a date written YYYY-MM-DD")
    if errors.count > before or epss is None or percentile is None or score_date is None:
        return None
    return EpssScore(cve, epss, percentile, score_date)


def _probability(text: str, errors: Errors, at: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        errors.add(at, f"a number in [0, 1], not {text.strip()!r}")
        return None
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        errors.add(at, f"a number in [0, 1], not {text.strip()}")
        return None
    return value
