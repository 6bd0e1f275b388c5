"""One source as its manager sees and steers it: its schedule, its runs with their
notices, its records over time; asking the scheduler for a run, pausing, editing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import extract, func, null, select, update
from sqlalchemy.orm import Session

from aggregator.errors import UserInputError
from aggregator.schedule import format_interval
from aggregator.store.catalog import check_source_fields
from aggregator.store.models import HarvestRun, Member, Record, Source, utcnow
from aggregator.store.runs import as_utc

__all__ = ["NoticeView", "RunView", "SourceDetail", "SourceEdit", "check_edit", "count_runs",
           "edit_source", "get_source",
           "harvest_now", "member_sources", "records_by_month", "recent_runs",
           "set_paused"]

RUNS_SHOWN = 50
MONTHS_SHOWN = 24


@dataclass(frozen=True, slots=True)
class SourceDetail:
    """A source with its member, schedule and lease, as its page shows it."""

    id: int
    member_id: int
    member_slug: str
    member_name: str
    base_url: str
    metadata_prefix: str
    set_spec: str
    every: str
    status: str
    repository_name: str | None
    next_run_at: datetime | None
    not_before: datetime | None
    lease_owner: str | None  # only while the lease is live
    lease_until: datetime | None
    failures: int
    last_status: str | None
    last_error: str | None
    last_success_at: datetime | None
    records: int
    last_run_status: str | None  # of the latest run, whoever ran it


@dataclass(frozen=True, slots=True)
class NoticeView:
    """One warning or error of a run: its message, and the bad bytes and the request
    URL it carries when it has them."""

    code: str
    message: str
    sample: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class RunView:
    """One harvest run as the source page lists it."""

    id: int
    mode: str
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    seconds: float | None
    new: int
    updated: int
    deleted: int
    unchanged: int
    warnings: tuple[NoticeView, ...]
    errors: tuple[NoticeView, ...]


@dataclass(frozen=True, slots=True)
class SourceEdit:
    """A validated change of a source's prefix, set and interval (see :func:`check_edit`)."""

    metadata_prefix: str
    set_spec: str
    every_seconds: int


def _lease_live(until: datetime | None, now: datetime) -> bool:
    return until is not None and until >= now


def get_source(session: Session, source_id: int) -> SourceDetail | None:
    """The source with this id and its member, or None (removed sources too)."""
    live = (select(func.count()).where(Record.source_id == source_id, ~Record.deleted)
            .scalar_subquery())
    latest = (select(HarvestRun.status).where(HarvestRun.source_id == source_id)
              .order_by(HarvestRun.id.desc()).limit(1).scalar_subquery())
    row = session.execute(
        select(Source, Member.slug, Member.name, live, latest)
        .join(Member, Member.id == Source.member_id)
        .where(Source.id == source_id, Source.status != "removed")).first()
    if row is None:
        return None
    src, slug, name, records, last_run = row
    now = utcnow()
    until = as_utc(src.lease_until)
    held = src.lease_owner is not None and _lease_live(until, now)
    return SourceDetail(
        id=src.id, member_id=src.member_id, member_slug=slug, member_name=name,
        base_url=src.base_url, metadata_prefix=src.metadata_prefix, set_spec=src.set_spec,
        every=format_interval(timedelta(seconds=src.every_seconds)), status=src.status,
        repository_name=src.repository_name, next_run_at=as_utc(src.next_run_at),
        not_before=as_utc(src.not_before), lease_owner=src.lease_owner if held else None,
        lease_until=until if held else None, failures=int(src.failures or 0),
        last_status=src.last_status, last_error=src.last_error,
        last_success_at=as_utc(src.last_success_at), records=int(records or 0),
        last_run_status=last_run)


def _notices(stored: Any) -> tuple[NoticeView, ...]:
    found = []
    for item in stored if isinstance(stored, list) else []:
        if not isinstance(item, dict):
            continue
        url = item.get("url") or item.get("request_url")
        found.append(NoticeView(str(item.get("code", "")), str(item.get("message", "")),
                                str(item["sample"]) if item.get("sample") else None,
                                str(url) if url else None))
    return tuple(found)


def recent_runs(session: Session, source_id: int, limit: int = RUNS_SHOWN,
                offset: int = 0) -> list[RunView]:
    """The source's runs, latest first: ``limit`` of them after skipping ``offset``."""
    rows = session.scalars(select(HarvestRun).where(HarvestRun.source_id == source_id)
                           .order_by(HarvestRun.id.desc()).limit(limit).offset(offset))
    runs = []
    for run in rows:
        started, finished = as_utc(run.started_at), as_utc(run.finished_at)
        seconds = ((finished - started).total_seconds()
                   if started is not None and finished is not None else None)
        runs.append(RunView(
            id=run.id, mode=run.mode, status=run.status, started_at=started,
            finished_at=finished, seconds=seconds, new=run.new, updated=run.updated,
            deleted=run.deleted, unchanged=run.unchanged, warnings=_notices(run.warnings),
            errors=_notices(run.errors)))
    return runs


