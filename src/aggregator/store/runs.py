"""Harvest runs, the per-source harvest state (Identify, cursor, flags) and source leases."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, cast

from sqlalchemy import Engine, Table, and_, insert, null, or_, select, update

from aggregator.errors import UserInputError
from aggregator.records import Notice
from aggregator.store.db import connect, reader
from aggregator.store.models import HarvestRun, Member, Source, utcnow

_RUN = cast(Table, HarvestRun.__table__)
_SOURCE = cast(Table, Source.__table__)
_MEMBER = cast(Table, Member.__table__)
MAX_NOTICES = 200
_MORE = "more-notices"


class _Unset(Enum):
    UNSET = "unset"


UNSET = _Unset.UNSET
"""Marks an argument that was not given (so ``None`` can mean "clear it")."""


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One harvest run as stored."""

    id: int
    source_id: int
    mode: str
    status: str
    new: int
    updated: int
    deleted: int
    unchanged: int
    pages: int
    bytes: int
    warnings: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    response_date: str | None
    complete_list_size: int | None
    started_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class SourceState:
    """What a harvester needs to know about a source before it starts."""

    id: int
    member_slug: str
    base_url: str
    metadata_prefix: str
    set_spec: str
    granularity: str | None
    earliest_datestamp: str | None
    deleted_record: str | None
    use_day_granularity: bool
    date_filter: bool
    cursor_from: str | None
    checkpoint: dict[str, Any] | None
    not_before: datetime | None
    every_seconds: int
    status: str
    sets_checked_at: datetime | None = None


def as_utc(value: datetime | None) -> datetime | None:
    """Return ``value`` as an aware UTC datetime (SQLite hands back naive UTC values)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def merge_notices(current: Sequence[dict[str, Any]], notices: Sequence[Notice],
                  cap: int = MAX_NOTICES) -> list[dict[str, Any]]:
    """Append notices to a stored list, keeping at most ``cap`` and counting the rest.

    Notices past the cap are counted in one trailing ``more-notices`` entry.
    """
    kept = [n for n in current if n.get("code") != _MORE]
    dropped = sum(int(n.get("count", 0)) for n in current if n.get("code") == _MORE)
    for notice in notices:
        if len(kept) < cap:
            kept.append(notice.as_dict())
        else:
            dropped += 1
    if dropped:
        kept.append({"code": _MORE, "message": f"{dropped} more notices were not kept",
                     "count": dropped})
    return kept


def start_run(engine: Engine, source_id: int, mode: str, owner: str,
              resumed_from: int | None = None) -> int:
    """Record the start of a run and return its id."""
    with connect(engine) as conn:
        result = conn.execute(insert(_RUN).values(
            source_id=source_id, mode=mode, status="running", owner=owner,
            resumed_from=resumed_from, started_at=utcnow(), warnings=[], errors=[]))
        key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def finish_run(engine: Engine, run_id: int, status: str, errors: Sequence[Notice] = (),
               warnings: Sequence[Notice] = (), request_from: str | None = None) -> None:
    """Close a run with its final status, appending the last errors and warnings, and
    the ``from`` its first list request sent (``None``: none, or a resumed list)."""
    with connect(engine) as conn:
        row = conn.execute(select(_RUN.c.warnings, _RUN.c.errors)
                           .where(_RUN.c.id == run_id)).first()
        if row is None:
            raise UserInputError(f"unknown harvest run {run_id}")
        conn.execute(update(_RUN).where(_RUN.c.id == run_id).values(
            status=status, finished_at=utcnow(), request_from=request_from,
            warnings=merge_notices(row.warnings or [], warnings),
            errors=merge_notices(row.errors or [], errors)))


def run_summary(engine: Engine, run_id: int) -> RunSummary:
    """Read one run.

    Raises:
        UserInputError: there is no run with that id.
    """
    with connect(reader(engine)) as conn:
        row = conn.execute(select(_RUN).where(_RUN.c.id == run_id)).first()
    if row is None:
        raise UserInputError(f"unknown harvest run {run_id}")
    started = as_utc(row.started_at)
    assert started is not None
    return RunSummary(
        id=row.id, source_id=row.source_id, mode=row.mode, status=row.status, new=row.new,
        updated=row.updated, deleted=row.deleted, unchanged=row.unchanged, pages=row.pages,
        bytes=row.bytes, warnings=list(row.warnings or []), errors=list(row.errors or []),
        response_date=row.response_date, complete_list_size=row.complete_list_size,
        started_at=started, finished_at=as_utc(row.finished_at))


def interrupted_run(engine: Engine, source_id: int) -> int | None:
    """Find the latest run still marked running whose owner is gone, and mark it interrupted.

    An owner is gone when it no longer holds the source's lease (expired or taken), or
    when it ran on this host and its process no longer exists.

    Returns:
        The interrupted run's id (its checkpoint may be resumed), or ``None``.
    """
    running = select(_RUN.c.id).where(_RUN.c.source_id == source_id,
                                      _RUN.c.status == "running").limit(1)
    with connect(reader(engine)) as conn:  # mostly none: no need to wait for writers
        if conn.execute(running).first() is None:
            return None
    with connect(engine) as conn:
        run = conn.execute(select(_RUN.c.id, _RUN.c.owner)
                           .where(_RUN.c.source_id == source_id, _RUN.c.status == "running")
                           .order_by(_RUN.c.id.desc()).limit(1)).first()
        if run is None:
            return None
        lease = conn.execute(select(_SOURCE.c.lease_owner, _SOURCE.c.lease_until)
                             .where(_SOURCE.c.id == source_id)).first()
        until = as_utc(lease.lease_until) if lease is not None else None
        holds = (lease is not None and run.owner is not None and lease.lease_owner == run.owner
                 and until is not None and until >= utcnow())
        if holds and not owner_is_dead(run.owner):
            return None
        conn.execute(update(_RUN).where(_RUN.c.id == run.id)
                     .values(status="interrupted", finished_at=utcnow()))
        return int(run.id)


def save_identify(engine: Engine, source_id: int, *, repository_name: str | None,
                  granularity: str | None, earliest_datestamp: str | None,
                  deleted_record: str | None, identify: dict[str, Any]) -> None:
    """Store the snapshot of the source's ``Identify`` answer."""
    _update_source(engine, source_id, repository_name=repository_name,
                   granularity=granularity, earliest_datestamp=earliest_datestamp,
                   deleted_record=deleted_record, identify=identify)


