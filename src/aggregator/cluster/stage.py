"""Clustering as a store-side stage: one process at a time follows the records' change
feed, assigns the changed records to clusters and writes the clusters' change feed.

The stage runs after a source's pages are stored (:func:`aggregator.pipeline.sync_source`
calls :func:`catch_up`), under a lease in the ``stage`` table: a process that finds the
lease held leaves the work to the holder, which looks for more after giving the lease
back, so nothing committed is left unclustered. Each batch (records after ``done_seq``,
in ``change_seq`` order) is one transaction: the clusters it changes, their entries in
``cluster_change`` and the new ``done_seq`` commit together, so a crash repeats the
batch and nothing else. Search indexes only read: they follow ``cluster_change``.

The lease holder alone writes ``cluster_change``, so its ``seq`` values commit in
order; ``done_seq`` never passes the change counter's committed value, so a record
committed later (with a higher ``change_seq``) is never skipped.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Collection, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import cast

from sqlalchemy import Connection, Engine, Table, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from aggregator.cluster.assign import RECORD, Change, assign
from aggregator.cluster.keys import MatchKeys
from aggregator.cluster.plan import plan_all, write_plan
from aggregator.config import Settings
from aggregator.errors import StoreError
from aggregator.normalize.stored import worker_pool
from aggregator.store.db import connect, make_engine, reader
from aggregator.store.models import ChangeCounter, ClusterChange, Stage, utcnow
from aggregator.store.runs import lease_owner_id

logger = logging.getLogger(__name__)
NAME = "cluster"
# Changes clustered per transaction. SQLite has one writer: a batch there holds every
# harvest's page writes back while it runs, so it is kept short.
BATCH = 1000
SQLITE_BATCH = 100
# A backlog of at least this many changes, and a fortieth of the live records or more
# (a first harvest, a large member joining), is clustered by reclustering the whole
# store at once (cost ∝ the store, some 40 µs a record) rather than batch by batch
# (cost ∝ the changes and the size of their blocks, up to 2 ms a record).
BULK_FROM = 1000
BULK_SHARE = 40
_STAGE = cast(Table, Stage.__table__)
_LOG = cast(Table, ClusterChange.__table__)
_COUNTER = cast(Table, ChangeCounter.__table__)
_CHUNK = 500
_HERE = _STAGE.c.name == NAME


@dataclass(slots=True)
class StageStats:
    """What one :func:`catch_up` did."""

    records: int = 0  # changed records read
    clusters: int = 0  # clusters written to the clusters' change feed
    busy: bool = False  # another process held the stage: it does the work


def take(engine: Engine, owner: str, lease_seconds: float) -> bool:
    """Take the stage's lease for ``owner`` unless another live holder has it."""
    now = utcnow()
    until = now + timedelta(seconds=lease_seconds)
    with connect(engine) as conn:
        if conn.execute(update(_STAGE).where(_HERE, or_(
                _STAGE.c.owner.is_(None), _STAGE.c.until < now, _STAGE.c.owner == owner))
                .values(owner=owner, until=until)).rowcount == 1:
            return True
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        added = conn.execute(dialect.insert(_STAGE)
                             .values(name=NAME, done_seq=0, owner=owner, until=until)
                             .on_conflict_do_nothing(index_elements=["name"])
                             .returning(_STAGE.c.name))
        return added.first() is not None


def give_back(engine: Engine, owner: str) -> None:
    """Release the lease if ``owner`` still holds it."""
    with connect(engine) as conn:
        conn.execute(update(_STAGE).where(_HERE, _STAGE.c.owner == owner)
                     .values(owner=None, until=None))


def _renew(conn: Connection, owner: str, lease_seconds: float) -> int | None:
    """Extend ``owner``'s lease inside ``conn``'s transaction; return ``done_seq``, or
    ``None`` when the lease was lost (expired and taken by another process)."""
    row = conn.execute(update(_STAGE).where(_HERE, _STAGE.c.owner == owner)
                       .values(until=utcnow() + timedelta(seconds=lease_seconds))
                       .returning(_STAGE.c.done_seq)).first()
    return None if row is None else int(row[0])


