"""The hot path: one harvested page into the store in one transaction, and reconciliation."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    Connection,
    Engine,
    Integer,
    String,
    Table,
    bindparam,
    case,
    delete,
    func,
    insert,
    null,
    or_,
    select,
    text,
    update,
)

from aggregator.errors import StoreError
from aggregator.normalize.stored import Stored, stored_form
from aggregator.records import HarvestedRecord, Notice, PageStats
from aggregator.store.db import connect, reader
from aggregator.store.models import (
    ChangeCounter,
    HarvestRun,
    Record,
    RecordKey,
    Source,
    utcnow,
)
from aggregator.store.runs import merge_notices

RECORD = cast(Table, Record.__table__)
KEY = cast(Table, RecordKey.__table__)
_RUN = cast(Table, HarvestRun.__table__)
_SOURCE = cast(Table, Source.__table__)
_COUNTER = cast(Table, ChangeCounter.__table__)
_IN_CHUNK = 900  # stays far below every backend's bound-parameter limit
# Rows built and sent at once: a large page's rows never all exist together (60,000
# records' parameter dicts took some 120 MB).
_WRITE_CHUNK = 1_000

_UPDATE_BY_ID = update(RECORD).where(RECORD.c.id == bindparam("_id"))

_BULK_BY_ID = update(RECORD).where(RECORD.c.id == bindparam("p_id"))
_WRITTEN = ("datestamp", "deleted", "set_specs", "metadata_prefix", "metadata_xml",
            "provenance_xml", "fields", "match_keys", "content_hash", "change_seq",
            "last_changed")
# A tombstone keeps the type its record had, so it stays in the feed's type: set; and
# its last known fields, so the withdrawn record's page still names what was withdrawn
# (everything that searches, clusters or indexes reads live records only).
_KEEP_TYPE = {"work_type": case((bindparam("p_deleted", type_=Boolean), RECORD.c.work_type),
                                else_=bindparam("p_work_type")),
              "fields": case((bindparam("p_deleted", type_=Boolean), RECORD.c.fields),
                             else_=bindparam("p_fields", type_=RECORD.c.fields.type))}
_BULK: dict[str, Any] = {
    "insert": insert(RECORD).inline().values({
        c: bindparam(f"p_{c}") for c in (*_WRITTEN, "id", "cluster_id", "source_id",
                                         "identifier", "first_seen", "last_seen_pass",
                                         "work_type")}),
    "update": _BULK_BY_ID.values({**{c: bindparam(f"p_{c}") for c in _WRITTEN},
                                  **_KEEP_TYPE}),
    "update+pass": _BULK_BY_ID.values({**{c: bindparam(f"p_{c}")
                                          for c in (*_WRITTEN, "last_seen_pass")},
                                       **_KEEP_TYPE}),
    "normalised": _BULK_BY_ID.values(fields=bindparam("p_fields"),
                                     match_keys=bindparam("p_match_keys"),
                                     work_type=bindparam("p_work_type")),
    "key": insert(KEY).values(key=bindparam("p_key"), record_id=bindparam("p_record_id")),
}
_DROP_KEYS = delete(KEY).where(KEY.c.record_id.in_(bindparam("ids", expanding=True)))
# The record writes, run with the driver's executemany (see _executemany); compiled once.
_COMPILED: dict[tuple[str, type, str], tuple[str, Callable[[dict[str, Any]], Any] | None]] = {}

# The per-page statements, built once so a page costs no statement construction.
_SEEN = (update(RECORD).where(RECORD.c.id.in_(bindparam("ids", expanding=True)))
         .values(last_seen_pass=bindparam("seen", type_=Integer)))
# The change clock never goes back: each change takes max(last change time, now) while
# it holds the counter's lock, so change times follow change_seq (the OAI feed relies on
# it). PostgreSQL reads the database server's clock, the same for every machine.
_NOW = bindparam("now", type_=_COUNTER.c.changed_at.type)
_NEXT_SEQ = {
    "postgresql": (update(_COUNTER).where(_COUNTER.c.id == 1)
                   .values(value=_COUNTER.c.value + bindparam("n", type_=BigInteger),
                           changed_at=func.greatest(_COUNTER.c.changed_at,
                                                    func.clock_timestamp()))
                   .returning(_COUNTER.c.value, _COUNTER.c.changed_at)),
    "sqlite": (update(_COUNTER).where(_COUNTER.c.id == 1)
               .values(value=_COUNTER.c.value + bindparam("n", type_=BigInteger),
                       changed_at=func.max(func.coalesce(_COUNTER.c.changed_at, _NOW), _NOW))
               .returning(_COUNTER.c.value, _COUNTER.c.changed_at)),
}
_EXISTING = select(RECORD.c.id, RECORD.c.identifier, RECORD.c.deleted, RECORD.c.content_hash,
                   RECORD.c.datestamp, RECORD.c.last_seen_pass).where(
    RECORD.c.source_id == bindparam("sid"),
    RECORD.c.identifier.in_(bindparam("idents", expanding=True)))
_SET_CHECKPOINT = (update(_SOURCE).where(_SOURCE.c.id == bindparam("sid"))
                   .values(checkpoint=bindparam("cp", type_=_SOURCE.c.checkpoint.type)))
_CLEAR_CHECKPOINT = (update(_SOURCE).where(_SOURCE.c.id == bindparam("sid"))
                     .values(checkpoint=null()))
_RUN_COUNTS = update(_RUN).where(_RUN.c.id == bindparam("rid")).values(
    new=_RUN.c.new + bindparam("n_new", type_=Integer),
    updated=_RUN.c.updated + bindparam("n_updated", type_=Integer),
    deleted=_RUN.c.deleted + bindparam("n_deleted", type_=Integer),
    unchanged=_RUN.c.unchanged + bindparam("n_unchanged", type_=Integer),
    pages=_RUN.c.pages + 1,
    bytes=_RUN.c.bytes + bindparam("n_bytes", type_=BigInteger),
    # the first responseDate of the run wins; a page without completeListSize keeps the last
    response_date=func.coalesce(_RUN.c.response_date,
                                bindparam("n_response_date", type_=String)),
    complete_list_size=func.coalesce(bindparam("n_list_size", type_=Integer),
                                     _RUN.c.complete_list_size))


@dataclass
class PageWrite:
    """Everything :func:`write_page` stores for one harvested page.

    Attributes:
        source_id: the source the records belong to.
        run_id: the harvest run whose counts and warnings grow.
        metadata_prefix: the prefix the page was requested with.
        records: the page's records in document order (duplicates allowed, last wins).
        checkpoint: the resumable state after this page; ``None`` clears it.
        page_bytes: the response size, added to the run's ``bytes``.
        notices: repairs and problems met on this page, kept on the run.
        seen_pass: during a full sweep, the pass number stamped on every record seen.
        response_date: the page's ``responseDate``; the run keeps the first one.
        complete_list_size: the resumption token's ``completeListSize``, when sent.
        normalised: identifier → :func:`~aggregator.normalize.stored.stored_form` of
            its metadata, already computed (e.g. in another process); records missing
            from it are normalised here, only when they are new or changed.
    """

    source_id: int
    run_id: int
    metadata_prefix: str
    records: Sequence[HarvestedRecord]
    checkpoint: dict[str, Any] | None
    page_bytes: int = 0
    notices: Sequence[Notice] = ()
    seen_pass: int | None = None
    response_date: str | None = None
    complete_list_size: int | None = None
    normalised: Mapping[str, Stored] | None = None


@dataclass(frozen=True, slots=True)
class ReconcileResult:
    """Outcome of :func:`reconcile`: how many records vanished and whether they were removed."""

    vanished: int
    live: int
    applied: bool
    message: str


@dataclass(slots=True)
class _Plan:
    """The page sorted into writes: rows to insert, rows to update, rows only seen."""

    stats: PageStats = field(default_factory=PageStats)
    changes: list[tuple[HarvestedRecord, str, int | None]] = field(default_factory=list)
    touched: list[int] = field(default_factory=list)


def content_hash(prefix: str, deleted: bool, set_specs: Iterable[str],
                 metadata_xml: bytes | None, provenance_xml: bytes | None = None) -> str:
    """SHA-1 over what makes two versions of a record different (not the datestamp).

    The upstream provenance counts (a record re-harvested upstream is news for the
    feed); a record without one hashes as it did before provenance was kept.
    """
    head = "\x00".join((prefix, "D" if deleted else "L", "\x1f".join(set_specs), ""))
    digest = hashlib.sha1(head.encode(), usedforsecurity=False)
    if metadata_xml:
        digest.update(metadata_xml)
    if provenance_xml:
        # NUL never occurs in XML, so no metadata can end with what follows
        digest.update(b"\x00provenance\x00")
        digest.update(provenance_xml)
    return digest.hexdigest()


def allocate_seq(conn: Connection, count: int) -> tuple[int, datetime]:
    """Reserve ``count`` consecutive ``change_seq`` values and the changes' time.

    The counter row stays locked until the transaction ends, which in PostgreSQL also
    makes transactions holding lower numbers commit first. The time is the change
    clock's next reading (never earlier than any change before), in UTC.

    Returns:
        The first of the values, and the time to record as the changes' ``last_changed``.
    """
    stmt = _NEXT_SEQ["postgresql" if conn.dialect.name == "postgresql" else "sqlite"]
    row = conn.execute(stmt, {"n": count, "now": utcnow()}).first()
    if row is None:
        raise StoreError("the change counter row is missing: run `aggregator init`")
    last, when = row
    if when.tzinfo is None:  # SQLite keeps naive UTC
        when = when.replace(tzinfo=UTC)
    return int(last) - count + 1, when


def allocate_ids(conn: Connection, count: int) -> list[int]:
    """Reserve ``count`` new record ids.

    New records are inserted with their id, so that their cluster (themselves, until
    clustering finds a copy elsewhere) and their block keys go in with them, without a
    second write. SQLite writers hold the database (transactions begin IMMEDIATE), so
    the ids after the largest are free; PostgreSQL takes them from the id's sequence.
    """
    if conn.dialect.name == "postgresql":
        return list(conn.scalars(text(
            "SELECT nextval(pg_get_serial_sequence('record', 'id')) "
            "FROM generate_series(1, :n)"), {"n": count}))
    first = int(conn.scalar(select(func.coalesce(func.max(RECORD.c.id), 0))) or 0) + 1
    return list(range(first, first + count))


def write_keys(conn: Connection, keyed: Iterable[tuple[int, Stored]], *,
               replace: Sequence[int] = ()) -> None:
    """Store the block keys of records (id, stored form), after dropping every key of
    the records in ``replace`` (changed or deleted ones)."""
    for start in range(0, len(replace), _IN_CHUNK):
        conn.execute(_DROP_KEYS, {"ids": list(replace[start:start + _IN_CHUNK])})
    rows = [{"p_key": key, "p_record_id": rid}
            for rid, found in keyed if found is not None for key in found[2]]
    if rows:
        _executemany(conn, "key", rows)


def write_page(engine: Engine, page: PageWrite) -> PageStats:
    """Store one page of records with its checkpoint and run counts, in one transaction.

    Returns:
        The page's counts (``extra["duplicates"]`` when identifiers repeated in the page).

    Raises:
        StoreError: the source or run does not exist, or the database refused the write.
    """
    latest: dict[str, HarvestedRecord] = {}
    for rec in page.records:
        latest.pop(rec.identifier, None)  # re-insert so the order follows the last copy
        latest[rec.identifier] = rec
    hashes = {ident: _hash_of(page.metadata_prefix, rec) for ident, rec in latest.items()}
    duplicates = len(page.records) - len(latest)
    page = _normalised_first(engine, page, latest, hashes)
    with connect(engine) as conn:
        existing = _existing_rows(conn, page.source_id, list(latest))
        plan = _classify(latest, hashes, existing, page.seen_pass)
        if duplicates:
            plan.stats.extra["duplicates"] = duplicates
        _save_checkpoint(conn, page.source_id, page.checkpoint)
        _add_to_run(conn, page, plan.stats)
        _apply(conn, page, plan, hashes)
    return plan.stats


def _normalised_first(engine: Engine, page: PageWrite, latest: dict[str, HarvestedRecord],
                      hashes: dict[str, str]) -> PageWrite:
    """The page with its new and changed records normalised, before the write
    transaction: normalising holds no lock then (SQLite has one writer, and every
    harvest thread waits for it). What is new or changed is read from a snapshot; a
    record that changes in between is normalised in the transaction, as before."""
    given = page.normalised or {}
    if not any(not rec.deleted and rec.metadata_xml and ident not in given
               for ident, rec in latest.items()):
        return page
    with connect(reader(engine)) as conn:
        before = _existing_rows(conn, page.source_id, list(latest))
    found = dict(given)
    for rec, _digest, _row in _classify(latest, hashes, before, page.seen_pass).changes:
        if not rec.deleted and rec.metadata_xml and rec.identifier not in found:
            found[rec.identifier] = stored_form(rec.metadata_xml, page.metadata_prefix)
    return replace(page, normalised=found)


def _hash_of(prefix: str, rec: HarvestedRecord) -> str:
    if rec.deleted:
        return content_hash(prefix, True, rec.set_specs, None)
    return content_hash(prefix, False, rec.set_specs, rec.metadata_xml, rec.provenance_xml)


def _existing_rows(conn: Connection, source_id: int,
                   identifiers: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for start in range(0, len(identifiers), _IN_CHUNK):
        chunk = identifiers[start:start + _IN_CHUNK]
        for row in conn.execute(_EXISTING, {"sid": source_id, "idents": chunk}):
            found[row.identifier] = row
    return found


def _classify(latest: dict[str, HarvestedRecord], hashes: dict[str, str],
              existing: dict[str, Any], seen_pass: int | None) -> _Plan:
    plan = _Plan()
    for ident, rec in latest.items():
        row = existing.get(ident)
        kind = _kind(rec, hashes[ident], row)
        setattr(plan.stats, kind, getattr(plan.stats, kind) + 1)
        if kind != "unchanged":
            plan.changes.append((rec, hashes[ident], None if row is None else row.id))
        elif row is not None and seen_pass is not None and row.last_seen_pass != seen_pass:
            plan.touched.append(row.id)
    return plan


def _kind(rec: HarvestedRecord, digest: str, row: Any) -> str:
    """Name the PageStats counter a record falls under, compared with its stored row."""
    if rec.deleted:
        return "unchanged" if row is not None and row.deleted else "deleted"
    if row is None:
        return "new"
    if row.content_hash == digest and row.datestamp == rec.datestamp:
        return "unchanged"
    return "updated"


def _apply(conn: Connection, page: PageWrite, plan: _Plan, hashes: dict[str, str]) -> None:
    seq, when = allocate_seq(conn, len(plan.changes)) if plan.changes else (0, utcnow())
    now = _db_time(conn, when)
    fresh = sum(1 for change in plan.changes if change[2] is None)
    new_ids = iter(allocate_ids(conn, fresh) if fresh else ())
    specs_json: dict[tuple[str, ...], str] = {}  # pages repeat a handful of set lists
    for first in range(0, len(plan.changes), _WRITE_CHUNK):
        _write_changes(conn, page, plan.changes[first:first + _WRITE_CHUNK], seq + first, now,
                       new_ids, specs_json)
    for start in range(0, len(plan.touched), _IN_CHUNK):
        conn.execute(_SEEN, {"ids": plan.touched[start:start + _IN_CHUNK],
                             "seen": page.seen_pass})


def _write_changes(conn: Connection, page: PageWrite,
                   changes: list[tuple[HarvestedRecord, str, int | None]], seq: int, now: Any,
                   new_ids: Iterator[int], specs_json: dict[tuple[str, ...], str]) -> None:
    """Insert or update some of a page's changed records (with change numbers from
    ``seq`` on) and their block keys."""
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    keyed: list[tuple[int, Stored]] = []
    given = page.normalised or {}
    for offset, (rec, digest, row_id) in enumerate(changes):
        specs = specs_json.get(rec.set_specs)
        if specs is None:
            specs = specs_json[rec.set_specs] = json.dumps(list(rec.set_specs))
        xml = None if rec.deleted else rec.metadata_xml
        stored = (given[rec.identifier] if rec.identifier in given
                  else stored_form(xml, page.metadata_prefix)) if xml else None
        values: dict[str, Any] = {
            "p_datestamp": rec.datestamp, "p_deleted": rec.deleted, "p_set_specs": specs,
            "p_metadata_prefix": page.metadata_prefix, "p_metadata_xml": xml,
            "p_provenance_xml": None if rec.deleted else rec.provenance_xml,
            "p_fields": stored[0] if stored else None,
            "p_match_keys": stored[1] if stored else None,
            "p_work_type": stored[3] if stored else None,
            "p_content_hash": digest, "p_change_seq": seq + offset, "p_last_changed": now,
            "p_last_seen_pass": page.seen_pass,
        }
        if row_id is None:
            row_id = next(new_ids)
            values.update(p_id=row_id, p_cluster_id=None if rec.deleted else row_id,
                          p_source_id=page.source_id, p_identifier=rec.identifier,
                          p_first_seen=now)
            inserts.append(values)
        else:
            values["p_id"] = row_id
            updates.append(values)
        keyed.append((row_id, stored))
    if inserts:
        _executemany(conn, "insert", inserts)
    if updates:
        _executemany(conn, "update" if page.seen_pass is None else "update+pass", updates)
    write_keys(conn, keyed, replace=[row["p_id"] for row in updates])


def store_normalised(conn: Connection, rows: Iterable[tuple[int, Stored]]) -> int:
    """Store the fields and match keys computed for existing records (record id,
    :func:`~aggregator.normalize.stored.stored_form`); returns how many were written."""
    found = [(rid, stored) for rid, stored in rows if stored is not None]
    params = [{"p_id": rid, "p_fields": stored[0], "p_match_keys": stored[1],
               "p_work_type": stored[3]} for rid, stored in found]
    if params:
        _executemany(conn, "normalised", params)
        write_keys(conn, found, replace=[rid for rid, _ in found])
    return len(params)


def forget_normalised(conn: Connection) -> int:
    """Drop the stored fields, match keys and block keys of every live record that has
    its XML, so that they are computed again from it (``aggregator index rebuild
    --renormalise``); returns how many records."""
    conn.execute(delete(KEY))
    return int(conn.execute(update(RECORD).where(
        RECORD.c.deleted.is_(False), RECORD.c.metadata_xml.is_not(None))
        .values(fields=None, match_keys=None)).rowcount or 0)


def _executemany(conn: Connection, name: str, rows: list[dict[str, Any]]) -> None:
    """Run one of the ``_BULK`` statements over many rows with the driver's executemany.

    The statement is compiled by SQLAlchemy once per dialect; the values arrive already
    in the driver's form (JSON text, SQLite time text), which saves SQLAlchemy's
    per-row processing on the hot path. Everything stays a bound parameter.
    """
    dialect = conn.dialect
    key = (name, type(dialect), dialect.paramstyle)
    if key not in _COMPILED:
        compiled = _BULK[name].compile(dialect=dialect)
        order = list(compiled.positiontup or ()) if compiled.positional else None
        _COMPILED[key] = (str(compiled), itemgetter(*order) if order else None)
    sql, as_tuple = _COMPILED[key]
    conn.exec_driver_sql(sql, rows if as_tuple is None else [as_tuple(row) for row in rows])


def _db_time(conn: Connection, when: datetime) -> Any:
    """A UTC time in the form the driver stores for SQLAlchemy's DateTime columns."""
    if conn.dialect.name == "sqlite":  # SQLAlchemy keeps SQLite times as naive UTC text
        return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return when


