"""What the OAI feed reads from the store: the change clock, records in change order,
the members and sources behind the sets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import orjson
from sqlalchemy import (
    Connection,
    Engine,
    String,
    Table,
    bindparam,
    false,
    func,
    null,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from aggregator.errors import StoreError
from aggregator.store.db import connect
from aggregator.store.models import ChangeCounter, Member, Record, Source, utcnow

__all__ = ["FeedMember", "FeedRow", "FeedSource", "Selection", "count", "earliest_change",
           "find", "load_members", "page", "sample_heads", "seq_from", "seq_until", "stamp"]

RECORD = cast(Table, Record.__table__)
_COUNTER = cast(Table, ChangeCounter.__table__)
HEAD_BYTES = 1024  # enough of a metadata record to read its root element's namespace
_NOW = bindparam("now", type_=_COUNTER.c.changed_at.type)
_STAMP = {
    "postgresql": (update(_COUNTER).where(_COUNTER.c.id == 1)
                   .values(changed_at=func.greatest(_COUNTER.c.changed_at,
                                                    func.clock_timestamp()))
                   .returning(_COUNTER.c.value, _COUNTER.c.changed_at)),
    "sqlite": (update(_COUNTER).where(_COUNTER.c.id == 1)
               .values(changed_at=func.max(func.coalesce(_COUNTER.c.changed_at, _NOW), _NOW))
               .returning(_COUNTER.c.value, _COUNTER.c.changed_at)),
}
# A member's own set, matched literally (never LIKE) on the record's set_specs array,
# with the hierarchy: "a" also selects records in "a:b".
_IN_SET = {
    "postgresql": text("EXISTS (SELECT 1 FROM json_array_elements_text(record.set_specs) "
                       "AS spec(v) WHERE spec.v = :spec OR left(spec.v, :n) = :below)"),
    "sqlite": text("EXISTS (SELECT 1 FROM json_each(record.set_specs) AS spec "
                   "WHERE spec.value = :spec OR substr(spec.value, 1, :n) = :below)"),
}


@dataclass(frozen=True, slots=True)
class FeedSource:
    """A source as the feed names its records: whose, and where they came from.

    ``label`` is what the feed's identifiers name the source by: the member's slug for
    its first source, ``<slug>.<source id>`` for any later one (two journals of one
    university often give the same identifiers: every stock OJS says
    ``oai:ojs.pkp.sfu.ca:article/N``). Sources are never deleted, so labels never change.
    """

    id: int
    member_slug: str
    base_url: str
    status: str
    set_names: dict[str, str | None]
    metadata_prefix: str = ""
    label: str = ""


@dataclass(frozen=True, slots=True)
class FeedMember:
    """A member as the feed lists it: its sets and its endpoints (``friends``)."""

    id: int
    slug: str
    name: str
    homepage: str | None
    city: str | None
    province: str | None
    kind: str | None
    status: str
    sources: tuple[FeedSource, ...]


@dataclass(frozen=True, slots=True)
class Selection:
    """Which records a list covers, besides its change_seq range.

    Attributes:
        source_ids: only these sources' records (``None``: every source).
        member_set: only records in this member set (or below it), literally.
        work_type: only records of this type; ``""`` for every record with a type.
    """

    source_ids: tuple[int, ...] | None = None
    member_set: str | None = None
    work_type: str | None = None


@dataclass(slots=True)
class FeedRow:
    """One record as the feed writes it.

    Attributes:
        id: the store's record id.
        source_id: its source.
        identifier: the OAI identifier the member gave it.
        datestamp: the member's datestamp, as harvested.
        deleted: a tombstone.
        set_specs: the member's setSpecs.
        metadata_prefix: the prefix it was harvested with.
        changed: the aggregator's change time (the feed's datestamp), in UTC.
        change_seq: its place in the change feed.
        work_type: the normalised type, kept on tombstones.
        fields: the normalised fields (when asked for).
        metadata_xml: the metadata as harvested (when asked for).
        provenance_xml: the originDescription an upstream aggregator sent.
    """

    id: int
    source_id: int
    identifier: str
    datestamp: str | None
    deleted: bool
    set_specs: list[str]
    metadata_prefix: str
    changed: datetime
    change_seq: int
    work_type: str | None
    fields: dict[str, Any] | None
    metadata_xml: bytes | None
    provenance_xml: bytes | None


def stamp(engine: Engine) -> tuple[datetime, int]:
    """Read the change clock for a response, so its time is a safe ``from`` next time.

    Moves the clock to now (never back) while holding the counter's lock, which waits
    for any change being written: every change committed so far has a ``change_seq``
    up to the value returned, and every change after gets a time at or after the one
    returned. A harvester that sends that time as ``from`` misses nothing.

    Returns:
        The response time (UTC) and the highest ``change_seq`` committed.
    """
    stmt = _STAMP["postgresql" if engine.dialect.name == "postgresql" else "sqlite"]
    with connect(engine) as conn:
        row = conn.execute(stmt, {"now": utcnow()}).first()
    if row is None:
        raise StoreError("the change counter row is missing: run `aggregator init`")
    return _aware(row[1]), int(row[0])


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def earliest_change(conn: Connection) -> datetime | None:
    """The change time of the oldest change still in the store (``None`` when empty)."""
    first = conn.scalar(select(RECORD.c.last_changed).order_by(RECORD.c.change_seq).limit(1))
    return None if first is None else _aware(first)


def seq_from(conn: Connection, start: datetime) -> int | None:
    """The last ``change_seq`` before the first change at or after ``start``
    (``None``: nothing changed since)."""
    first = conn.scalar(select(RECORD.c.change_seq).where(RECORD.c.last_changed >= start)
                        .order_by(RECORD.c.last_changed, RECORD.c.change_seq).limit(1))
    return None if first is None else int(first) - 1


def seq_until(conn: Connection, end: datetime) -> int:
    """The last ``change_seq`` of the changes at or before ``end`` (0: none)."""
    last = conn.scalar(select(RECORD.c.change_seq).where(RECORD.c.last_changed <= end)
                       .order_by(RECORD.c.last_changed.desc(), RECORD.c.change_seq.desc())
                       .limit(1))
    return 0 if last is None else int(last)


def load_members(conn: Connection) -> list[FeedMember]:
    """Every member but pending ones, by slug, with their sources (removed ones too:
    their records are tombstones the feed still lists)."""
    sources: dict[int, list[FeedSource]] = {}
    for row in conn.execute(select(Source.id, Source.member_id, Source.base_url,
                                   Source.status, Source.set_names, Source.metadata_prefix,
                                   Member.slug)
                            .join(Member, Member.id == Source.member_id)
                            .order_by(Source.id)):
        names = _json(row.set_names) or {}
        known = sources.setdefault(row.member_id, [])
        known.append(FeedSource(
            row.id, row.slug, row.base_url, row.status,
            {str(k): (None if v is None else str(v)) for k, v in names.items()},
            row.metadata_prefix, row.slug if not known else f"{row.slug}.{row.id}"))
    members = conn.execute(select(Member.id, Member.slug, Member.name, Member.homepage,
                                  Member.city, Member.province, Member.kind, Member.status)
                           .where(Member.status != "pending").order_by(Member.slug))
    return [FeedMember(m.id, m.slug, m.name, m.homepage, m.city, m.province, m.kind,
                       m.status, tuple(sources.get(m.id, ()))) for m in members]


def _json(value: Any) -> Any:
    """A JSON column's value: drivers give text (SQLite) or the parsed value (psycopg)."""
    if isinstance(value, str | bytes):
        return orjson.loads(value)
    return value


