"""What a run asks for: the source's spec, the date windows and the resumable checkpoint."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from aggregator.harvest.dates import (
    format_datestamp,
    month_windows,
    normalise_granularity,
    parse_datestamp,
)

Granularity = Literal["day", "seconds"]
Window = tuple[str | None, str | None]

# earliestDatestamp values before this are placeholders (0001-01-01, 1970-01-01 ...)
EARLIEST_PLAUSIBLE = datetime(1990, 1, 1, tzinfo=UTC)
CHECKPOINT_VERSION = 1


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """Everything the harvester needs to know about one source (no store types)."""

    base_url: str
    metadata_prefix: str = "oai_dc"
    set_spec: str = ""
    granularity: str | None = None  # as the store remembers Identify's answer
    earliest_datestamp: str | None = None
    use_day_granularity: bool = False
    date_filter: bool = True
    cursor_from: str | None = None


@dataclass(slots=True)
class Checkpoint:
    """Where a run stands, saved with every page so a killed run can resume.

    Windows are kept at seconds precision (``None`` = open end) and formatted at the
    granularity in force when requested. ``windows[0]`` is the window in progress.
    """

    mode: str
    run_start: str | None
    windows: list[list[str | None]]
    token: str | None = None
    token_expires: str | None = None
    received: int = 0
    pass_id: int | None = None
    granularity: str = "seconds"
    date_filter: bool = True
    complete_list_size: int | None = None
    restarts: int = 0
    version: int = CHECKPOINT_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict (a snapshot: later changes do not show in it)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["windows"] = [list(w) for w in self.windows]
        data["extra"] = dict(self.extra)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Checkpoint | None:
        """Rebuild a checkpoint; ``None`` for a missing or unreadable one (start afresh)."""
        if not data or data.get("version") != CHECKPOINT_VERSION:
            return None
        try:
            return cls(**data)
        except TypeError:
            return None

    @property
    def current_window(self) -> Window | None:
        """The window in progress, or ``None`` when every window is done."""
        if not self.windows:
            return None
        start, end = self.windows[0]
        return start, end

    def next_window(self) -> None:
        """Move on to the next window, forgetting the token."""
        if self.windows:
            self.windows.pop(0)
        self.token = None
        self.token_expires = None
        self.received = 0
        self.restarts = 0

    def restart_window(self) -> None:
        """Begin the current window again (after a token went bad)."""
        self.token = None
        self.token_expires = None
        self.received = 0
        self.restarts += 1


def effective_granularity(spec: SourceSpec) -> Granularity:
    """The granularity to send: Identify's, unless the server proved it only takes days."""
    if spec.use_day_granularity:
        return "day"
    return normalise_granularity(spec.granularity)


def incremental_from(cursor: str, granularity: Granularity, overlap_seconds: int) -> str | None:
    """The ``from`` of an incremental run: the cursor minus one unit or the overlap.

    Returns ``None`` when the cursor cannot be read (the caller harvests everything).
    """
    parsed = parse_datestamp(cursor)
    if parsed is None:
        return None
    delta = timedelta(days=1) if granularity == "day" else timedelta(seconds=overlap_seconds)
    return format_datestamp(parsed.value - delta, "seconds")


def plan_windows(earliest: str | None, run_start: str | None, months: int) -> list[Window]:
    """Split a first harvest into windows of ``months`` from the earliest datestamp.

    The first window has no ``from`` (so records dated before a bogus
    earliestDatestamp are still harvested) and the last has no ``until``.
    """
    now = _parse_or_now(run_start)
    parsed = parse_datestamp(earliest)
    start = parsed.value if parsed is not None else EARLIEST_PLAUSIBLE
    start = min(max(start, EARLIEST_PLAUSIBLE), now)
    start = start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)  # calendar months
    if months <= 0 or start >= now:
        return [(None, None)]
    return month_windows(start, now, months, "seconds")


def format_bound(value: str | None, granularity: Granularity) -> str | None:
    """Format a stored window bound for a request at ``granularity``."""
    if value is None:
        return None
    parsed = parse_datestamp(value)
    if parsed is None:
        return None
    return format_datestamp(parsed.value, granularity)


def token_expired(expires: str | None, now: datetime | None = None) -> bool:
    """Whether a token's ``expirationDate`` lies in the past."""
    parsed = parse_datestamp(expires)
    if parsed is None:
        return False
    return parsed.value <= (now or datetime.now(UTC))


def _parse_or_now(value: str | None) -> datetime:
    parsed = parse_datestamp(value)
    return parsed.value if parsed is not None else datetime.now(UTC)