def _save_checkpoint(conn: Connection, source_id: int,
                     checkpoint: dict[str, Any] | None) -> None:
    if checkpoint is None:
        result = conn.execute(_CLEAR_CHECKPOINT, {"sid": source_id})
    else:
        result = conn.execute(_SET_CHECKPOINT, {"sid": source_id, "cp": checkpoint})
    if result.rowcount != 1:
        raise StoreError(f"unknown source {source_id}")


def _add_to_run(conn: Connection, page: PageWrite, stats: PageStats) -> None:
    result = conn.execute(_RUN_COUNTS, {
        "rid": page.run_id, "n_new": stats.new, "n_updated": stats.updated,
        "n_deleted": stats.deleted, "n_unchanged": stats.unchanged, "n_bytes": page.page_bytes,
        "n_response_date": page.response_date, "n_list_size": page.complete_list_size})
    if result.rowcount != 1:
        raise StoreError(f"unknown harvest run {page.run_id}")
    if page.notices:
        run = _RUN.c
        current = conn.scalar(select(run.warnings).where(run.id == page.run_id))
        conn.execute(update(_RUN).where(run.id == page.run_id)
                     .values(warnings=merge_notices(current or [], page.notices)))


def tombstone_rows(conn: Connection, rows: Sequence[Any]) -> int:
    """Turn live records into tombstones, each with a fresh ``change_seq`` (their type
    and set specs stay, so they remain in their sets, and their last known fields).

    Args:
        conn: a connection inside the caller's transaction.
        rows: rows with ``id``, ``metadata_prefix`` and ``set_specs`` columns.

    Returns:
        How many records were tombstoned.
    """
    if not rows:
        return 0
    seq, now = allocate_seq(conn, len(rows))
    params = [{"_id": row.id, "deleted": True, "metadata_xml": None, "provenance_xml": None,
               "match_keys": None, "change_seq": seq + i, "last_changed": now,
               "content_hash": content_hash(row.metadata_prefix, True, row.set_specs or (), None)}
              for i, row in enumerate(rows)]
    conn.execute(_UPDATE_BY_ID, params)
    write_keys(conn, (), replace=[row.id for row in rows])
    return len(params)


