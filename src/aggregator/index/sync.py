"""The index follows the store's change feed; rebuilds go to a new folder that is swapped in."""

from __future__ import annotations

import logging
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from aggregator.config import Settings
from aggregator.errors import SearchError
from aggregator.index.backends import open_backend
from aggregator.index.clustering import RECORD, Change, assign, live_in
from aggregator.index.documents import docs_from_rows
from aggregator.index.fill import SyncStats, fill
from aggregator.index.model import SearchBackend
from aggregator.store.db import connect, reader
from aggregator.store.ingest import forget_normalised

logger = logging.getLogger(__name__)
BATCH = 1000
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
    """Apply every store change after the index's high-water mark, batch by batch.

    Each batch re-clusters the changed records in the store (one transaction), then
    replaces the documents of every cluster it touched and commits the index with the
    new mark. A crash between the two commits repeats the batch next time, which gives
    the same result.
    """
    started = time.monotonic()
    stats = SyncStats(change_seq=int(backend.meta().get("change_seq", 0)))
    if stats.change_seq == 0 and backend.count() == 0:
        stats = fill_index(engine, backend)  # a new index: cluster everything at once
        stats.seconds = time.monotonic() - started
        return stats
    while True:
        with connect(engine) as conn:
            rows = conn.execute(
                select(RECORD.c.id, RECORD.c.deleted, RECORD.c.metadata_prefix,
                       RECORD.c.metadata_xml, RECORD.c.cluster_id, RECORD.c.change_seq,
                       RECORD.c.match_keys, RECORD.c.fields)
                .where(RECORD.c.change_seq > stats.change_seq)
                .order_by(RECORD.c.change_seq).limit(batch)).all()
            if not rows:
                break
            touched = assign(conn, [Change(r.id, r.deleted, r.metadata_prefix,
                                           r.metadata_xml, r.cluster_id, r.match_keys,
                                           r.fields) for r in rows])
            live = live_in(conn, touched)
        docs = list(docs_from_rows(live))
        gone = touched - {int(d.id) for d in docs}
        backend.add(docs)
        backend.delete(str(c) for c in gone)
        stats.change_seq = int(rows[-1].change_seq)
        backend.commit({"change_seq": stats.change_seq})
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
               workers: int | None = None) -> SyncStats:
    """Recluster every live record and add every work to an empty ``backend``
    (see :func:`aggregator.index.fill.fill`); ``workers`` processes normalise the
    records stored without fields (default: one per CPU)."""
    done = fill(engine, backend, workers=workers)
    backend.commit({"change_seq": done.change_seq})
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
    """Documents, the last change applied and the lag behind the store."""
    backend = open_index(settings, create=False)
    try:
        applied = int(backend.meta().get("change_seq", 0))
        documents = backend.count()
    finally:
        backend.close()
    with connect(reader(engine)) as conn:
        head = int(conn.scalar(select(func.max(RECORD.c.change_seq))) or 0)
        behind = int(conn.scalar(select(func.count()).select_from(RECORD)
                                 .where(RECORD.c.change_seq > applied)) or 0)
    return {"backend": settings.search_backend, "path": str(current_path(settings)),
            "documents": documents, "change_seq_applied": applied, "store_change_seq": head,
            "changes_behind": behind}
