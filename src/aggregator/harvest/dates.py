"""OAI-PMH datestamps: tolerant parsing, formatting at a granularity, harvest windows."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Literal

__all__ = [
    "Granularity",
    "ParsedDate",
    "add_months",
    "format_datestamp",
    "month_windows",
    "normalise_granularity",
    "parse_datestamp",
]

Granularity = Literal["day", "seconds"]

_ISO_RE = re.compile(
    r"(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:[Tt ](?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d+))?)?"
    r"\s*(?P<tz>[Zz]|[+-]\d{2}:?\d{2})?)?)?)?"
)
_COMPACT_RE = re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})")
_STRICT_DAY_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_STRICT_SECONDS_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


@dataclass(frozen=True, slots=True)
class ParsedDate:
    """A datestamp read tolerantly.

    Attributes:
        value: the instant, timezone-aware in UTC.
        granularity: ``day`` when the text had no time of day, else ``seconds``.
        valid: the text was exactly ``YYYY-MM-DD`` or ``YYYY-MM-DDThh:mm:ssZ``.
        raw: the text as given (stripped).
    """

    value: datetime
    granularity: Granularity
    valid: bool
    raw: str


def _offset(text: str | None) -> timezone:
    """Turn ``Z`` / ``+hh:mm`` / ``-hhmm`` (or nothing) into a timezone."""
    if text is None or text in ("Z", "z"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return timezone(sign * delta)


def parse_datestamp(text: str | None) -> ParsedDate | None:
    """Parse an OAI datestamp, tolerating the forms servers actually send.

    Accepted: ``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD``, ``YYYYMMDD`` and
    ``YYYY-MM-DD[ Tt]hh:mm[:ss[.fff]][Zz|±hh:mm]``. Times without a zone are taken
    as UTC; offsets are converted to UTC.

    Args:
        text: the datestamp as sent, or ``None``.

    Returns:
        The parsed date, or ``None`` for empty or unreadable text.
    """
    if text is None:
        return None
    raw = text.strip()
    if not raw:
        return None
    match = _ISO_RE.fullmatch(raw) or _COMPACT_RE.fullmatch(raw)
    if match is None:
        return None
    parts = match.groupdict()
    hour = parts.get("H")
    try:
        value = datetime(
            int(parts["y"]),
            int(parts["m"] or 1),
            int(parts["d"] or 1),
            int(hour or 0),
            int(parts.get("M") or 0),
            int(parts.get("S") or 0),
            int((parts.get("f") or "0")[:6].ljust(6, "0")),
            tzinfo=_offset(parts.get("tz")),
        ).astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    valid = bool(_STRICT_DAY_RE.fullmatch(raw) or _STRICT_SECONDS_RE.fullmatch(raw))
    return ParsedDate(value, "seconds" if hour is not None else "day", valid, raw)


def normalise_granularity(text: str | None) -> Granularity:
    """Map an Identify ``granularity`` to ``day`` or ``seconds``.

    Matching is case-insensitive: anything mentioning ``hh`` means seconds; unknown or
    missing values fall back to day, which every repository must accept.
    """
    if text and "hh" in text.lower():
        return "seconds"
    return "day"


def _utc(dt: datetime) -> datetime:
    """Return ``dt`` in UTC (naive values are taken to be UTC already)."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def format_datestamp(dt: datetime, granularity: Granularity) -> str:
    """Format an instant as an OAI ``from``/``until`` value.

    Args:
        dt: the instant (naive values are taken as UTC).
        granularity: ``day`` gives ``YYYY-MM-DD``, ``seconds`` ``YYYY-MM-DDThh:mm:ssZ``.
    """
    value = _utc(dt)
    if granularity == "day":
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}Z"
    )


def add_months(dt: datetime, n: int) -> datetime:
    """Move ``dt`` by ``n`` calendar months, clamping the day to the month's length."""
    index = dt.year * 12 + (dt.month - 1) + n
    year, month = divmod(index, 12)
    month += 1
    day = min(dt.day, calendar.monthrange(year, month)[1])
    return dt.replace(year=year, month=month, day=day)


def _truncate(dt: datetime, granularity: Granularity) -> datetime:
    """Drop what is finer than the granularity."""
    value = _utc(dt).replace(microsecond=0)
    if granularity == "day":
        value = value.replace(hour=0, minute=0, second=0)
    return value


def month_windows(
    start: datetime, end: datetime, months: int, granularity: Granularity
) -> list[tuple[str | None, str | None]]:
    """Split a harvest into inclusive ``(from, until)`` windows of ``months`` months.

    The windows partition all of time: the first has no ``from`` (it also catches
    anything older than ``start``), the last no ``until`` (it catches anything newer
    than ``end``), and each ``until`` is one granularity unit before the next
    ``from``, so no datestamp falls into two windows or none.

    Args:
        start: where the first boundary grid starts (typically earliestDatestamp).
        end: the end of the range (typically now).
        months: the window length in months (at least 1).
        granularity: the repository's datestamp granularity.

    Returns:
        The windows in chronological order; ``[(None, None)]`` when ``start >= end``.
    """
    if months < 1:
        raise ValueError("months must be at least 1")
    first = _truncate(start, granularity)
    last = _utc(end)
    if first >= last:
        return [(None, None)]
    unit = timedelta(days=1) if granularity == "day" else timedelta(seconds=1)
    boundaries: list[datetime] = []
    step = 1
    while True:
        try:
            boundary = add_months(first, step * months)
        except ValueError:  # beyond year 9999
            break
        if boundary >= last:
            break
        boundaries.append(boundary)
        step += 1
    windows: list[tuple[str | None, str | None]] = []
    lower: str | None = None
    for boundary in boundaries:
        windows.append((lower, format_datestamp(boundary - unit, granularity)))
        lower = format_datestamp(boundary, granularity)
    windows.append((lower, None))
    return windows
