"""Duplicate clusters in the store: assign changed records, or recluster everything at once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Table, and_, bindparam, delete, insert, select, update

from aggregator.normalize import normalize
from aggregator.normalize.cluster import (
    MatchKeys,
    block_keys,
    cluster_records,
    match_keys,
    same_work,
)
from aggregator.store.models import Record, RecordKey

RECORD = cast(Table, Record.__table__)
KEY = cast(Table, RecordKey.__table__)
MAX_CANDIDATES = 200  # compared per record; blocks are selective, this bounds the rare big one
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Change:
    """A record from the change feed, as clustering needs it."""

    id: int
    deleted: bool
    metadata_prefix: str
    metadata_xml: bytes | None
    cluster_id: int | None


def keys_of(prefix: str, xml: bytes | None) -> MatchKeys | None:
    """Match keys of a record's metadata, or ``None`` when it has none."""
    if not xml:
        return None
    return match_keys(normalize(xml, prefix))


def assign(conn: Connection, changes: Sequence[Change]) -> set[int]:
    """Re-cluster changed records against the store; return every cluster id touched.

    Each changed record first leaves its cluster (which keeps the smallest id of the
    records left in it), then joins the clusters of the candidates it matches (sharing a
    block key and passing ``same_work``), merging them when it matches several. A cluster
    is named after its smallest record id. A record whose departure would split a cluster
    in two (it was the only link between them) leaves the rest together until the next
    rebuild.
    """
    touched: set[int] = set()
    ids = [c.id for c in changes]
    for start in range(0, len(ids), _CHUNK):
        conn.execute(delete(KEY).where(KEY.c.record_id.in_(ids[start:start + _CHUNK])))
    for change in changes:
        touched |= _leave(conn, change)
    batch_keys = {c.id: k for c in changes if not c.deleted
                  for k in [keys_of(c.metadata_prefix, c.metadata_xml)] if k is not None}
    rows = [{"key": bk, "record_id": rid} for rid, k in batch_keys.items()
            for bk in dict.fromkeys(block_keys(k))]
    if rows:
        conn.execute(insert(KEY), rows)
    for rid, keys in batch_keys.items():
        touched |= _join(conn, rid, keys, batch_keys)
    return touched


def _leave(conn: Connection, change: Change) -> set[int]:
    old = change.cluster_id
    if old is None:
        return set()
    conn.execute(update(RECORD).where(RECORD.c.id == change.id).values(cluster_id=None))
    others = list(conn.scalars(select(RECORD.c.id).where(RECORD.c.cluster_id == old)))
    if old == change.id and others:  # the cluster was named after this record: rename it
        renamed = min(others)
        conn.execute(update(RECORD).where(RECORD.c.cluster_id == old)
                     .values(cluster_id=renamed))
        return {old, renamed}
    return {old}


def _join(conn: Connection, rid: int, keys: MatchKeys,
          batch_keys: dict[int, MatchKeys]) -> set[int]:
    candidates = conn.execute(
        select(RECORD.c.id, RECORD.c.cluster_id, RECORD.c.metadata_prefix,
               RECORD.c.metadata_xml)
        .join(KEY, KEY.c.record_id == RECORD.c.id)
        .where(KEY.c.key.in_(block_keys(keys)), RECORD.c.id != rid,
               RECORD.c.deleted.is_(False))
        .distinct().limit(MAX_CANDIDATES)).all()
    clusters = {rid}
    for cand in candidates:
        other = batch_keys.get(cand.id) or keys_of(cand.metadata_prefix, cand.metadata_xml)
        if other is not None and same_work(keys, other):
            clusters.add(cand.cluster_id if cand.cluster_id is not None else cand.id)
    target = min(clusters)
    merged = [c for c in clusters if c != target]
    if merged:
        conn.execute(update(RECORD).where(RECORD.c.cluster_id.in_(merged))
                     .values(cluster_id=target))
    # a candidate of this batch not yet clustered carries its own id as its cluster
    conn.execute(update(RECORD).where(RECORD.c.id.in_(clusters | {rid}),
                                      RECORD.c.cluster_id.is_(None))
                 .values(cluster_id=target))
    conn.execute(update(RECORD).where(RECORD.c.id == rid).values(cluster_id=target))
    return clusters | {target}


def recluster_all(conn: Connection,
                  live: Iterable[tuple[int, str, bytes | None]]) -> tuple[int, int]:
    """Cluster every live record from scratch (for a rebuild).

    Returns:
        (records clustered, clusters).

    Args:
        conn: a connection in the caller's transaction.
        live: (record id, metadata prefix, metadata XML) of every live record; it is
            read to the end before anything is written.
    """
    items: list[tuple[int, MatchKeys]] = []
    for rid, prefix, xml in live:
        keys = keys_of(prefix, xml)
        if keys is not None:
            items.append((rid, keys))
    mapping = cluster_records(items)
    conn.execute(delete(KEY))
    conn.execute(update(RECORD).values(cluster_id=None))
    key_rows = [{"key": bk, "record_id": rid} for rid, keys in items
                for bk in dict.fromkeys(block_keys(keys))]
    for start in range(0, len(key_rows), 5000):
        conn.execute(insert(KEY), key_rows[start:start + 5000])
    params: list[dict[str, Any]] = [{"rid": rid, "cid": cid} for rid, cid in mapping.items()]
    stmt = (update(RECORD).where(RECORD.c.id == bindparam("rid"))
            .values(cluster_id=bindparam("cid")))
    for start in range(0, len(params), 5000):
        conn.execute(stmt, params[start:start + 5000])
    return len(items), len(set(mapping.values()))


def live_in(conn: Connection, cluster_ids: Iterable[int]) -> list[Any]:
    """Live records of the given clusters, with their member's slug, ordered by cluster."""
    from aggregator.store.models import Member, Source

    member, source = cast(Table, Member.__table__), cast(Table, Source.__table__)
    ids = sorted(set(cluster_ids))
    out: list[Any] = []
    for start in range(0, len(ids), _CHUNK):
        out.extend(conn.execute(
            select(RECORD.c.id, RECORD.c.cluster_id, RECORD.c.metadata_prefix,
                   RECORD.c.metadata_xml, member.c.slug)
            .join(source, source.c.id == RECORD.c.source_id)
            .join(member, member.c.id == source.c.member_id)
            .where(and_(RECORD.c.cluster_id.in_(ids[start:start + _CHUNK]),
                        RECORD.c.deleted.is_(False)))
            .order_by(RECORD.c.cluster_id, RECORD.c.id)).all())
    return out
