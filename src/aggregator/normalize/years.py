"""Publication years from the many ways catalogues write dates."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable

__all__ = ["MIN_YEAR", "max_year", "pick_year", "year_of"]

MIN_YEAR = 1000

# "s.a." (sine anno), "n.d.", Indonesian "s.d."/"t.t." (tanpa tahun) and friends.
_NO_DATE = re.compile(
    r"\[?\s*(?:s\.?\s*a|n\.?\s*d|s\.?\s*d|t\.?\s*t|tanpa\s+tahun|undated|unknown|no\s+date)"
    r"\.?\s*\]?",
    re.IGNORECASE,
)
# 20190501, or a MARC 005 / compact timestamp 20020812092159.0
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})(?:T?\d{4,6}(?:\.\d+)?Z?)?")
_FOUR_DIGITS = re.compile(r"(?<!\d)(\d{4})(?!\d)")
# A datestamp-like value: a date with a time of day (DSpace's accessioned/available dates).
_HAS_TIME = re.compile(r"\d[T ]\d{1,2}:\d{2}")


_clock = {"until": 0.0, "year": 0}


def max_year() -> int:
    """The latest plausible publication year: next year (forthcoming issues exist)."""
    now = time.time()
    if now >= _clock["until"]:  # recomputed at most once an hour
        _clock["year"] = time.gmtime(now).tm_year + 1
        _clock["until"] = now + 3600.0
    return int(_clock["year"])


def year_of(value: str, *, latest: int | None = None) -> int | None:
    """Read a publication year from one date value.

    Understands ``2019``, ``2019-05``, ``05/2019``, ``2019-05-01T10:00:00Z``, ``[2019]``,
    ``c2019``, ``©2019``, ``2019?``, ``cop. 2019``, ``1998-2001`` (the first year),
    ``May 2019``, ``Mei 2019`` and ``20190501``; ``s.a.`` and ``n.d.`` give None.

    Args:
        value: the date as harvested.
        latest: the latest year accepted (default: next year).

    Returns:
        A year in 1000..latest, or None.
    """
    text = value.strip()
    top = max_year() if latest is None else latest
    if len(text) >= 4 and text[:4].isdigit() and (len(text) == 4 or not text[4].isdigit()):
        year = int(text[:4])  # the usual shapes: 2019, 2019-05-01, 2019-05-01T00:00:00Z
        if MIN_YEAR <= year <= top:
            return year
    if not text or _NO_DATE.fullmatch(text):
        return None
    compact = _COMPACT.fullmatch(text)
    if compact is not None:
        year, month = int(compact.group(1)), int(compact.group(2))
        return year if 1 <= month <= 12 and MIN_YEAR <= year <= top else None
    for match in _FOUR_DIGITS.finditer(text):
        year = int(match.group(1))
        if MIN_YEAR <= year <= top:
            return year
    return None


def pick_year(values: Iterable[str]) -> tuple[int | None, str | None]:
    """Choose the publication year among several date values of one record.

    Plain years and dates win over datestamp-like values that carry a time of day
    (repositories add accession timestamps as dc:date); among equals the earliest
    plausible year wins.

    Args:
        values: date values as harvested, in document order.

    Returns:
        ``(year, raw)``: the year and the stripped value it came from; when no value
        holds a plausible year, ``(None, first non-empty value)`` or ``(None, None)``.
    """
    best: tuple[bool, int] | None = None
    best_raw: str | None = None
    first: str | None = None
    top = max_year()
    for raw in values:
        text = raw.strip()
        if not text:
            continue
        if first is None:
            first = text
        year = year_of(text, latest=top)
        if year is None:
            continue
        rank = (_HAS_TIME.search(text) is not None, year)
        if best is None or rank < best:
            best, best_raw = rank, text
    if best is None:
        return None, first
    return best[1], best_raw
