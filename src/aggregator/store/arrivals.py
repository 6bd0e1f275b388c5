"""New acquisitions read from the store: the works (duplicate clusters) whose first
harvest falls in a period, for the whole network or for one member."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Select, Text, and_, exists, func, or_, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import aliased

from aggregator.cluster.assign import xml_if_no_fields
from aggregator.normalize.stored import fields_of
from aggregator.normalize.vocab import TYPES
from aggregator.store.db import connect, reader
from aggregator.store.models import Member, Record, Source
from aggregator.store.runs import as_utc

PERIODS = {"week": 7, "month": 30}
"""A period's length in days, counted back from now (UTC)."""
CLASS_PREFIX = re.compile(r"^(?:(ddc|udc|lcc):)?([0-9A-Za-z][0-9A-Za-z./ -]{0,29})$")
_CHUNK = 500  # ids per IN (...) list, well under SQLite's bound-parameter limit
_SCAN = 2_000  # arrivals read per round while a classification filter picks among them


@dataclass(frozen=True, slots=True)
class Arrival:
    """A work new to the network (or to a member) with what a list shows of it.

    ``record_id`` is the earliest live copy (of the member, for a member's list); the
    title and the rest are that copy's fields; ``members`` every member holding it now.
    """

    cluster_id: int
    record_id: int
    arrived: datetime
    title: str
    creators: tuple[str, ...]
    year: int | None
    type: str | None
    classification: tuple[str, ...]  # "ddc 372.21"
    abstract: str
    link: str | None
    members: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Filters:
    """The optional filters of a list: a controlled type, a classification prefix."""

    type: str | None = None
    scheme: str | None = None  # ddc, udc, lcc; None: any scheme
    class_prefix: str | None = None


