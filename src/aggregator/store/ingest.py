"""The hot path: one harvested page into the store in one transaction, and reconciliation."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    func,
    insert,
    null,
    or_,
    select,
    update,
)

from aggregator.errors import StoreError
from aggregator.records import HarvestedRecord, Notice, PageStats
from aggregator.store.db import connect
from aggregator.store.models import ChangeCounter, HarvestRun, Record, Source, utcnow
from aggregator.store.runs import merge_notices

RECORD = cast(Table, Record.__table__)
_RUN = cast(Table, HarvestRun.__table__)
_SOURCE = cast(Table, Source.__table__)
_COUNTER = cast(Table, ChangeCounter.__table__)
_IN_CHUNK = 900  # stays far below every backend's bound-parameter limit

_UPDATE_BY_ID = update(RECORD).where(RECORD.c.id == bindparam("_id"))


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
                 metadata_xml: bytes | None) -> str:
    """SHA-1 over what makes two versions of a record different (not the datestamp)."""
    digest = hashlib.sha1(prefix.encode(), usedforsecurity=False)
    digest.update(b"\x00D\x00" if deleted else b"\x00L\x00")
    digest.update("\x1f".join(set_specs).encode())
    digest.update(b"\x00")
    if metadata_xml:
        digest.update(metadata_xml)
    return digest.hexdigest()


def allocate_seq(conn: Connection, count: int) -> int:
    """Reserve ``count`` consecutive ``change_seq`` values and return the first.

    The counter row stays locked until the transaction ends, which in PostgreSQL also
    makes transactions holding lower numbers commit first.
    """
    stmt = (update(_COUNTER).where(_COUNTER.c.id == 1)
            .values(value=_COUNTER.c.value + count).returning(_COUNTER.c.value))
    last = conn.scalar(stmt)
    if last is None:
        raise StoreError("the change counter row is missing: run `aggregator init`")
    return int(last) - count + 1


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
    with connect(engine) as conn:
        existing = _existing_rows(conn, page.source_id, list(latest))
        plan = _classify(latest, hashes, existing, page.seen_pass)
        if duplicates:
            plan.stats.extra["duplicates"] = duplicates
        _save_checkpoint(conn, page.source_id, page.checkpoint)
        _add_to_run(conn, page, plan.stats)
        _apply(conn, page, plan, hashes)
    return plan.stats


def _hash_of(prefix: str, rec: HarvestedRecord) -> str:
    return content_hash(prefix, rec.deleted, rec.set_specs,
                        None if rec.deleted else rec.metadata_xml)


def _existing_rows(conn: Connection, source_id: int,
                   identifiers: list[str]) -> dict[str, Any]:
    cols = (RECORD.c.id, RECORD.c.identifier, RECORD.c.deleted, RECORD.c.content_hash,
            RECORD.c.datestamp, RECORD.c.last_seen_pass)
    found: dict[str, Any] = {}
    for start in range(0, len(identifiers), _IN_CHUNK):
        chunk = identifiers[start:start + _IN_CHUNK]
        stmt = select(*cols).where(RECORD.c.source_id == source_id,
                                   RECORD.c.identifier.in_(chunk))
        for row in conn.execute(stmt):
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
    now = utcnow()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    seq = allocate_seq(conn, len(plan.changes)) if plan.changes else 0
    for offset, (rec, digest, row_id) in enumerate(plan.changes):
        values: dict[str, Any] = {
            "datestamp": rec.datestamp, "deleted": rec.deleted,
            "set_specs": list(rec.set_specs), "metadata_prefix": page.metadata_prefix,
            "metadata_xml": None if rec.deleted else rec.metadata_xml,
            "content_hash": digest, "change_seq": seq + offset, "last_changed": now,
        }
        if page.seen_pass is not None or row_id is None:
            values["last_seen_pass"] = page.seen_pass
        if row_id is None:
            values.update(source_id=page.source_id, identifier=rec.identifier, first_seen=now)
            inserts.append(values)
        else:
            values["_id"] = row_id
            updates.append(values)
    if inserts:
        conn.execute(insert(RECORD), inserts)
    if updates:
        _executemany_updates(conn, updates)
    for start in range(0, len(plan.touched), _IN_CHUNK):
        conn.execute(update(RECORD)
                     .where(RECORD.c.id.in_(plan.touched[start:start + _IN_CHUNK]))
                     .values(last_seen_pass=page.seen_pass))


def _executemany_updates(conn: Connection, updates: list[dict[str, Any]]) -> None:
    # executemany needs one key set per statement; rows differ only by last_seen_pass.
    with_pass = [u for u in updates if "last_seen_pass" in u]
    without = [u for u in updates if "last_seen_pass" not in u]
    for batch in (with_pass, without):
        if batch:
            conn.execute(_UPDATE_BY_ID, batch)


def _save_checkpoint(conn: Connection, source_id: int,
                     checkpoint: dict[str, Any] | None) -> None:
    stmt = (update(_SOURCE).where(_SOURCE.c.id == source_id)
            .values(checkpoint=null() if checkpoint is None else checkpoint))
    if conn.execute(stmt).rowcount != 1:
        raise StoreError(f"unknown source {source_id}")


def _add_to_run(conn: Connection, page: PageWrite, stats: PageStats) -> None:
    run = _RUN.c
    values: dict[str, Any] = {
        "new": run.new + stats.new, "updated": run.updated + stats.updated,
        "deleted": run.deleted + stats.deleted, "unchanged": run.unchanged + stats.unchanged,
        "pages": run.pages + 1, "bytes": run.bytes + page.page_bytes,
    }
    if page.response_date is not None:
        values["response_date"] = func.coalesce(run.response_date, page.response_date)
    if page.complete_list_size is not None:
        values["complete_list_size"] = page.complete_list_size
    if page.notices:
        current = conn.scalar(select(run.warnings).where(run.id == page.run_id))
        values["warnings"] = merge_notices(current or [], page.notices)
    result = conn.execute(update(_RUN).where(run.id == page.run_id).values(**values))
    if result.rowcount != 1:
        raise StoreError(f"unknown harvest run {page.run_id}")


def tombstone_rows(conn: Connection, rows: Sequence[Any], now: datetime) -> int:
    """Turn live records into tombstones, each with a fresh ``change_seq``.

    Args:
        conn: a connection inside the caller's transaction.
        rows: rows with ``id``, ``metadata_prefix`` and ``set_specs`` columns.
        now: the change time to record.

    Returns:
        How many records were tombstoned.
    """
    if not rows:
        return 0
    seq = allocate_seq(conn, len(rows))
    params = [{"_id": row.id, "deleted": True, "metadata_xml": None, "change_seq": seq + i,
               "last_changed": now,
               "content_hash": content_hash(row.metadata_prefix, True, row.set_specs or (), None)}
              for i, row in enumerate(rows)]
    conn.execute(_UPDATE_BY_ID, params)
    return len(params)


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
        tombstone_rows(conn, vanished, utcnow())
    message = (f"tombstoned {len(vanished)} of {live} records ({share:.0%})"
               if vanished else "no record vanished")
    return ReconcileResult(len(vanished), live, True, message)