def count_runs(session: Session, source_id: int) -> int:
    """How many runs the source has had."""
    return int(session.scalar(select(func.count()).select_from(HarvestRun)
                              .where(HarvestRun.source_id == source_id)) or 0)


def records_by_month(session: Session, source_id: int,
                     months: int = MONTHS_SHOWN) -> list[tuple[str, int]]:
    """Live records of the source by the month they were first harvested (``YYYY-MM``,
    UTC), months without any included, the latest ``months`` months that have some."""
    year = extract("year", Record.first_seen)
    month = extract("month", Record.first_seen)
    rows = session.execute(
        select(year, month, func.count()).where(Record.source_id == source_id, ~Record.deleted)
        .group_by(year, month).order_by(year, month)).all()
    counts = {(int(y), int(m)): int(n) for y, m, n in rows}
    if not counts:
        return []
    first, last = min(counts), max(counts)
    out = []
    y, m = first
    while (y, m) <= last:
        out.append((f"{y:04d}-{m:02d}", counts.get((y, m), 0)))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out[-months:]


def member_sources(session: Session, member_id: int) -> list[SourceDetail]:
    """The member's sources that are not removed, by id."""
    ids = session.scalars(select(Source.id).where(Source.member_id == member_id,
                                                  Source.status != "removed")
                          .order_by(Source.id))
    return [found for source_id in list(ids)
            if (found := get_source(session, source_id)) is not None]


def _source(session: Session, source_id: int) -> Source:
    source = session.get(Source, source_id)
    if source is None or source.status == "removed":
        raise UserInputError(f"unknown source {source_id}")
    return source


def harvest_now(session: Session, source_id: int) -> None:
    """Make the source due now, its failure backoff forgotten, so that the next look of
    any scheduler claims it. Nothing is harvested here. The caller commits.

    Raises:
        UserInputError: unknown or removed source, or a paused one (resume it first).
    """
    source = _source(session, source_id)
    if source.status != "active":
        raise UserInputError(f"source {source_id} is {source.status}: resume it first")
    session.execute(update(Source).where(Source.id == source_id)
                    .values(next_run_at=utcnow(), not_before=None))


def set_paused(session: Session, source_id: int, paused: bool) -> bool:
    """Pause a source (schedulers no longer claim it; a run in progress ends as usual)
    or make it active again. The caller commits.

    Returns:
        Whether the status changed.

    Raises:
        UserInputError: unknown or removed source.
    """
    source = _source(session, source_id)
    wanted = "paused" if paused else "active"
    if source.status == wanted:
        return False
    session.execute(update(Source).where(Source.id == source_id).values(status=wanted))
    return True


def check_edit(session: Session, source_id: int, metadata_prefix: str, set_spec: str,
               every: str) -> SourceEdit:
    """Validate a change of the source's prefix, set and interval, as
    :func:`aggregator.store.catalog.add_source` validates a new source.

    Raises:
        UserInputError: unknown source, a bad value, another source with this endpoint,
            or a new prefix or set while a run holds the source.
    """
    source = _source(session, source_id)
    metadata_prefix = metadata_prefix.strip()
    set_spec, every_seconds = check_source_fields(metadata_prefix, set_spec, every)
    moved = (metadata_prefix, set_spec) != (source.metadata_prefix, source.set_spec)
    if moved:
        other = session.scalar(select(Source.id).where(
            Source.base_url == source.base_url, Source.metadata_prefix == metadata_prefix,
            Source.set_spec == set_spec, Source.id != source_id))
        if other is not None:
            raise UserInputError(f"this endpoint with this prefix and set is source {other}")
        if source.lease_owner is not None and _lease_live(as_utc(source.lease_until),
                                                          utcnow()):
            raise UserInputError("a harvest of this source is running: change its prefix "
                                 "or set when it has finished")
    return SourceEdit(metadata_prefix, set_spec, every_seconds)


def edit_source(session: Session, source_id: int, change: SourceEdit) -> None:
    """Save a change made by :func:`check_edit`. A new prefix or set starts the source's
    harvests again from the beginning (cursor and checkpoint cleared). The caller
    commits."""
    source = _source(session, source_id)
    values: dict[str, Any] = {"every_seconds": change.every_seconds}
    if (change.metadata_prefix, change.set_spec) != (source.metadata_prefix,
                                                     source.set_spec):
        values.update(metadata_prefix=change.metadata_prefix, set_spec=change.set_spec,
                      cursor_from=None, checkpoint=null(), set_names=null(),
                      sets_checked_at=None)
    session.execute(update(Source).where(Source.id == source_id).values(**values))
