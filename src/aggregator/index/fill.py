"""Filling an empty index from the whole store: store missing fields, recluster, index."""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    Text,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy import cast as sql_cast

from aggregator.index.clustering import KEY, RECORD, keys_of, xml_if_no_fields
from aggregator.index.documents import RawCopy, prepare_many, raw_cluster_doc
from aggregator.index.model import IndexDoc, SearchBackend
from aggregator.normalize.cluster import cluster_blocks, file_blocks
from aggregator.normalize.match_keys import MatchKeys
from aggregator.normalize.stored import keys_from_json, normalize_stream, worker_pool
from aggregator.store.db import connect, reader
from aggregator.store.ingest import store_normalised
from aggregator.store.models import Member, Source

logger = logging.getLogger(__name__)
CHUNK = 1000  # rows normalised per task, and per write
POOL_FROM = 5000  # fewer rows without fields than this are normalised in this process
PREPARE_FROM = 20_000  # fewer records than this: documents are built in this process
_AHEAD = 4  # chunks of documents being built in the worker process
_LIVE = RECORD.c.deleted.is_(False)


@dataclass(slots=True)
class Filled:
    """What :func:`fill` did."""

    records: int = 0
    documents: int = 0
    normalised: int = 0
    change_seq: int = 0


def fill(engine: Engine, backend: SearchBackend, *, workers: int | None = None) -> Filled:
    """Recluster every live record and add every work to an empty ``backend``.

    Rows stored without fields (written before fields were stored) are normalised first,
    in worker processes when there are many, and their fields and match keys are written
    back, so that the XML is parsed once and never again. Clustering then reads only the
    stored match keys, and indexing only the stored fields. The clusters are written to
    the store in a thread while the documents are built; a backend that can take
    prepared documents (``prepare`` and ``add_prepared``, as tantivy's) has them built
    in a worker process from ``PREPARE_FROM`` records up (``workers=0``: never).
    """
    done = Filled(normalised=store_missing_fields(engine, workers=workers))
    with connect(reader(engine)) as conn:  # one snapshot: keys as of change_seq
        done.change_seq = int(conn.scalar(select(func.max(RECORD.c.change_seq))) or 0)
        records, current = _read_keys(conn)
    blocks = file_blocks(records)
    mapping = cluster_blocks(records, blocks)
    done.records = len(records)
    del records  # a million records' keys: 0.7 GB no longer needed
    sizes = Counter(mapping.values())
    # The store's clusters are written while the documents are built: SQLite and
    # PostgreSQL do most of that work without the GIL. A record changed meanwhile has a
    # later change_seq, so the next sync reassigns it.
    with ThreadPoolExecutor(1, thread_name_prefix="write-clusters") as pool:
        written = pool.submit(_write_clusters, engine, blocks, mapping, current)
        clusters = _clusters(engine, mapping, sizes)
        prepare = getattr(backend, "prepare", None)
        if prepare is not None and workers != 0 and done.records >= PREPARE_FROM:
            for prepared in _prepared(clusters, prepare):  # built in a worker process
                backend.add_prepared(prepared)  # type: ignore[attr-defined]
                done.documents += len(prepared)
        else:
            while chunk := list(islice(clusters, CHUNK)):
                backend.add([raw_cluster_doc(cid, copies) for cid, copies in chunk],
                            fresh=True)
                done.documents += len(chunk)
        written.result()
    return done


def store_missing_fields(engine: Engine, *, workers: int | None = None) -> int:
    """Normalise the live records that have metadata but no stored fields, and store
    their fields and match keys, a chunk per transaction. Returns how many."""
    with connect(reader(engine)) as conn:
        ids = list(conn.scalars(select(RECORD.c.id).where(
            _LIVE, RECORD.c.fields.is_(None), RECORD.c.metadata_xml.is_not(None))
            .order_by(RECORD.c.id)))
    if not ids:
        return 0
    logger.info("normalising %d records stored without fields", len(ids))
    chunks = (ids[start:start + CHUNK] for start in range(0, len(ids), CHUNK))
    jobs = _xml_of(engine, chunks)
    for rids, results in normalize_stream(jobs, workers=workers if len(ids) >= POOL_FROM
                                          else 0):
        with connect(engine) as conn:
            store_normalised(conn, zip(rids, results, strict=True))
    return len(ids)


def _xml_of(engine: Engine, chunks: Iterator[list[int]]
            ) -> Iterator[tuple[list[int], list[tuple[bytes | None, str]]]]:
    for rids in chunks:
        with connect(reader(engine)) as conn:
            rows = conn.execute(select(RECORD.c.id, RECORD.c.metadata_xml,
                                       RECORD.c.metadata_prefix)
                                .where(RECORD.c.id.in_(rids))).all()
        yield [r.id for r in rows], [(r.metadata_xml, r.metadata_prefix) for r in rows]


