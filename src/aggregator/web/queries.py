"""The portal's record reads from the store (record pages, copies, recent records, totals)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, Select, func, select
from sqlalchemy.orm import InstrumentedAttribute

from aggregator.normalize import Fields
from aggregator.normalize.stored import fields_of
from aggregator.store.db import connect, reader
from aggregator.store.models import Member, Record, Source
from aggregator.web.directory import http_url

logger = logging.getLogger(__name__)

MAX_RECORD_ID = 2**62
MAX_COPIES = 200
"""At most this many copies are listed per record (a runaway cluster stays cheap)."""
MAX_RECENT = 100
RECENT_POOL = 500
"""How many of the newest records the home page's list is spread across members from."""
_CHUNK = 500  # ids per IN (...) list, well under SQLite's bound-parameter limit


@dataclass(frozen=True, slots=True)
class Copy:
    """One member's copy of a work (a live record of the same cluster)."""

    record_id: int
    member_slug: str
    member_name: str
    title: str | None
    link: str | None


@dataclass(frozen=True, slots=True)
class RecordPage:
    """Everything the record page shows; ``deleted`` records are shown as withdrawn."""

    record_id: int
    identifier: str
    datestamp: str | None
    deleted: bool
    metadata_prefix: str
    metadata_xml: bytes | None
    member_slug: str
    member_name: str
    member_homepage: str | None
    source_base_url: str
    cluster_id: int | None
    first_seen: datetime
    last_changed: datetime
    fields: Fields
    copies: tuple[Copy, ...]


@dataclass(frozen=True, slots=True)
class RecentRecord:
    """A newly harvested live record for the front page."""

    record_id: int
    title: str | None
    creators: tuple[str, ...]
    year: int | None
    member_slug: str
    member_name: str
    first_seen: datetime


@dataclass(frozen=True, slots=True)
class Totals:
    """The network's size: active members, live records, active sources."""

    members: int
    records: int
    sources: int


def record_page(engine: Engine, record_id: int) -> RecordPage | None:
    """One record with its fields and copies, or ``None`` for an unknown or bad id."""
    pages = record_pages(engine, [record_id])
    return pages[0] if pages else None


def record_pages(engine: Engine, record_ids: Sequence[int]) -> list[RecordPage]:
    """Several records in the order given (repeats and unknown ids left out).

    Two statements per 500 ids: the records, then the live records of their clusters.
    """
    wanted = list(dict.fromkeys(i for i in record_ids if isinstance(i, int)
                                and not isinstance(i, bool) and 0 < i <= MAX_RECORD_ID))
    if not wanted:
        return []
    found: dict[int, RecordPage] = {}
    with connect(reader(engine)) as conn:
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start:start + _CHUNK]
            rows = conn.execute(_record_stmt().where(Record.id.in_(chunk))).all()
            copies = _copies(conn, {r.cluster_id for r in rows if r.cluster_id is not None})
            for row in rows:
                same = copies.get(row.cluster_id, []) if row.cluster_id is not None else []
                others = tuple(c for c in same if c.record_id != row.id)[:MAX_COPIES]
                found[row.id] = _page(row, others)
    return [found[i] for i in wanted if i in found]


def recent_records(engine: Engine, limit: int = 10,
                   per_member: int | None = None) -> list[RecentRecord]:
    """The newest live records, newest first, at most 100.

    Ids are handed out as records are first stored, so the highest ids are the newest
    ``first_seen``: ordering by the primary key reads few rows instead of sorting the
    whole table. With ``per_member``, no member shows more than that many while the
    newest ``RECENT_POOL`` records hold others (one member's big first harvest would
    otherwise fill the list); the rest of the list is then filled newest first.
    """
    limit = max(0, min(int(limit), MAX_RECENT))
    if not limit:
        return []
    with connect(reader(engine)) as conn:
        if per_member is None:
            ids = list(conn.scalars(select(Record.id).where(~Record.deleted)
                                    .order_by(Record.id.desc()).limit(limit)))
        else:
            pool = conn.execute(_with_member(Record.id).where(~Record.deleted)
                                .order_by(Record.id.desc()).limit(RECENT_POOL)).all()
            ids = _spread([(row.id, row.slug) for row in pool], limit, per_member)
        rows = conn.execute(_with_member(Record.id, Record.first_seen, *_content())
                            .where(Record.id.in_(ids))).all() if ids else []
    ranked = sorted(rows, key=lambda row: ids.index(row.id))
    return [RecentRecord(record_id=row.id, title=fields.title, creators=fields.creators,
                         year=fields.year, member_slug=row.slug, member_name=row.name,
                         first_seen=_aware(row.first_seen))
            for row, fields in ((row, _fields(row)) for row in ranked)]