def sweep_page(engine: Engine, source_id: int, run_id: int,
               headers: Sequence[HarvestedRecord], seen_pass: int, *, page_bytes: int = 0,
               notices: Sequence[Notice] = ()) -> list[str]:
    """Store one page of a ListIdentifiers sweep (a reconciliation).

    Every stored live record the server still lists live is stamped with ``seen_pass``
    (headers listed as deleted are not, so the :func:`reconcile` that ends the sweep
    tombstones them with the records that vanished); the page counts on the run.

    Returns:
        The identifiers to fetch: listed live but not stored, stored as deleted, or
        listed with another datestamp than the one stored.
    """
    live = {h.identifier: h for h in headers if not h.deleted}
    with connect(engine) as conn:
        existing = _existing_rows(conn, source_id, list(live))
        seen = [row.id for row in existing.values()
                if not row.deleted and row.last_seen_pass != seen_pass]
        for start in range(0, len(seen), _IN_CHUNK):
            conn.execute(_SEEN, {"ids": seen[start:start + _IN_CHUNK], "seen": seen_pass})
        stale = [ident for ident, header in live.items()
                 if (row := existing.get(ident)) is None or row.deleted
                 or (header.datestamp and row.datestamp and header.datestamp != row.datestamp)]
        _add_to_run(conn, PageWrite(source_id, run_id, "", (), None, page_bytes, notices),
                    PageStats(unchanged=len(live) - len(stale)))
    return stale


