"""Filling an empty index from the whole store: store missing fields, recluster, index."""

from __future__ import annotations

import logging
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from itertools import islice
from typing import Any, cast

import orjson
from sqlalchemy import (
    Connection,
    Engine,
    Table,
    Text,
    func,
    select,
)
from sqlalchemy import cast as sql_cast

from aggregator.cluster.assign import RECORD, xml_if_no_fields
from aggregator.cluster.plan import Plan, plan_all, plan_at, write_plan
from aggregator.cluster.stage import feed_head, finish_rebuild, held
from aggregator.index.documents import RawCopy, prepare_many, raw_cluster_doc
from aggregator.index.model import IndexDoc, SearchBackend
from aggregator.normalize.stored import (
    in_order,
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
    """What one sync, fill or rebuild did (``changes``: records, or clusters for a
    sync, read)."""

    changes: int = 0
    documents: int = 0
    removed: int = 0
    change_seq: int = 0  # the records' change feed, as far as the index reflects it
    cluster_seq: int = 0  # the clusters' change feed, as far as the index has applied it
    seconds: float = 0.0
    normalised: int = 0  # records whose fields were missing and were normalised now

    def meta(self) -> dict[str, int | str]:
        """The marks an index commits with its documents."""
        return {"change_seq": self.change_seq, "cluster_seq": self.cluster_seq}


def fill(engine: Engine, backend: SearchBackend, *, workers: int | None = None,
         recluster: bool = True, lease_seconds: float = 300.0) -> SyncStats:
    """Add every work to an empty ``backend``; with ``recluster``, recluster every live
    record in the store first (the clustering stage's lease is held meanwhile).

    Without ``recluster`` the index only reads the store: each live record goes in the
    document of the cluster the store gives it (:func:`_fill_from_store`).

    With it, rows stored without fields (written before fields were stored) are
    normalised first, in worker processes when there are many, and their fields, match
    keys and block keys are written back, so that the XML is parsed once and never
    again. Clustering starts from the block keys the store keeps (``record_key``, written
    with each record): only records sharing a key with another are compared, so its cost
    follows the number of likely copies rather than the size of the store (see
    :func:`~aggregator.cluster.plan.plan_all`). Indexing reads only the stored fields.
    Changed clusters are written to the store in a thread while the documents are built;
    a backend that can take prepared documents (``prepare`` and ``add_prepared``, as
    tantivy's) has them built in a worker process from ``PREPARE_FROM`` records up
    (``workers=0``: never); clustering then runs in another process meanwhile
    (:func:`_fill_overlapped`).
    """
    if not recluster:
        return _fill_from_store(engine, backend, workers=workers)
    done = SyncStats(normalised=store_missing_fields(engine, workers=workers))
    _learn_common(engine, backend)
    prepare = getattr(backend, "prepare", None)
    with held(engine, lease_seconds=lease_seconds) as owner:
        with connect(reader(engine)) as conn:  # one snapshot: keys as of change_seq
            done.change_seq = int(conn.scalar(select(func.max(RECORD.c.change_seq))) or 0)
            done.cluster_seq = feed_head(conn)
            live = int(conn.scalar(select(func.count()).select_from(RECORD).where(_LIVE)) or 0)
            if (prepare is not None and workers != 0 and live >= PREPARE_FROM
                    and _shared(engine)):
                return _fill_overlapped(engine, backend, prepare, done, owner)
            plan = plan_all(conn)
        done.changes = plan.records
        sizes = Counter(plan.mapping.values())
        # The store's clusters are written while the documents are built: SQLite and
        # PostgreSQL do most of that work without the GIL. A record changed meanwhile has
        # a later change_seq, so the clustering stage reassigns it, and the index
        # follows from ``cluster_seq``.
        with ThreadPoolExecutor(1, thread_name_prefix="write-clusters") as pool:
            written = pool.submit(_store_plan, engine, owner, plan, done.change_seq)
            clusters = _clusters(engine, plan.mapping, sizes)
            done.documents += _add_all(backend, clusters)
            written.result()
    return done


def _learn_common(engine: Engine, backend: SearchBackend) -> None:
    """Let a backend that indexes common word pairs learn the common words, before any
    document (they carry the pairs)."""
    learn = getattr(backend, "learn_common", None)
    if learn is not None:
        learn(_sample(engine))


def _add_all(backend: SearchBackend, clusters: Iterator[tuple[int, list[RawCopy]]]) -> int:
    """Add each cluster's document to a new index, a chunk at a time; returns how many."""
    added = 0
    while chunk := list(islice(clusters, CHUNK)):
        backend.add([raw_cluster_doc(cid, copies) for cid, copies in chunk], fresh=True)
        added += len(chunk)
    return added


def _store_plan(engine: Engine, owner: str, plan: Plan, upto: int) -> None:
    """Write a whole reclustering and its entries in the clusters' change feed."""
    with connect(engine) as conn:
        finish_rebuild(conn, owner, write_plan(conn, plan), upto)


def _fill_from_store(engine: Engine, backend: SearchBackend, *,
                     workers: int | None = None) -> SyncStats:
    """Index every live record as the store clusters it, reading only.

    The marks are read first: a change committed while the documents are read comes
    after them in the clusters' change feed, so the index applies it when it follows.
    """
    done = SyncStats()
    _learn_common(engine, backend)
    with connect(reader(engine)) as conn:
        done.change_seq = int(conn.scalar(select(func.max(RECORD.c.change_seq))) or 0)
        done.cluster_seq = feed_head(conn)
        mapping = _shared_clusters(conn)
        live = int(conn.scalar(select(func.count()).select_from(RECORD).where(_LIVE)) or 0)
    done.changes = live
    clusters = _clusters(engine, mapping, Counter(mapping.values()))
    prepare = getattr(backend, "prepare", None)
    if prepare is not None and workers != 0 and live >= PREPARE_FROM:
        for prepared in _prepared(clusters, prepare):
            backend.add_prepared(prepared)  # type: ignore[attr-defined]
            done.documents += len(prepared)
        return done
    done.documents += _add_all(backend, clusters)
    return done


def _shared_clusters(conn: Connection) -> dict[int, int]:
    """Record id → cluster id of the live records not in a cluster of their own (named
    after another record, or giving their name to another)."""
    named_after = select(RECORD.c.cluster_id).where(_LIVE, RECORD.c.cluster_id != RECORD.c.id)
    return dict(conn.execute(
        select(RECORD.c.id, RECORD.c.cluster_id).where(
            _LIVE, RECORD.c.cluster_id.is_not(None),
            (RECORD.c.cluster_id != RECORD.c.id) | RECORD.c.id.in_(named_after))).all())


def _fill_overlapped(engine: Engine, backend: SearchBackend,
                     prepare: Callable[[IndexDoc], Any], done: SyncStats,
                     owner: str) -> SyncStats:
    """:func:`fill` of a large store, clustering while indexing.

    Clustering (reading a million records' match keys and comparing them) runs in a
    worker process while every record is indexed as a work of its own, with documents
    built in another worker process. Then the clusters of two or more records are
    stored, and their records' documents replaced by one document per cluster (a few
    percent of the documents, as copies are). The clusters come from the worker's own
    snapshot: a record changed meanwhile has a later change_seq than ``done``'s, so the
    clustering stage puts it right and the index follows.
    """
    started = time.monotonic()
    with worker_pool(1) as clusterer:
        planned = clusterer.submit(plan_at, engine.url.render_as_string(hide_password=False))
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
        written = pool.submit(_store_plan, engine, owner, plan, done.change_seq)
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