def _read_keys(conn: Connection) -> tuple[dict[int, MatchKeys], dict[int, int | None]]:
    """Match keys by id of every live record with metadata, and every live record's
    current cluster."""
    records: dict[int, MatchKeys] = {}
    current: dict[int, int | None] = {}
    unkeyed: list[int] = []
    rows = conn.execute(select(RECORD.c.id, RECORD.c.cluster_id, RECORD.c.match_keys,
                               RECORD.c.metadata_xml.is_not(None).label("has_xml"))
                        .where(_LIVE).execution_options(yield_per=5000))
    for rid, cluster_id, stored, has_xml in rows:
        current[rid] = cluster_id
        if isinstance(stored, dict):
            records[rid] = keys_from_json(stored)
        elif has_xml:
            unkeyed.append(rid)
    for start in range(0, len(unkeyed), CHUNK):  # rare: fields stored, keys not
        for row in conn.execute(select(RECORD.c.id, RECORD.c.metadata_prefix,
                                       RECORD.c.metadata_xml, RECORD.c.fields)
                                .where(RECORD.c.id.in_(unkeyed[start:start + CHUNK]))):
            keys = keys_of(row.metadata_prefix, row.metadata_xml, None, row.fields)
            if keys is not None:
                records[row.id] = keys
    return records, current


def _write_clusters(engine: Engine, blocks: dict[str, list[int]], mapping: dict[int, int],
                    current: dict[int, int | None]) -> None:
    """Bring the block keys up to date and change the cluster of only the records whose
    cluster changed: a rebuild of a store that was kept in sync writes few rows."""
    with connect(engine) as conn:
        stale = {(key, rid) for key, rid in conn.execute(select(KEY.c.key, KEY.c.record_id))}
        missing = []
        for key, rids in blocks.items():
            for rid in rids:
                if (key, rid) in stale:
                    stale.discard((key, rid))
                else:
                    missing.append((key, rid))
        _many(conn, delete(KEY).where(KEY.c.key == bindparam("key"),
                                      KEY.c.record_id == bindparam("record_id")), list(stale))
        del stale
        _many(conn, insert(KEY), missing)
        moved = [(cid, rid) for rid, was in current.items() if (cid := mapping.get(rid)) != was]
        _many(conn, update(RECORD).where(RECORD.c.id == bindparam("rid"))
              .values(cluster_id=bindparam("cid")), moved, ("cid", "rid"))
        conn.execute(update(RECORD).where(RECORD.c.deleted.is_(True),
                                          RECORD.c.cluster_id.is_not(None))
                     .values(cluster_id=None))


def _many(conn: Connection, statement: Any, rows: list[tuple[Any, ...]],
          names: tuple[str, ...] = ("key", "record_id")) -> None:
    """Run ``statement`` once per row (values in ``names`` order), 10,000 rows a call.

    On SQLite the rows go to the driver as they are: SQLAlchemy's per-row parameter
    handling costs more than SQLite's own work at a million rows, and holds the GIL.
    """
    chunks = (rows[start:start + 10_000] for start in range(0, len(rows), 10_000))
    if conn.dialect.paramstyle != "qmark":
        for chunk in chunks:
            conn.execute(statement, [dict(zip(names, row, strict=True)) for row in chunk])
        return
    compiled = statement.compile(dialect=conn.dialect, column_keys=list(names))
    order = [names.index(name) for name in compiled.positiontup]
    for chunk in chunks:
        if order != list(range(len(names))):
            chunk = [tuple(row[i] for i in order) for row in chunk]
        conn.exec_driver_sql(compiled.string, chunk)


def _clusters(engine: Engine, mapping: dict[int, int],
              sizes: Counter[int]) -> Iterator[tuple[int, list[RawCopy]]]:
    """Each cluster's copies, reading live records once in id order; a cluster's copies
    wait in memory until its last copy has been read. Stored fields stay JSON text here
    (decoded where the document is built)."""
    member, source = cast(Table, Member.__table__), cast(Table, Source.__table__)
    waiting: dict[int, list[RawCopy]] = {}
    with connect(reader(engine)) as conn:
        slugs = dict(conn.execute(select(source.c.id, member.c.slug)
                                  .join(member, member.c.id == source.c.member_id)).all())
        rows = conn.execute(select(RECORD.c.id, RECORD.c.source_id, sql_cast(RECORD.c.fields, Text),
                                   xml_if_no_fields(), RECORD.c.metadata_prefix)
                            .where(_LIVE).order_by(RECORD.c.id)
                            .execution_options(yield_per=2000))
        for rid, source_id, stored, xml, prefix in rows:
            cid = mapping.get(rid)
            if cid is None:
                continue
            copy = (rid, slugs[source_id], stored, xml, prefix)
            if sizes[cid] == 1:
                yield cid, [copy]
                continue
            copies = waiting.setdefault(cid, [])
            copies.append(copy)
            if len(copies) == sizes[cid]:
                del waiting[cid]
                yield cid, copies
    yield from waiting.items()  # records deleted while reading: index the rest


def _prepared(clusters: Iterator[tuple[int, list[RawCopy]]],
              prepare: Callable[[IndexDoc], Any]) -> Iterator[list[Any]]:
    """Documents built by ``prepare`` in one worker process, a chunk of clusters per
    task, a few tasks ahead, in order."""
    pending: deque[Future[list[Any]]] = deque()
    with worker_pool(1) as pool:
        while chunk := list(islice(clusters, CHUNK)):
            pending.append(pool.submit(prepare_many, prepare, chunk))
            if len(pending) >= _AHEAD:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