def behind(engine: Engine) -> bool:
    """Whether changes were committed after the last one the stage clustered."""
    with connect(reader(engine)) as conn:
        done = conn.scalar(select(_STAGE.c.done_seq).where(_HERE)) or 0
        head = conn.scalar(select(_COUNTER.c.value).where(_COUNTER.c.id == 1)) or 0
    return int(head) > int(done)


def progress(engine: Engine) -> dict[str, object]:
    """The stage as ``aggregator status`` shows it."""
    with connect(reader(engine)) as conn:
        row = conn.execute(select(_STAGE.c.done_seq, _STAGE.c.owner, _STAGE.c.until)
                           .where(_HERE)).first()
        head = int(conn.scalar(select(_COUNTER.c.value).where(_COUNTER.c.id == 1)) or 0)
        waiting = int(conn.scalar(select(func.count()).select_from(RECORD).where(
            RECORD.c.change_seq > (row.done_seq if row else 0))) or 0)
    return {"done_seq": int(row.done_seq) if row else 0, "change_seq": head,
            "records_waiting": waiting, "holder": row.owner if row else None}


def catch_up(engine: Engine, *, lease_seconds: float = 300.0,
             batch: int | None = None) -> StageStats:
    """Cluster every record changed since the stage last ran, unless another process
    is doing it (``busy`` in the result).

    After giving the lease back it looks once more: a change committed while it held
    the lease, by a process that then found the lease taken, is clustered here.
    """
    stats = StageStats()
    owner = lease_owner_id()
    if batch is None:
        batch = SQLITE_BATCH if engine.dialect.name == "sqlite" else BATCH
    known: dict[int, MatchKeys] = {}  # candidates' match keys, decoded once per call
    while True:
        if not take(engine, owner, lease_seconds):
            stats.busy = True
            return stats
        try:
            for count in itertools.count():
                # the backlog is weighed again as the round goes on: harvests keep adding
                if count % 10 == 0 and _bulk_due(engine):
                    _bulk(engine, owner, lease_seconds, stats)
                began = time.monotonic()
                if not _step(engine, owner, lease_seconds, batch, stats, known):
                    break
                if engine.dialect.name == "sqlite":
                    # SQLite's waiting writers poll: batch after batch would starve them
                    # (harvests failed with "database is locked"); at most half the time
                    time.sleep(min(1.0, time.monotonic() - began))
        finally:
            give_back(engine, owner)
        if not behind(engine):
            return stats


def _bulk_due(engine: Engine) -> bool:
    """Whether the changes waiting are many enough to recluster the store at once."""
    with connect(reader(engine)) as conn:
        done = clustered_upto(conn)
        waiting = int(conn.scalar(select(func.count()).select_from(RECORD)
                                  .where(RECORD.c.change_seq > done)) or 0)
        if waiting < BULK_FROM:
            return False
        live = int(conn.scalar(select(func.count()).select_from(RECORD)
                               .where(RECORD.c.deleted.is_(False))) or 0)
    return waiting * BULK_SHARE >= live


