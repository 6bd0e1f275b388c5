"""Assigning changed records to duplicate clusters in the store, one batch at a time."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Table,
    bindparam,
    case,
    delete,
    insert,
    null,
    select,
    update,
)

from aggregator.cluster.keys import MatchKeys, block_keys, match_keys
from aggregator.cluster.rule import overused, same_work, without
from aggregator.normalize.stored import fields_of, keys_from_json, keys_to_json
from aggregator.store.models import Record, RecordKey

RECORD = cast(Table, Record.__table__)
KEY = cast(Table, RecordKey.__table__)
MAX_CANDIDATES = 200  # compared per record; blocks are selective, this bounds the rare big one
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Change:
    """A record from the change feed, as clustering needs it (``match_keys`` and
    ``fields`` as stored at ingest, ``None`` in rows from before they were)."""

    id: int
    deleted: bool
    metadata_prefix: str
    metadata_xml: bytes | None
    cluster_id: int | None
    match_keys: dict[str, Any] | None = None
    fields: dict[str, Any] | None = None


def keys_of(prefix: str, xml: bytes | None, stored_keys: object = None,
            stored_fields: object = None) -> MatchKeys | None:
    """Match keys of a record: the stored ones, else from its stored fields, else from
    its metadata normalised now; ``None`` when it has neither fields nor metadata."""
    if isinstance(stored_keys, dict):
        return keys_from_json(stored_keys)
    if stored_fields is None and not xml:
        return None
    return match_keys(fields_of(stored_fields, xml, prefix))


_SET_KEYS = (update(RECORD).where(RECORD.c.id == bindparam("rid"))
             .values(match_keys=bindparam("mk")))


def assign(conn: Connection, changes: Sequence[Change],
           known: dict[int, MatchKeys] | None = None) -> set[int]:
    """Re-cluster changed records against the store; return every cluster id touched.

    Each changed record first leaves its cluster (which keeps the smallest id of the
    records left in it), then joins the clusters of the candidates it matches (sharing a
    block key and passing ``same_work``), merging them when it matches several. A cluster
    is named after its smallest record id. A record whose departure would split a cluster
    in two (it was the only link between them) leaves the rest together until the next
    rebuild. Candidates of the whole batch are read in one query per chunk of keys.

    Match keys and block keys are written with each record when it is stored (see
    ``store.ingest``); only rows stored without them (older ones) get them here.
    ``known`` caches the candidates' match keys between batches (decoding them is most
    of the work): it is read and filled; the batch's own records are never taken from it.
    """
    touched: set[int] = set()
    computed = {c.id for c in changes if not isinstance(c.match_keys, dict)}
    stale = [c.id for c in changes if c.deleted or c.id in computed]
    for start in range(0, len(stale), _CHUNK):
        conn.execute(delete(KEY).where(KEY.c.record_id.in_(stale[start:start + _CHUNK])))
    alone = _alone(conn, changes)
    gone = [c.id for c in changes if c.id in alone and c.deleted]
    for start in range(0, len(gone), _CHUNK):
        conn.execute(update(RECORD).where(RECORD.c.id.in_(gone[start:start + _CHUNK]))
                     .values(cluster_id=None))
    for change in changes:
        touched |= {change.id} if change.id in alone else _leave(conn, change)
    batch_keys = {c.id: k for c in changes if not c.deleted
                  for k in [keys_of(c.metadata_prefix, c.metadata_xml, c.match_keys, c.fields)]
                  if k is not None}
    blocks = {rid: tuple(dict.fromkeys(block_keys(k))) for rid, k in batch_keys.items()}
    filed = _filed(conn, sorted(set(blocks) - computed))
    rows = [{"key": bk, "record_id": rid} for rid, keys in blocks.items() if rid not in filed
            for bk in keys]
    if rows:
        conn.execute(insert(KEY), rows)
    keys_now = [{"rid": rid, "mk": keys_to_json(batch_keys[rid])}
                for rid in sorted(computed & batch_keys.keys())]
    if keys_now:
        conn.execute(_SET_KEYS, keys_now)
    pool = _Candidates(conn, {bk for keys in blocks.values() for bk in keys}, batch_keys,
                       {} if known is None else known)
    for rid in batch_keys:
        _join(rid, pool.keys[rid], pool.near(rid, blocks[rid]), pool)
    return touched | _write(conn, pool, batch_keys)


class _Candidates:
    """Every live record sharing a block key with the batch, loaded once, with the
    cluster each currently belongs to (kept current as the batch merges clusters), and
    its match keys without the identifiers its source overuses (``rule.overused``: the
    batch's records are filed already, so the counts include them)."""

    def __init__(self, conn: Connection, keys: set[str],
                 batch_keys: dict[int, MatchKeys], known: dict[int, MatchKeys]) -> None:
        self.by_key: dict[str, list[int]] = {}
        self.keys: dict[int, MatchKeys] = dict(batch_keys)
        self.cluster: dict[int, int] = {}
        self.renames: dict[int, int] = {}
        ordered = sorted(keys)
        filed: list[tuple[str, int, int]] = []
        for start in range(0, len(ordered), _CHUNK):
            for key, rid, cluster_id, source_id in conn.execute(
                    select(KEY.c.key, RECORD.c.id, RECORD.c.cluster_id, RECORD.c.source_id)
                    .join(RECORD, KEY.c.record_id == RECORD.c.id)
                    .where(KEY.c.key.in_(ordered[start:start + _CHUNK]),
                           RECORD.c.deleted.is_(False))):
                self.by_key.setdefault(key, []).append(rid)
                self.cluster.setdefault(rid, cluster_id if cluster_id is not None else rid)
                filed.append((key, rid, source_id))
        missing = sorted(rid for rid in self.cluster
                         if rid not in self.keys and rid not in known)
        for start in range(0, len(missing), _CHUNK):
            for rid, stored in conn.execute(
                    select(RECORD.c.id, RECORD.c.match_keys)
                    .where(RECORD.c.id.in_(missing[start:start + _CHUNK]))):
                if stored:
                    known[rid] = keys_from_json(stored)
        for rid in self.cluster:
            if rid not in self.keys and rid in known:
                self.keys[rid] = known[rid]
        for rid, bad in overused(filed).items():
            if rid in self.keys:
                self.keys[rid] = without(self.keys[rid], bad)

    def near(self, rid: int, keys: Sequence[str]) -> list[int]:
        """Up to MAX_CANDIDATES other records sharing one of ``keys``, those sharing the
        most keys first (in a big block, the likeliest copies are compared first)."""
        shared = Counter(other for key in keys for other in self.by_key.get(key, ())
                         if other != rid)
        return [other for other, _ in shared.most_common(MAX_CANDIDATES)]

    def rename(self, old: int, target: int) -> None:
        """Cluster ``old`` becomes part of ``target`` (applied to the store by _write)."""
        for rid, cluster in self.cluster.items():
            if cluster == old:
                self.cluster[rid] = target
        for source, dest in self.renames.items():
            if dest == old:
                self.renames[source] = target
        self.renames[old] = target


def _filed(conn: Connection, ids: list[int]) -> set[int]:
    """Which of ``ids`` have block keys in the store already."""
    out: set[int] = set()
    for start in range(0, len(ids), _CHUNK):
        out.update(conn.scalars(select(KEY.c.record_id).distinct()
                                .where(KEY.c.record_id.in_(ids[start:start + _CHUNK]))))
    return out


def _alone(conn: Connection, changes: Sequence[Change]) -> set[int]:
    """The changed records that are a cluster of their own (as every new record is,
    see ``store.ingest``): they leave it without a write, and the rest need no lookup."""
    own = sorted(c.id for c in changes if c.cluster_id == c.id)
    shared: set[int] = set()
    for start in range(0, len(own), _CHUNK):
        shared.update(conn.scalars(
            select(RECORD.c.cluster_id).distinct()
            .where(RECORD.c.cluster_id.in_(own[start:start + _CHUNK]),
                   RECORD.c.id != RECORD.c.cluster_id)))
    return set(own) - shared


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


def _join(rid: int, keys: MatchKeys, near: list[int], pool: _Candidates) -> None:
    """Put ``rid`` in the smallest-named cluster among those it matches, merging them."""
    clusters = {rid}
    for other in near:
        other_keys = pool.keys.get(other)
        if other_keys is not None and same_work(keys, other_keys):
            clusters.add(pool.cluster.get(other, other))
    target = min(clusters)
    for old in clusters - {target}:
        pool.rename(old, target)
    pool.cluster[rid] = target


def _write(conn: Connection, pool: _Candidates, batch_keys: dict[int, MatchKeys]) -> set[int]:
    """Store the batch's clusters and the merges it caused; return the clusters touched."""
    for old, target in pool.renames.items():
        conn.execute(update(RECORD).where(RECORD.c.cluster_id == old)
                     .values(cluster_id=target))
    final = {rid: pool.cluster[rid] for rid in batch_keys}
    if final:
        conn.execute(update(RECORD).where(RECORD.c.id == bindparam("rid"))
                     .values(cluster_id=bindparam("cid")),
                     [{"rid": rid, "cid": cid} for rid, cid in final.items()])
    return set(final.values()) | set(pool.renames) | set(pool.renames.values())


def xml_if_no_fields() -> Any:
    """``metadata_xml`` where ``fields`` is NULL, else NULL (saves reading the XML)."""
    return case((RECORD.c.fields.is_(None), RECORD.c.metadata_xml),
                else_=null()).label("metadata_xml")
