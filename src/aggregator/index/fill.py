"""Filling an empty index from the whole store: store missing fields, recluster, index."""

from __future__ import annotations

import logging
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from typing import Any, cast

import orjson
from sqlalchemy import (
    Connection,
    Engine,
    Table,
    Text,
    bindparam,
    create_engine,
    func,
    insert,
    select,
    update,
)
from sqlalchemy import cast as sql_cast

from aggregator.index.clustering import KEY, RECORD, keys_of, xml_if_no_fields
from aggregator.index.documents import RawCopy, prepare_many, raw_cluster_doc
from aggregator.index.model import IndexDoc, SearchBackend
from aggregator.normalize.cluster import cluster_blocks
from aggregator.normalize.match_keys import MatchKeys, block_keys
from aggregator.normalize.stored import (
    in_order,
    keys_from_json,
    normalize_stream,
    worker_pool,
)
from aggregator.store.db import connect, reader
from aggregator.store.ingest import store_normalised
from aggregator.store.models import Member, Source

logger = logging.getLogger(__name__)
CHUNK = 1000  # rows normalised per task, and per write
POOL_FROM = 5000  # fewer rows without fields than this are normalised in this process
SAMPLE = 5000  # records read to learn the common words (index/pairs.py)
PREPARE_FROM = 20_000  # fewer records than this: documents are built in this process
_AHEAD = 4  # chunks of documents being built by each worker process
# Worker processes building documents: one on two cores, where tantivy's indexing threads
# and the clusterer need the rest (a second one gained nothing there), half the cores on
# larger machines, up to four.
DOC_WORKERS = max(1, min(4, (os.cpu_count() or 2) // 2))
_LIVE = RECORD.c.deleted.is_(False)


@dataclass(slots=True)
class SyncStats:
    """What one sync, fill or rebuild did (``changes``: records read)."""

    changes: int = 0
    documents: int = 0
    removed: int = 0
    change_seq: int = 0
    seconds: float = 0.0
    normalised: int = 0  # records whose fields were missing and were normalised now


def fill(engine: Engine, backend: SearchBackend, *, workers: int | None = None) -> SyncStats:
    """Recluster every live record and add every work to an empty ``backend``.

    Rows stored without fields (written before fields were stored) are normalised first,
    in worker processes when there are many, and their fields, match keys and block keys
    are written back, so that the XML is parsed once and never again. Clustering starts
    from the block keys the store keeps (``record_key``, written with each record): only
    records sharing a key with another are compared, so its cost follows the number of
    likely copies rather than the size of the store (see :func:`_plan`). Indexing reads
    only the stored fields. Changed clusters are written to the store in a thread while
    the documents are built; a backend that can take prepared documents (``prepare`` and
    ``add_prepared``, as tantivy's) has them built in a worker process from
    ``PREPARE_FROM`` records up (``workers=0``: never); clustering then runs in another
    process meanwhile (:func:`_fill_overlapped`).
    """
    done = SyncStats(normalised=store_missing_fields(engine, workers=workers))
    learn = getattr(backend, "learn_common", None)
    if learn is not None:  # before any document: they carry the common pairs
        learn(_sample(engine))
    prepare = getattr(backend, "prepare", None)
    with connect(reader(engine)) as conn:  # one snapshot: keys as of change_seq
        done.change_seq = int(conn.scalar(select(func.max(RECORD.c.change_seq))) or 0)
        live = int(conn.scalar(select(func.count()).select_from(RECORD).where(_LIVE)) or 0)
        if prepare is not None and workers != 0 and live >= PREPARE_FROM and _shared(engine):
            return _fill_overlapped(engine, backend, prepare, done)
        plan = _plan(conn)
    done.changes = plan.records
    sizes = Counter(plan.mapping.values())
    # The store's clusters are written while the documents are built: SQLite and
    # PostgreSQL do most of that work without the GIL. A record changed meanwhile has a
    # later change_seq, so the next sync reassigns it.
    with ThreadPoolExecutor(1, thread_name_prefix="write-clusters") as pool:
        written = pool.submit(_write_clusters, engine, plan)
        clusters = _clusters(engine, plan.mapping, sizes)
        while chunk := list(islice(clusters, CHUNK)):
            backend.add([raw_cluster_doc(cid, copies) for cid, copies in chunk], fresh=True)
            done.documents += len(chunk)
        written.result()
    return done


def _fill_overlapped(engine: Engine, backend: SearchBackend,
                     prepare: Callable[[IndexDoc], Any], done: SyncStats) -> SyncStats:
    """:func:`fill` of a large store, clustering while indexing.

    Clustering (reading a million records' match keys and comparing them) runs in a
    worker process while every record is indexed as a work of its own, with documents
    built in another worker process. Then the clusters of two or more records are
    stored, and their records' documents replaced by one document per cluster (a few
    percent of the documents, as copies are). The clusters come from the worker's own
    snapshot: a record changed meanwhile has a later change_seq than ``done``'s, so the
    next sync puts it right.
    """
    started = time.monotonic()
    with worker_pool(1) as clusterer:
        planned = clusterer.submit(_plan_at, engine.url.render_as_string(hide_password=False))
        for prepared in _prepared(_clusters(engine, {}, Counter()), prepare):
            backend.add_prepared(prepared)  # type: ignore[attr-defined]
            done.documents += len(prepared)
        logger.info("indexed %d records as works of their own in %.1fs", done.documents,
                    time.monotonic() - started)
        plan = planned.result()
    done.changes = plan.records
    logger.info("clustered: %d records in clusters of two or more, %d moved (%.1fs)",
                len(plan.mapping), len(plan.moved), time.monotonic() - started)
    with ThreadPoolExecutor(1, thread_name_prefix="write-clusters") as pool:
        written = pool.submit(_write_clusters, engine, plan)
        members: dict[int, list[int]] = {}
        for rid, cid in plan.mapping.items():
            members.setdefault(cid, []).append(rid)
        backend.delete(str(rid) for rid, cid in plan.mapping.items() if rid != cid)
        merged, named = 0, list(members)
        with connect(reader(engine)) as conn:
            for start in range(0, len(named), CHUNK):
                cids = named[start:start + CHUNK]
                docs = _merged(conn, plan.mapping, [rid for cid in cids for rid in members[cid]])
                backend.add(docs)  # replaces the document of each cluster's first record
                backend.delete(str(cid) for cid in set(cids) - {int(d.id) for d in docs})
                merged += len(docs)
        done.documents -= len(plan.mapping) - merged
        written.result()
    logger.info("merged %d clusters (%.1fs)", merged, time.monotonic() - started)
    return done


def _merged(conn: Connection, mapping: dict[int, int], ids: list[int]) -> list[IndexDoc]:
    """The documents of the clusters of records ``ids`` (each cluster as ``mapping``
    gives it), from their live rows."""
    member, source = cast(Table, Member.__table__), cast(Table, Source.__table__)
    copies: dict[int, list[RawCopy]] = {}
    for row in conn.execute(select(RECORD.c.id, member.c.slug, RECORD.c.fields,
                                   xml_if_no_fields(), RECORD.c.metadata_prefix)
                            .join(source, source.c.id == RECORD.c.source_id)
                            .join(member, member.c.id == source.c.member_id)
                            .where(RECORD.c.id.in_(sorted(ids)), _LIVE)
                            .order_by(RECORD.c.id)):
        if row.fields is not None or row.metadata_xml:
            copies.setdefault(mapping[row.id], []).append(
                (row.id, row.slug, row.fields, row.metadata_xml, row.metadata_prefix))
    return [raw_cluster_doc(cid, found) for cid, found in copies.items()]


def _shared(engine: Engine) -> bool:
    """Whether another process can open this store (not an in-memory SQLite)."""
    return engine.url.get_backend_name() != "sqlite" or engine.url.database not in (
        None, "", ":memory:")


def _plan_at(url: str) -> _Clusters:
    """:func:`_plan` in a worker process, on an engine of its own (reads only)."""
    worker = create_engine(url)
    try:
        with worker.connect() as conn:
            return _plan(conn)
    finally:
        worker.dispose()


def _sample(engine: Engine, size: int = SAMPLE) -> list[list[str]]:
    """The text values of up to ``size`` live records picked at random (the same ones
    for the same store), to learn the common words from."""
    with connect(reader(engine)) as conn:
        low, high = conn.execute(select(func.min(RECORD.c.id), func.max(RECORD.c.id))
                                 .where(_LIVE)).one()
        if low is None:
            return []
        picked = select(sql_cast(RECORD.c.fields, Text)).where(_LIVE, RECORD.c.fields.is_not(None))
        if high - low < 2 * size:
            stored = list(conn.scalars(picked))
        else:
            rng = random.Random(high)
            ids = sorted({rng.randint(low, high) for _ in range(size)})
            stored = [text for start in range(0, len(ids), CHUNK) for text in conn.scalars(
                picked.where(RECORD.c.id.in_(ids[start:start + CHUNK])))]
    out = []
    for text in stored:
        data = orjson.loads(text)
        values = [data.get(name) for name in ("title", "abstract", "publisher")]
        for name in ("other_titles", "creators", "contributors", "subjects"):
            values.extend(data.get(name) or ())
        out.append([value for value in values if isinstance(value, str) and value])
    return out


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


@dataclass(slots=True)
class _Clusters:
    """What clustering found: the cluster of every record in a cluster of two or more
    (any other live record with metadata is a cluster of its own), the clusters to
    store, and the block keys found missing from the store."""

    records: int = 0
    mapping: dict[int, int] = field(default_factory=dict)
    moved: list[tuple[int | None, int]] = field(default_factory=list)  # (cluster, record)
    new_keys: list[tuple[str, int]] = field(default_factory=list)  # (key, record)


def _plan(conn: Connection) -> _Clusters:
    """Cluster every live record from the block keys in the store.

    Only the records filed under a block key shared with another record can have a copy;
    their match keys are read and compared (:func:`cluster_blocks`). Records with match
    keys but no block key in the store (harvested before keys were stored with records,
    or titles too short for a key) have theirs computed here; any found are added to the
    store. Every other live record with metadata is a cluster of its own.
    """
    plan = _Clusters()
    current: dict[int, int | None] = {}
    has_metadata: set[int] = set()
    for rid, cluster_id, metadata in conn.execute(
            select(RECORD.c.id, RECORD.c.cluster_id,
                   (RECORD.c.fields.is_not(None) | RECORD.c.metadata_xml.is_not(None)))
            .where(_LIVE).execution_options(yield_per=20_000)):
        current[rid] = cluster_id
        if metadata:
            has_metadata.add(rid)
    plan.records = len(has_metadata)
    blocks: dict[str, list[int]] = {}
    shared = select(KEY.c.key).group_by(KEY.c.key).having(func.count() > 1)
    for key, rid in conn.execute(select(KEY.c.key, KEY.c.record_id)
                                 .where(KEY.c.key.in_(shared))
                                 .execution_options(yield_per=20_000)):
        blocks.setdefault(key, []).append(rid)
    records = _keys_by_id(conn, {rid for rids in blocks.values() for rid in rids}, len(current))
    for rid, keys in _unkeyed(conn):
        records[rid] = keys
        plan.new_keys.extend((key, rid) for key in block_keys(keys))
    if plan.new_keys:  # their blocks, with every record already filed under those keys
        wanted = sorted({key for key, _ in plan.new_keys})
        for start in range(0, len(wanted), CHUNK):
            for key, rid in conn.execute(select(KEY.c.key, KEY.c.record_id)
                                         .where(KEY.c.key.in_(wanted[start:start + CHUNK]))):
                blocks.setdefault(key, []).append(rid)
        for key, rid in plan.new_keys:
            blocks.setdefault(key, []).append(rid)
        records.update(_keys_by_id(conn, {rid for key in wanted for rid in blocks[key]}
                                   - records.keys(), len(current)))
    blocks = {key: [rid for rid in dict.fromkeys(rids) if rid in records]
              for key, rids in blocks.items()}
    clustered = cluster_blocks(records, blocks)
    sizes = Counter(clustered.values())
    plan.mapping = {rid: cid for rid, cid in clustered.items() if sizes[cid] > 1}
    for rid, was in current.items():
        cid = plan.mapping.get(rid, rid) if rid in has_metadata else None
        if cid != was:
            plan.moved.append((cid, rid))
    return plan


def _keys_by_id(conn: Connection, ids: set[int], live: int) -> dict[int, MatchKeys]:
    """The match keys of live records ``ids`` (of ``live`` in all), by id: the stored
    ones (read as text, without the rest of the row), else computed from the fields.

    When the records asked for are a large share of the store, one scan of it is
    cheaper than looking each up.
    """
    out: dict[int, MatchKeys] = {}
    missing: list[int] = []
    stored = select(RECORD.c.id, sql_cast(RECORD.c.match_keys, Text)).where(_LIVE)
    if 3 * len(ids) > live:
        rows: Iterable[Any] = (row for row in conn.execute(
            stored.execution_options(yield_per=20_000)) if row[0] in ids)
    else:
        ordered = sorted(ids)
        rows = (row for start in range(0, len(ordered), CHUNK) for row in conn.execute(
            stored.where(RECORD.c.id.in_(ordered[start:start + CHUNK]))))
    for rid, text in rows:
        data = orjson.loads(text) if text else None
        if isinstance(data, dict):
            out[rid] = keys_from_json(data)
        else:
            missing.append(rid)
    for start in range(0, len(missing), CHUNK):  # rare: rows stored without keys
        for row in conn.execute(select(RECORD.c.id, RECORD.c.match_keys,
                                       RECORD.c.metadata_prefix, xml_if_no_fields(),
                                       RECORD.c.fields)
                                .where(RECORD.c.id.in_(missing[start:start + CHUNK]))):
            keys = keys_of(row.metadata_prefix, row.metadata_xml, row.match_keys, row.fields)
            if keys is not None:
                out[row.id] = keys
    return out


def _unkeyed(conn: Connection) -> Iterator[tuple[int, MatchKeys]]:
    """Live records with metadata but no block key stored, with their match keys."""
    filed = select(KEY.c.record_id).where(KEY.c.record_id == RECORD.c.id).exists()
    rows = conn.execute(select(RECORD.c.id, RECORD.c.match_keys, RECORD.c.metadata_prefix,
                               xml_if_no_fields(), RECORD.c.fields)
                        .where(_LIVE, ~filed, RECORD.c.fields.is_not(None)
                               | RECORD.c.metadata_xml.is_not(None))
                        .execution_options(yield_per=2000))
    for row in rows:
        keys = keys_of(row.metadata_prefix, row.metadata_xml, row.match_keys, row.fields)
        if keys is not None and block_keys(keys):
            yield row.id, keys


def _write_clusters(engine: Engine, plan: _Clusters) -> None:
    """Store the block keys found missing, and change the cluster of only the records
    whose cluster changed: a rebuild of a store that was kept in sync writes few rows."""
    with connect(engine) as conn:
        _many(conn, insert(KEY), plan.new_keys)
        _many(conn, update(RECORD).where(RECORD.c.id == bindparam("rid"))
              .values(cluster_id=bindparam("cid")), plan.moved, ("cid", "rid"))
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
            if stored is None and not xml:
                continue  # no metadata: nothing to find
            copy = (rid, slugs[source_id], stored, xml, prefix)
            cid = mapping.get(rid)
            if cid is None:  # a cluster of its own
                yield rid, [copy]
                continue
            copies = waiting.setdefault(cid, [])
            copies.append(copy)
            if len(copies) == sizes[cid]:
                del waiting[cid]
                yield cid, copies
    yield from waiting.items()  # records deleted while reading: index the rest


def _prepared(clusters: Iterator[tuple[int, list[RawCopy]]],
              prepare: Callable[[IndexDoc], Any]) -> Iterator[list[Any]]:
    """Documents built by ``prepare`` in DOC_WORKERS worker processes, a chunk of clusters
    per task, a few tasks ahead, in order."""
    chunks = iter(lambda: list(islice(clusters, CHUNK)), [])
    with worker_pool(DOC_WORKERS) as pool:
        yield from in_order(pool, partial(prepare_many, prepare), chunks,
                            ahead=_AHEAD * DOC_WORKERS)