def _bulk(engine: Engine, owner: str, lease_seconds: float, stats: StageStats) -> None:
    """Recluster the whole store (planned from a read snapshot, written in one short
    transaction) and log every cluster that changed or holds a changed record (see
    :mod:`aggregator.cluster.plan`)."""
    started = time.monotonic()
    # The plan is made from a read snapshot, so harvests go on writing meanwhile (SQLite
    # has one writer); a record changed after it has a later change_seq than ``head``
    # and is assigned by the next round.
    with connect(reader(engine)) as conn:
        done = clustered_upto(conn)
        head = int(conn.scalar(select(_COUNTER.c.value).where(_COUNTER.c.id == 1)) or 0)
        plan = plan_all(conn)
    with connect(engine) as conn:
        if _renew(conn, owner, lease_seconds) is None:
            return
        touched = write_plan(conn, plan)
        changed = (RECORD.c.change_seq > done) & (RECORD.c.change_seq <= head)
        touched.update(conn.scalars(select(RECORD.c.cluster_id).distinct().where(
            changed, RECORD.c.deleted.is_(False), RECORD.c.cluster_id.is_not(None))))
        gone = list(conn.scalars(select(RECORD.c.id).where(changed, RECORD.c.deleted)))
        touched.update(gone)  # a deleted record's own document, if it had one
        records = int(conn.scalar(select(func.count()).select_from(RECORD).where(changed))
                      or 0)
        log_changes(conn, touched)
        conn.execute(update(_STAGE).where(_HERE).values(done_seq=head))
    stats.records += records
    stats.clusters += len(touched)
    logger.info("clustered %d changed records by reclustering the store (%.1fs)", records,
                time.monotonic() - started)


def _step(engine: Engine, owner: str, lease_seconds: float, batch: int,
          stats: StageStats, known: dict[int, MatchKeys]) -> bool:
    """Cluster one batch of changes; False when there is none left (or the lease was
    lost)."""
    with connect(engine) as conn:
        done = _renew(conn, owner, lease_seconds)
        if done is None:
            logger.warning("the clustering lease was taken over; stopping here")
            return False
        head = int(conn.scalar(select(_COUNTER.c.value).where(_COUNTER.c.id == 1)) or 0)
        rows = conn.execute(
            select(RECORD.c.id, RECORD.c.deleted, RECORD.c.metadata_prefix,
                   RECORD.c.metadata_xml, RECORD.c.cluster_id, RECORD.c.change_seq,
                   RECORD.c.match_keys, RECORD.c.fields)
            .where(RECORD.c.change_seq > done, RECORD.c.change_seq <= head)
            .order_by(RECORD.c.change_seq).limit(batch)).all()
        if rows:
            touched = assign(conn, [Change(r.id, r.deleted, r.metadata_prefix, r.metadata_xml,
                                           r.cluster_id, r.match_keys, r.fields)
                                    for r in rows], known)
            for r in rows:  # changed: their keys are read afresh when next needed
                known.pop(r.id, None)
            log_changes(conn, touched)
            stats.records += len(rows)
            stats.clusters += len(touched)
        # Every change up to the counter's value read above had committed then: with
        # fewer rows than a batch, the stage has seen them all.
        upto = int(rows[-1].change_seq) if len(rows) == batch else head
        if upto != done:
            conn.execute(update(_STAGE).where(_HERE).values(done_seq=upto))
    return len(rows) == batch


class StageThread:
    """The clustering stage beside a process that harvests many sources at once (a
    scheduler): poked after each run that changed records, it runs :func:`catch_up` at
    most once every ``pause`` seconds, so the changes of many runs are clustered
    together and no harvest thread waits for it. Given the settings, and a store other
    processes can open, the work is done in a worker process of its own, off this
    process's interpreter lock (the harvest threads need it)."""

    def __init__(self, engine: Engine, *, lease_seconds: float = 300.0,
                 pause: float = 2.0, settings: Settings | None = None) -> None:
        self._engine, self._lease, self._pause = engine, lease_seconds, pause
        self._settings = None
        if settings is not None and (engine.url.get_backend_name() != "sqlite"
                                     or engine.url.database not in (None, "", ":memory:")):
            self._settings = replace(settings, database_url=engine.url.render_as_string(
                hide_password=False))
        self._worker: ProcessPoolExecutor | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="clustering", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        """Records were stored: cluster them soon."""
        self._wake.set()

    def stop(self) -> None:
        """Stop; changes poked since the last round are clustered first."""
        self._stopping.set()
        self._thread.join()
        if self._wake.is_set():
            self._round()
        if self._worker is not None:
            self._worker.shutdown()
            self._worker = None

    def _loop(self) -> None:
        while not self._stopping.is_set():
            if not self._wake.wait(0.2):
                continue
            if self._stopping.is_set():
                return
            self._wake.clear()
            self._round()
            self._stopping.wait(self._pause)

    def _round(self) -> None:
        started = time.monotonic()
        try:
            if self._settings is None:
                done = catch_up(self._engine, lease_seconds=self._lease)
            else:
                if self._worker is None:
                    self._worker = worker_pool(1)
                done = self._worker.submit(_catch_up_in_worker, self._settings,
                                           self._lease).result()
        except Exception:  # the next poke tries again
            logger.exception("clustering the changed records failed")
            return
        if done.records:
            logger.info("clustered %d changed records (%d clusters changed) in %.1fs",
                        done.records, done.clusters, time.monotonic() - started)