def set_flags(engine: Engine, source_id: int, *, use_day_granularity: bool | None = None,
              date_filter: bool | None = None,
              not_before: datetime | None | _Unset = UNSET) -> None:
    """Change what the harvester learned about a source; ``None``/unset leaves a flag alone.

    ``not_before=None`` clears the pause; leaving it out keeps it.
    """
    values: dict[str, Any] = {}
    if use_day_granularity is not None:
        values["use_day_granularity"] = use_day_granularity
    if date_filter is not None:
        values["date_filter"] = date_filter
    if not_before is not UNSET:
        values["not_before"] = not_before
    if values:
        _update_source(engine, source_id, **values)


def complete_source(engine: Engine, source_id: int, cursor_from: str | None) -> None:
    """Mark a successful harvest: advance the cursor, clear the checkpoint, schedule the next."""
    now = utcnow()
    with connect(engine) as conn:
        every = conn.scalar(select(_SOURCE.c.every_seconds).where(_SOURCE.c.id == source_id))
        if every is None:
            raise UserInputError(f"unknown source {source_id}")
        values: dict[str, Any] = {"last_success_at": now, "checkpoint": null(),
                                  "next_run_at": now + timedelta(seconds=int(every))}
        if cursor_from is not None:
            values["cursor_from"] = cursor_from
        conn.execute(update(_SOURCE).where(_SOURCE.c.id == source_id).values(**values))


def get_source_state(engine: Engine, source_id: int) -> SourceState:
    """Read everything a harvester needs about one source.

    Raises:
        UserInputError: there is no source with that id.
    """
    src = _SOURCE.c
    stmt = (select(src.id, _MEMBER.c.slug, src.base_url, src.metadata_prefix, src.set_spec,
                   src.granularity, src.earliest_datestamp, src.deleted_record,
                   src.use_day_granularity, src.date_filter, src.cursor_from, src.checkpoint,
                   src.not_before, src.every_seconds, src.status, src.sets_checked_at)
            .join_from(_SOURCE, _MEMBER, src.member_id == _MEMBER.c.id)
            .where(src.id == source_id))
    with connect(reader(engine)) as conn:
        row = conn.execute(stmt).first()
    if row is None:
        raise UserInputError(f"unknown source {source_id}")
    data = row._asdict()
    data["member_slug"] = data.pop("slug")
    data["not_before"] = as_utc(row.not_before)
    data["sets_checked_at"] = as_utc(row.sets_checked_at)
    return SourceState(**data)


def _update_source(engine: Engine, source_id: int, **values: Any) -> None:
    with connect(engine) as conn:
        result = conn.execute(update(_SOURCE).where(_SOURCE.c.id == source_id).values(**values))
        if result.rowcount != 1:
            raise UserInputError(f"unknown source {source_id}")


def lease_owner_id() -> str:
    """A lease owner naming this host and process, unique per call."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_is_dead(owner: str) -> bool:
    """Whether an owner made by :func:`lease_owner_id` ran on this host and its process is gone.

    Owners from other hosts, or in another shape, are never declared dead here.
    """
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # it exists, under another user
        return False
    return False


def acquire_lease(engine: Engine, source_id: int, owner: str, ttl_seconds: float) -> bool:
    """Take the source's lease when it is free, expired, already ours, or held by a dead process.

    Returns:
        Whether ``owner`` now holds the lease.
    """
    now = utcnow()
    until = now + timedelta(seconds=ttl_seconds)
    src = _SOURCE.c
    with connect(engine) as conn:
        taken = conn.execute(
            update(_SOURCE)
            .where(src.id == source_id,
                   or_(src.lease_until.is_(None), src.lease_until < now, src.lease_owner == owner))
            .values(lease_owner=owner, lease_until=until)).rowcount
        if taken == 1:
            return True
        holder = conn.scalar(select(src.lease_owner).where(src.id == source_id))
        if holder is None or not owner_is_dead(holder):
            return False
        stolen = conn.execute(
            update(_SOURCE).where(and_(src.id == source_id, src.lease_owner == holder))
            .values(lease_owner=owner, lease_until=until)).rowcount
        return bool(stolen == 1)


def renew_lease(engine: Engine, source_id: int, owner: str, ttl_seconds: float) -> bool:
    """Extend a lease ``owner`` still holds; ``False`` means it was lost."""
    with connect(engine) as conn:
        result = conn.execute(
            update(_SOURCE).where(_SOURCE.c.id == source_id, _SOURCE.c.lease_owner == owner)
            .values(lease_until=utcnow() + timedelta(seconds=ttl_seconds)))
        return bool(result.rowcount == 1)


def release_lease(engine: Engine, source_id: int, owner: str) -> None:
    """Give the lease back (nothing happens when ``owner`` no longer holds it)."""
    with connect(engine) as conn:
        conn.execute(update(_SOURCE)
                     .where(_SOURCE.c.id == source_id, _SOURCE.c.lease_owner == owner)
                     .values(lease_owner=None, lease_until=None))