def period_window(period: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    """``[since, until)`` of ``week`` (the last 7 days) or ``month`` (the last 30)."""
    until = (now or datetime.now(UTC)).astimezone(UTC)
    return until - timedelta(days=PERIODS[period]), until + timedelta(microseconds=1)


def month_window(month: str) -> tuple[datetime, datetime] | None:
    """``[since, until)`` of a calendar month written ``YYYY-MM``, or None."""
    found = re.fullmatch(r"(\d{4})-(\d{2})", month)
    if not found or not 1 <= int(found[2]) <= 12 or not 1970 <= int(found[1]) <= 2100:
        return None
    year, number = int(found[1]), int(found[2])
    since = datetime(year, number, 1, tzinfo=UTC)
    until = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return since, until


def previous_month(now: datetime | None = None) -> str:
    """The calendar month before ``now`` (UTC) as ``YYYY-MM``."""
    first = (now or datetime.now(UTC)).astimezone(UTC).replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def read_filters(type_: str | None, class_: str | None) -> Filters | str:
    """The filters of the query string's ``type`` and ``class``, or a message saying
    which value is wrong."""
    kind = None
    if type_:
        kind = next((t for t in TYPES if t.casefold() == type_.strip().casefold()), None)
        if kind is None:
            return f"unknown type {type_[:40]!r}: one of {', '.join(TYPES)}"
    scheme = prefix = None
    if class_:
        found = CLASS_PREFIX.match(class_.strip())
        if found is None:
            return (f"bad classification prefix {class_[:40]!r}: a class number's start such "
                    "as 37 or 372.2, optionally ddc:, udc: or lcc: first")
        scheme, prefix = found[1], found[2].casefold()
    return Filters(type=kind, scheme=scheme, class_prefix=prefix)


def member_sources(engine: Engine, slug: str) -> list[int] | None:
    """The source ids of a (not removed) member, or None for an unknown member."""
    with connect(reader(engine)) as conn:
        member = conn.scalar(select(Member.id).where(Member.slug == slug,
                                                     Member.status != "removed"))
        if member is None:
            return None
        return list(conn.scalars(select(Source.id).where(Source.member_id == member)))


def _earliest(since: datetime, until: datetime, sources: list[int] | None,
              kind: str | None, limit: int | None = None) -> Select[Any]:
    """(cluster_id, id, first_seen) of each work's earliest live copy (of ``sources``
    only, when given) when that copy was first harvested in ``[since, until)``, newest
    first. The range is read through ``ix_record_first_seen``; each candidate is then
    checked against its cluster's other copies through ``ix_record_cluster``.

    ``source_id + 0`` keeps the planners (SQLite's above all) from reading a member's
    every record through a source index instead: for each candidate, that cost seconds.
    """
    other = aliased(Record)
    earlier = [other.cluster_id == Record.cluster_id, ~other.deleted,
               or_(other.first_seen < Record.first_seen,
                   and_(other.first_seen == Record.first_seen, other.id < Record.id))]
    wanted = [Record.first_seen >= since, Record.first_seen < until, ~Record.deleted,
              Record.cluster_id.is_not(None)]
    if sources is not None:
        earlier.append((other.source_id + 0).in_(sources))
        wanted.append((Record.source_id + 0).in_(sources))
    if kind is not None:
        wanted.append(Record.work_type == kind)
    stmt = (select(Record.cluster_id, Record.id, Record.first_seen)
            .where(*wanted, ~exists().where(*earlier))
            .order_by(Record.first_seen.desc(), Record.id.desc()))
    return stmt.limit(limit) if limit is not None else stmt  # type: ignore[return-value]


def new_clusters(engine: Engine, since: datetime, until: datetime,
                 sources: list[int] | None = None) -> list[int]:
    """The ids of the works new to the network (or to ``sources``' member) in the period."""
    with connect(reader(engine)) as conn:
        found = _earliest(since, until, sources, None).order_by(None)  # a set: no sort
        return [row.cluster_id for row in conn.execute(found)]


def count_new(engine: Engine, since: datetime, until: datetime,
              sources: list[int] | None = None) -> int:
    """How many works are new to the network (or to ``sources``' member) in the period."""
    inner = _earliest(since, until, sources, None).order_by(None).subquery()
    with connect(reader(engine)) as conn:
        return int(conn.scalar(select(func.count()).select_from(inner)) or 0)


def arrivals(engine: Engine, since: datetime, until: datetime, *,
             sources: list[int] | None = None, filters: Filters = Filters(),
             limit: int | None = None) -> list[Arrival]:
    """The works new to the network (or to ``sources``' member) in ``[since, until)``,
    newest first, at most ``limit``, with their fields and holding members."""
    return list(_arrivals(engine, since, until, sources, filters, limit))


def _arrivals(engine: Engine, since: datetime, until: datetime, sources: list[int] | None,
              filters: Filters, limit: int | None) -> Iterator[Arrival]:
    found = 0
    with connect(reader(engine)) as conn:
        # Without a classification filter the first ``limit`` are the answer.
        cut = None if filters.class_prefix else limit
        picked = list(conn.execute(_earliest(since, until, sources, filters.type, cut)))
        step = _SCAN if filters.class_prefix else max(1, min(limit or _SCAN, _SCAN))
        for start in range(0, len(picked), step):
            for arrival in _described(conn, picked[start:start + step]):
                if filters.class_prefix and not _in_class(arrival, filters):
                    continue
                yield arrival
                found += 1
                if limit is not None and found >= limit:
                    return


def _in_class(arrival: Arrival, filters: Filters) -> bool:
    prefix = filters.class_prefix or ""
    for entry in arrival.classification:
        scheme, _, number = entry.partition(" ")
        if (filters.scheme is None or scheme == filters.scheme) and \
                number.casefold().startswith(prefix):
            return True
    return False


def _described(conn: Connection, picked: list[Any]) -> list[Arrival]:
    """The arrivals of rows (cluster_id, id, first_seen), in their order."""
    out: list[Arrival] = []
    for start in range(0, len(picked), _CHUNK):
        chunk = picked[start:start + _CHUNK]
        rows = {row.id: row for row in conn.execute(
            select(Record.id, sql_cast(Record.fields, Text).label("fields"),
                   xml_if_no_fields(), Record.metadata_prefix)
            .where(Record.id.in_([r.id for r in chunk])))}
        holders: dict[int | None, set[str]] = {}
        for cluster_id, slug in conn.execute(
                select(Record.cluster_id, Member.slug)
                .join(Source, Source.id == Record.source_id)
                .join(Member, Member.id == Source.member_id)
                .where(Record.cluster_id.in_([r.cluster_id for r in chunk]), ~Record.deleted)):
            holders.setdefault(cluster_id, set()).add(slug)
        for pick in chunk:
            arrived = as_utc(pick.first_seen)
            assert arrived is not None
            shown = _shown(rows[pick.id])
            out.append(Arrival(cluster_id=pick.cluster_id, record_id=pick.id, arrived=arrived,
                               members=tuple(sorted(holders.get(pick.cluster_id, ()))),
                               **shown))
    return out


def _shown(row: Any) -> dict[str, Any]:
    """What a list shows of a record: read straight from its stored fields (JSON text,
    a quarter of the cost of building :class:`Fields`), else through the normaliser."""
    try:
        data = orjson.loads(row.fields) if row.fields is not None else None
        if isinstance(data, dict):
            year = data.get("year")
            return {"title": str(data.get("title") or ""),
                    "creators": tuple(str(c) for c in data.get("creators") or ()),
                    "year": year if isinstance(year, int) else None,
                    "type": str(data["type"]) if data.get("type") else None,
                    "classification": tuple(f"{s} {n}"
                                            for s, n in data.get("classification") or ()),
                    "abstract": str(data.get("abstract") or ""),
                    "link": str(data["link"]) if data.get("link") else None}
    except (TypeError, ValueError):
        pass
    fields = fields_of(None, row.metadata_xml, row.metadata_prefix)
    return {"title": fields.title or "", "creators": fields.creators, "year": fields.year,
            "type": fields.type,
            "classification": tuple(f"{s} {n}" for s, n in fields.classification),
            "abstract": fields.abstract or "", "link": fields.link}