_WORKER_ENGINE: list[Engine] = []


def _catch_up_in_worker(settings: Settings, lease_seconds: float) -> StageStats:
    """:func:`catch_up` in a worker process, on an engine it keeps between rounds."""
    if not _WORKER_ENGINE:
        _WORKER_ENGINE.append(make_engine(settings))
    return catch_up(_WORKER_ENGINE[0], lease_seconds=lease_seconds)


def log_changes(conn: Connection, cluster_ids: Collection[int]) -> None:
    """Append the clusters to the clusters' change feed, dropping their older entries."""
    ids = sorted(set(cluster_ids))
    if not ids:
        return
    last = int(conn.scalar(select(func.max(_LOG.c.seq))) or 0)
    conn.execute(insert(_LOG), [{"cluster_id": cid} for cid in ids])
    for start in range(0, len(ids), _CHUNK):
        conn.execute(delete(_LOG).where(_LOG.c.cluster_id.in_(ids[start:start + _CHUNK]),
                                        _LOG.c.seq <= last))


def clustered_upto(conn: Connection) -> int:
    """The last ``change_seq`` the stage has clustered (0: none yet)."""
    return int(conn.scalar(select(_STAGE.c.done_seq).where(_HERE)) or 0)


def feed_head(conn: Connection) -> int:
    """The last ``seq`` of the clusters' change feed (0: empty)."""
    return int(conn.scalar(select(func.max(_LOG.c.seq))) or 0)


@contextmanager
def held(engine: Engine, *, lease_seconds: float = 300.0,
         wait: float | None = None) -> Iterator[str]:
    """Hold the stage's lease for a long task (a whole reclustering), renewing it in a
    thread; yields the owner. Waits up to ``wait`` seconds (default: one lease) for the
    current holder to finish.

    Raises:
        StoreError: another process kept the lease past the wait.
    """
    owner = lease_owner_id()
    deadline = time.monotonic() + (lease_seconds if wait is None else wait)
    while not take(engine, owner, lease_seconds):
        if time.monotonic() > deadline:
            raise StoreError("another process is clustering the store; try again when it "
                             "has finished (see `aggregator status`)")
        time.sleep(0.2)
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(lease_seconds / 3):
            take(engine, owner, lease_seconds)

    beat = threading.Thread(target=heartbeat, name="cluster-lease", daemon=True)
    beat.start()
    try:
        yield owner
    finally:
        stop.set()
        beat.join()
        give_back(engine, owner)


def finish_rebuild(conn: Connection, owner: str, touched: Collection[int], upto: int) -> None:
    """After a whole reclustering written in ``conn``: log the clusters it changed and
    mark every change up to ``upto`` as clustered (inside the holder's transaction)."""
    if conn.execute(update(_STAGE).where(_HERE, _STAGE.c.owner == owner)
                    .values(done_seq=upto)).rowcount != 1:
        raise StoreError("the clustering lease was lost during the rebuild")
    log_changes(conn, touched)
