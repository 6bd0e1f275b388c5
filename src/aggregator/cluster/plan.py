"""Clustering the whole store at once (``aggregator index rebuild``), from the block keys
the store keeps: only records sharing a key with another are compared."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Text,
    bindparam,
    create_engine,
    func,
    insert,
    select,
    update,
)
from sqlalchemy import cast as sql_cast

from aggregator.cluster.assign import KEY, RECORD, keys_of, xml_if_no_fields
from aggregator.cluster.keys import MatchKeys, block_keys
from aggregator.cluster.rule import cluster_blocks, overused, without
from aggregator.normalize.stored import keys_from_json

CHUNK = 1000
_LIVE = RECORD.c.deleted.is_(False)


@dataclass(slots=True)
class Plan:
    """What clustering found: the cluster of every record in a cluster of two or more
    (any other live record with metadata is a cluster of its own), the clusters to
    store, and the block keys found missing from the store."""

    records: int = 0
    mapping: dict[int, int] = field(default_factory=dict)
    moved: list[tuple[int | None, int]] = field(default_factory=list)  # (cluster, record)
    touched: set[int] = field(default_factory=set)  # clusters gained or lost a record
    new_keys: list[tuple[str, int]] = field(default_factory=list)  # (key, record)


def plan_all(conn: Connection) -> Plan:
    """Cluster every live record from the block keys in the store.

    Only the records filed under a block key shared with another record can have a copy;
    their match keys are read and compared (:func:`cluster_blocks`), without the DOIs
    and ISBNs their source overuses (:func:`~aggregator.cluster.rule.overused`). Records with match
    keys but no block key in the store (harvested before keys were stored with records,
    or titles too short for a key) have theirs computed here; any found are added to the
    store. Every other live record with metadata is a cluster of its own.
    """
    plan = Plan()
    current: dict[int, int | None] = {}
    source_of: dict[int, int] = {}
    has_metadata: set[int] = set()
    for rid, cluster_id, source_id, metadata in conn.execute(
            select(RECORD.c.id, RECORD.c.cluster_id, RECORD.c.source_id,
                   (RECORD.c.fields.is_not(None) | RECORD.c.metadata_xml.is_not(None)))
            .where(_LIVE).execution_options(yield_per=20_000)):
        current[rid] = cluster_id
        source_of[rid] = source_id
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
    # identifiers a source overuses stop counting for its records (a key filed for one
    # record only is not in ``blocks``: it cannot be overused)
    for rid, bad in overused((key, rid, source_of[rid]) for key, rids in blocks.items()
                             for rid in rids).items():
        records[rid] = without(records[rid], bad)
    clustered = cluster_blocks(records, blocks)
    sizes = Counter(clustered.values())
    plan.mapping = {rid: cid for rid, cid in clustered.items() if sizes[cid] > 1}
    for rid, was in current.items():
        cid = plan.mapping.get(rid, rid) if rid in has_metadata else None
        if cid != was:
            plan.moved.append((cid, rid))
            plan.touched.update(c for c in (cid, was) if c is not None)
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


def write_plan(conn: Connection, plan: Plan) -> set[int]:
    """Store the block keys found missing, and change the cluster of only the records
    whose cluster changed (a rebuild of a store kept in sync writes few rows); deleted
    records leave their clusters. Returns every cluster touched."""
    _many(conn, insert(KEY), plan.new_keys)
    _many(conn, update(RECORD).where(RECORD.c.id == bindparam("rid"))
          .values(cluster_id=bindparam("cid")), plan.moved, ("cid", "rid"))
    gone = RECORD.c.deleted.is_(True) & RECORD.c.cluster_id.is_not(None)
    touched = plan.touched | set(conn.scalars(select(RECORD.c.cluster_id).distinct()
                                              .where(gone)))
    conn.execute(update(RECORD).where(gone).values(cluster_id=None))
    return touched


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




def plan_at(url: str) -> Plan:
    """:func:`plan_all` in a worker process, on an engine of its own (reads only)."""
    worker = create_engine(url)
    try:
        with worker.connect() as conn:
            return plan_all(conn)
    finally:
        worker.dispose()