def reconcile(engine: Engine, source_id: int, run_id: int, seen_pass: int,
              max_share: float) -> ReconcileResult:
    """Tombstone the live records a complete sweep did not see, unless too many vanished.

    Args:
        engine: the store.
        source_id: the swept source.
        run_id: the sweep's run; its ``deleted`` count grows by the records tombstoned.
        seen_pass: the pass number the sweep stamped on every record it saw.
        max_share: the largest share of live records allowed to vanish at once (0..1).
    """
    rec = RECORD.c
    with connect(engine) as conn:
        live = conn.scalar(select(func.count()).select_from(RECORD)
                           .where(rec.source_id == source_id, ~rec.deleted)) or 0
        vanished = conn.execute(
            select(rec.id, rec.metadata_prefix, rec.set_specs)
            .where(rec.source_id == source_id, ~rec.deleted,
                   or_(rec.last_seen_pass.is_(None), rec.last_seen_pass != seen_pass))
            .order_by(rec.id)).all()
        share = len(vanished) / live if live else 0.0
        if live and share > max_share:
            return ReconcileResult(
                len(vanished), live, False,
                f"refused: {len(vanished)} of {live} records ({share:.0%}) would vanish, "
                f"more than the {max_share:.0%} allowed")
        conn.execute(update(_RUN).where(_RUN.c.id == run_id)
                     .values(deleted=_RUN.c.deleted + len(vanished)))
        tombstone_rows(conn, vanished)
    message = (f"tombstoned {len(vanished)} of {live} records ({share:.0%})"
               if vanished else "no record vanished")
    return ReconcileResult(len(vanished), live, True, message)
