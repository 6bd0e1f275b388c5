"""The index follows the store's change feed; rebuilds go to a new folder that is swapped in."""

from __future__ import annotations

import logging
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine, Table, func, select

from aggregator.cluster.stage import clustered_upto, progress
from aggregator.config import Settings
from aggregator.errors import SearchError
from aggregator.index.backends import open_backend
from aggregator.index.documents import docs_from_rows
from aggregator.index.fill import SyncStats, fill
from aggregator.index.model import SearchBackend
from aggregator.index.rows import live_in
from aggregator.store.db import connect, reader
from aggregator.store.ingest import forget_normalised
from aggregator.store.models import ClusterChange

logger = logging.getLogger(__name__)
BATCH = 1000
_LOG = cast(Table, ClusterChange.__table__)
CURRENT = "CURRENT"  # names the live index folder; replaced atomically by a rebuild


def _base(settings: Settings) -> Path:
    return settings.resolved_index_dir / settings.search_backend


def current_path(settings: Settings) -> Path:
    """The folder of the live index (named in the ``CURRENT`` file)."""
    base = _base(settings)
    pointer = base / CURRENT
    name = pointer.read_text().strip() if pointer.exists() else "initial"
    return base / name


def open_index(settings: Settings, *, create: bool = True) -> SearchBackend:
    """Open the live index of the configured backend (creating an empty one if allowed)."""
    path = current_path(settings)
    if not path.exists() and not create:
        raise SearchError(f"there is no search index at {path}: run `aggregator index rebuild`")
    path.mkdir(parents=True, exist_ok=True)
    return open_backend(settings.search_backend, path, create=create)


def sync_index(engine: Engine, backend: SearchBackend, *, batch: int = BATCH) -> SyncStats:
    """Bring the index up to date with the store's clusters, reading only.

    The index follows the clusters' change feed (``cluster_change``, written by the
    clustering stage, :mod:`aggregator.cluster.stage`) from the last ``seq`` it applied:
    batch by batch, it replaces the document of each cluster named there with one built
    from the cluster's live records (removing it when none is left) and commits with the
    new mark. A crash between the store's commit and the index's repeats the batch next
    time, with the same result. A new, empty index is filled from the whole store.
    """
    started = time.monotonic()
    meta = backend.meta()
    if "cluster_seq" not in meta and backend.count() == 0:
        stats = fill_index(engine, backend, recluster=False)  # a new index
        stats.seconds = time.monotonic() - started
        return stats
    stats = SyncStats(change_seq=int(meta.get("change_seq", 0)),
                      cluster_seq=int(meta.get("cluster_seq", 0)))
    while True:
        with connect(reader(engine)) as conn:
            head = clustered_upto(conn)  # read first: the feed below covers it
            rows = conn.execute(select(_LOG.c.seq, _LOG.c.cluster_id)
                                .where(_LOG.c.seq > stats.cluster_seq)
                                .order_by(_LOG.c.seq).limit(batch)).all()
            if not rows:
                break
            touched = {int(r.cluster_id) for r in rows}
            live = live_in(conn, touched)
        docs = list(docs_from_rows(live))
        gone = touched - {int(d.id) for d in docs}
        backend.add(docs)
        backend.delete(str(c) for c in gone)
        stats.cluster_seq = int(rows[-1].seq)
        stats.change_seq = max(stats.change_seq, head)
        backend.commit(stats.meta())
        stats.changes += len(rows)
        stats.documents += len(docs)
        stats.removed += len(gone)
    stats.seconds = time.monotonic() - started
    return stats


def rebuild_index(engine: Engine, settings: Settings, *,
                  renormalise: bool = False) -> SyncStats:
    """Recluster every live record and build a fresh index beside the live one, then
    swap it in; searches keep using the old index until the swap.

    With ``renormalise``, every record's stored fields and keys are first forgotten, so
    that the rebuild normalises them again from the XML kept as harvested (after an
    upgrade of the normaliser); nothing harvested is lost if it is interrupted, as rows
    without fields are normalised by the next rebuild or sync.
    """
    started = time.monotonic()
    if renormalise:
        with connect(engine) as conn:
            forget_normalised(conn)
    base = _base(settings)
    base.mkdir(parents=True, exist_ok=True)
    name = f"build-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    backend = open_backend(settings.search_backend, base / name, create=True)
    try:
        stats = fill_index(engine, backend)
    finally:
        backend.close()
    _swap(base, name)
    stats.seconds = time.monotonic() - started
    return stats


def fill_index(engine: Engine, backend: SearchBackend, *,
               workers: int | None = None, recluster: bool = True) -> SyncStats:
    """Add every work to an empty ``backend``, reclustering the store first unless
    ``recluster`` is false (see :func:`aggregator.index.fill.fill`); ``workers``
    processes normalise the records stored without fields (default: one per CPU)."""
    done = fill(engine, backend, workers=workers, recluster=recluster)
    backend.commit(done.meta())
    return done


def _swap(base: Path, name: str) -> None:
    """Point CURRENT at the new folder; keep the one it replaces (processes that still
    have it open go on answering from it) and delete any older one."""
    pointer = base / CURRENT
    old = pointer.read_text().strip() if pointer.exists() else "initial"
    tmp = base / f".{CURRENT}.tmp"
    tmp.write_text(name + "\n")
    os.replace(tmp, pointer)
    for folder in base.iterdir():
        if folder.is_dir() and folder.name not in (name, old):
            shutil.rmtree(folder, ignore_errors=True)


def index_status(engine: Engine, settings: Settings) -> dict[str, Any]:
    """Documents, the last cluster change applied and the lag behind the store."""
    backend = open_index(settings, create=False)
    try:
        meta = backend.meta()
        documents = backend.count()
    finally:
        backend.close()
    applied = int(meta.get("cluster_seq", 0))
    with connect(reader(engine)) as conn:
        behind = int(conn.scalar(select(func.count()).select_from(_LOG)
                                 .where(_LOG.c.seq > applied)) or 0)
    stage = progress(engine)
    return {"backend": settings.search_backend, "path": str(current_path(settings)),
            "documents": documents, "cluster_seq_applied": applied,
            "clusters_behind": behind, "change_seq_reflected": int(meta.get("change_seq", 0)),
            "store_change_seq": stage["change_seq"],
            "records_waiting_for_clustering": stage["records_waiting"]}