def _where(conn: Connection, selection: Selection, after: int,
           upto: int) -> list[ColumnElement[bool]]:
    rec = RECORD.c
    clauses: list[ColumnElement[bool]] = [rec.change_seq > after, rec.change_seq <= upto]
    if selection.source_ids is not None:
        clauses.append(rec.source_id.in_(selection.source_ids) if selection.source_ids
                       else false())
    if selection.member_set is not None:
        spec = selection.member_set
        clause = _IN_SET["postgresql" if conn.dialect.name == "postgresql" else "sqlite"]
        clauses.append(cast(ColumnElement[bool], clause.bindparams(
            spec=spec, n=len(spec) + 1, below=spec + ":")))
    if selection.work_type == "":
        clauses.append(rec.work_type.is_not(None))
    elif selection.work_type is not None:
        clauses.append(rec.work_type == selection.work_type)
    return clauses


def count(conn: Connection, selection: Selection, after: int, upto: int) -> int:
    """How many records a list holds (its ``completeListSize``)."""
    return int(conn.scalar(select(func.count()).select_from(RECORD)
                           .where(*_where(conn, selection, after, upto))) or 0)


def _columns(*, fields: bool, xml: bool) -> list[Any]:
    rec = RECORD.c
    # JSON and times as the driver gives them: decoded here with orjson and
    # fromisoformat, a good deal quicker than SQLAlchemy's per-row processors.
    return [rec.id, rec.source_id, rec.identifier, rec.datestamp, rec.deleted,
            type_coerce(rec.set_specs, String), rec.metadata_prefix,
            type_coerce(rec.last_changed, String), rec.change_seq, rec.work_type,
            rec.provenance_xml,
            type_coerce(rec.fields, String) if fields else null(),
            rec.metadata_xml if xml else null()]


