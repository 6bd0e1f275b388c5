"""Filling an empty index from the whole store: store missing fields, recluster, index."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Connection, Engine, Table, bindparam, delete, func, insert, select, update

from aggregator.index.clustering import KEY, RECORD, keys_of, xml_if_no_fields
from aggregator.index.documents import cluster_doc
from aggregator.index.model import IndexDoc, SearchBackend
from aggregator.normalize.cluster import MatchKeys, block_keys, cluster_records
from aggregator.normalize.fields import Fields
from aggregator.normalize.stored import fields_of, keys_from_json, normalize_stream
from aggregator.store.db import connect, reader
from aggregator.store.ingest import store_normalised
from aggregator.store.models import Member, Source

logger = logging.getLogger(__name__)
CHUNK = 1000  # rows normalised per task, and per write
POOL_FROM = 5000  # fewer rows without fields than this are normalised in this process
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
    stored match keys, and indexing only the stored fields.
    """
    done = Filled(normalised=store_missing_fields(engine, workers=workers))
    with connect(engine) as conn:
        done.change_seq = int(conn.scalar(select(func.max(RECORD.c.change_seq))) or 0)
        items, current = _read_keys(conn)
        mapping = cluster_records(items)
        _write_clusters(conn, items, mapping, current)
    done.records = len(items)
    sizes = Counter(mapping.values())
    batch: list[IndexDoc] = []
    for doc in _documents(engine, mapping, sizes):
        batch.append(doc)
        if len(batch) >= CHUNK:
            backend.add(batch)
            done.documents += len(batch)
            batch = []
    backend.add(batch)
    done.documents += len(batch)
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


def _read_keys(conn: Connection) -> tuple[list[tuple[int, MatchKeys]], dict[int, int | None]]:
    """(id, match keys) of every live record with metadata, and every live record's
    current cluster."""
    items: list[tuple[int, MatchKeys]] = []
    current: dict[int, int | None] = {}
    unkeyed: list[int] = []
    rows = conn.execute(select(RECORD.c.id, RECORD.c.cluster_id, RECORD.c.match_keys,
                               RECORD.c.metadata_xml.is_not(None).label("has_xml"))
                        .where(_LIVE).execution_options(yield_per=5000))
    for rid, cluster_id, stored, has_xml in rows:
        current[rid] = cluster_id
        if isinstance(stored, dict):
            items.append((rid, keys_from_json(stored)))
        elif has_xml:
            unkeyed.append(rid)
    for start in range(0, len(unkeyed), CHUNK):  # rare: fields stored, keys not
        for row in conn.execute(select(RECORD.c.id, RECORD.c.metadata_prefix,
                                       RECORD.c.metadata_xml, RECORD.c.fields)
                                .where(RECORD.c.id.in_(unkeyed[start:start + CHUNK]))):
            keys = keys_of(row.metadata_prefix, row.metadata_xml, None, row.fields)
            if keys is not None:
                items.append((row.id, keys))
    return items, current


def _write_clusters(conn: Connection, items: Sequence[tuple[int, MatchKeys]],
                    mapping: dict[int, int], current: dict[int, int | None]) -> None:
    """Rewrite every block key; change the cluster of only the records whose cluster
    changed (a rebuild of a store that was kept in sync writes few rows)."""
    conn.execute(delete(KEY))
    rows = [{"key": bk, "record_id": rid} for rid, keys in items
            for bk in dict.fromkeys(block_keys(keys))]
    for start in range(0, len(rows), 10_000):
        conn.execute(insert(KEY), rows[start:start + 10_000])
    moved = [{"rid": rid, "cid": mapping.get(rid)} for rid, was in current.items()
             if mapping.get(rid) != was]
    stmt = (update(RECORD).where(RECORD.c.id == bindparam("rid"))
            .values(cluster_id=bindparam("cid")))
    for start in range(0, len(moved), 10_000):
        conn.execute(stmt, moved[start:start + 10_000])
    conn.execute(update(RECORD).where(RECORD.c.deleted.is_(True),
                                      RECORD.c.cluster_id.is_not(None))
                 .values(cluster_id=None))


def _documents(engine: Engine, mapping: dict[int, int],
               sizes: Counter[int]) -> Iterator[IndexDoc]:
    """One document per cluster, reading live records once in id order; a cluster's
    copies wait in memory until its last copy has been read."""
    member, source = cast(Table, Member.__table__), cast(Table, Source.__table__)
    waiting: dict[int, list[tuple[int, str, Fields]]] = {}
    with connect(reader(engine)) as conn:
        slugs = dict(conn.execute(select(source.c.id, member.c.slug)
                                  .join(member, member.c.id == source.c.member_id)).all())
        rows = conn.execute(select(RECORD.c.id, RECORD.c.source_id, RECORD.c.metadata_prefix,
                                   xml_if_no_fields(), RECORD.c.fields)
                            .where(_LIVE).order_by(RECORD.c.id)
                            .execution_options(yield_per=2000))
        for rid, source_id, prefix, xml, stored in rows:
            cid = mapping.get(rid)
            if cid is None:
                continue
            copy = (rid, slugs[source_id], fields_of(stored, xml, prefix))
            if sizes[cid] == 1:
                yield cluster_doc(cid, [copy])
                continue
            copies = waiting.setdefault(cid, [])
            copies.append(copy)
            if len(copies) == sizes[cid]:
                del waiting[cid]
                yield cluster_doc(cid, copies)
    for cid, copies in waiting.items():  # records deleted while reading: index the rest
        yield cluster_doc(cid, copies)