def _spread(newest: list[tuple[int, str]], limit: int, per_member: int) -> list[int]:
    """``limit`` ids of ``newest`` (id, member), at most ``per_member`` of one member
    first, then the others newest first; the result in the order of ``newest``."""
    taken: set[int] = set()
    shown: dict[str, int] = {}
    for record_id, slug in newest:
        if len(taken) < limit and shown.get(slug, 0) < max(per_member, 0):
            taken.add(record_id)
            shown[slug] = shown.get(slug, 0) + 1
    for record_id, _ in newest:
        if len(taken) >= limit:
            break
        taken.add(record_id)
    return [record_id for record_id, _ in newest if record_id in taken]


def totals(engine: Engine) -> Totals:
    """Active members, live records and active sources (of active members)."""
    members = select(func.count()).select_from(Member).where(Member.status == "active")
    records = select(func.count()).select_from(Record).where(~Record.deleted)
    sources = (select(func.count()).select_from(Source)
               .join(Member, Member.id == Source.member_id)
               .where(Source.status == "active", Member.status == "active"))
    with connect(reader(engine)) as conn:
        row = conn.execute(select(members.scalar_subquery(), records.scalar_subquery(),
                                  sources.scalar_subquery())).one()
    return Totals(members=int(row[0]), records=int(row[1]), sources=int(row[2]))


# -- helpers ---------------------------------------------------------------------------

def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _content() -> Iterator[InstrumentedAttribute[Any]]:
    """The columns :func:`_fields` reads."""
    yield Record.metadata_prefix
    yield Record.metadata_xml
    yield Record.fields


def _fields(row: Row[Any]) -> Fields:
    """A record's fields: the stored JSON, else (rows from before it was stored, or
    unreadable) the XML mapped again."""
    return fields_of(row.fields, row.metadata_xml, row.metadata_prefix)


def _with_member(*columns: Any) -> Select[*tuple[Any, ...]]:
    """Select ``columns`` of records joined to their member's slug and name."""
    return (select(*columns, Member.slug, Member.name)
            .join(Source, Source.id == Record.source_id)
            .join(Member, Member.id == Source.member_id))


def _record_stmt() -> Select[*tuple[Any, ...]]:
    return _with_member(Record.id, Record.identifier, Record.datestamp, Record.deleted,
                        Record.cluster_id, Record.first_seen, Record.last_changed,
                        Source.base_url, Member.homepage, *_content())


def _copies(conn: Connection, clusters: set[int]) -> dict[int, list[Copy]]:
    """The live records of these clusters, the first ``MAX_COPIES + 1`` of each by name."""
    if not clusters:
        return {}
    rank = func.row_number().over(partition_by=Record.cluster_id,
                                  order_by=(func.lower(Member.name), Record.id))
    ranked = (_with_member(Record.id, Record.cluster_id, *_content(), rank.label("rank"))
              .where(Record.cluster_id.in_(sorted(clusters)), ~Record.deleted).subquery())
    rows = conn.execute(select(ranked).where(ranked.c.rank <= MAX_COPIES + 1)).all()
    out: dict[int, list[Copy]] = {}
    for row in rows:
        fields = _fields(row)
        out.setdefault(row.cluster_id, []).append(Copy(
            record_id=row.id, member_slug=row.slug, member_name=row.name,
            title=fields.title, link=fields.link))
    for copies in out.values():  # the same order on SQLite and PostgreSQL, whatever collation
        copies.sort(key=lambda c: (c.member_name.casefold(), c.record_id))
    return out


def _page(row: Row[Any], copies: tuple[Copy, ...]) -> RecordPage:
    return RecordPage(
        record_id=row.id, identifier=row.identifier, datestamp=row.datestamp,
        deleted=bool(row.deleted), metadata_prefix=row.metadata_prefix,
        metadata_xml=row.metadata_xml, member_slug=row.slug, member_name=row.name,
        member_homepage=http_url(row.homepage), source_base_url=row.base_url,
        cluster_id=row.cluster_id, first_seen=_aware(row.first_seen),
        last_changed=_aware(row.last_changed), fields=_fields(row), copies=copies)