def _time(value: Any) -> datetime:
    if isinstance(value, str):  # SQLite: "2026-12-04 10:00:00.000000", UTC
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return _aware(value)


def _row(row: Any) -> FeedRow:
    (rid, source_id, identifier, datestamp, deleted, specs, prefix, changed, seq,
     work_type, provenance, fields, xml) = row
    return FeedRow(
        rid, source_id, identifier, datestamp, bool(deleted),
        [] if specs == "[]" or not specs else list(_json(specs)), prefix, _time(changed),
        int(seq), work_type, None if fields is None else _json(fields),
        None if xml is None else bytes(xml),
        None if provenance is None else bytes(provenance))


def page(conn: Connection, selection: Selection, after: int, upto: int, limit: int, *,
         fields: bool = False, xml: bool = False) -> list[FeedRow]:
    """The next ``limit`` records of a list in change order, after ``change_seq``
    ``after`` and up to ``upto`` (keyset paging: records arriving meanwhile never shift
    the page).

    Args:
        conn: a connection.
        selection: which records.
        after: the last ``change_seq`` already listed.
        upto: the list's last ``change_seq``.
        limit: records at most.
        fields: read the normalised fields too.
        xml: read the metadata as harvested too.
    """
    stmt = (select(*_columns(fields=fields, xml=xml))
            .where(*_where(conn, selection, after, upto))
            .order_by(RECORD.c.change_seq).limit(limit))
    return [_row(row) for row in conn.execute(stmt).all()]


def find(conn: Connection, source_ids: Sequence[int], identifier: str) -> FeedRow | None:
    """The record a member gave this identifier (one of its sources' records; a live
    one before a tombstone, then the latest change)."""
    if not source_ids:
        return None
    rec = RECORD.c
    row = conn.execute(
        select(*_columns(fields=True, xml=True))
        .where(rec.identifier == identifier, rec.source_id.in_(list(source_ids)))
        .order_by(rec.deleted, rec.change_seq.desc()).limit(1)).first()
    return None if row is None else _row(row)


def sample_heads(conn: Connection) -> dict[int, bytes]:
    """For each source with live records, the first bytes of one of their metadata (which
    metadata format the source gives); one probe of the live-records index per source."""
    rec = RECORD.c
    one_live = (select(func.substr(rec.metadata_xml, 1, HEAD_BYTES))
                .where(rec.source_id == Source.id, rec.deleted == false())
                # in the order of the live records' index, so that index is the one used
                # (the other, by change_seq, may run through many tombstones first)
                .order_by(rec.last_seen_pass).limit(1).scalar_subquery())
    rows = conn.execute(select(Source.id, one_live).where(Source.status != "removed"))
    return {int(sid): bytes(head) for sid, head in rows if head is not None}
