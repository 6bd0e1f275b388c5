"""One writer for the search index: the process that owns it follows the store.

Only one process on a machine writes the live index: the one holding an exclusive lock
on ``<index folder>/writer.lock`` (``aggregator serve``'s parent, ``aggregator demo``, an
``aggregator scheduler`` process, or a one-off ``harvest``/``index sync`` when none of
these runs). Every other process commits to the store only; the owner catches up from
the clusters' change feed. The lock is the operating system's (``flock``), so it goes
with the process however it ends. Several web nodes each own an index of their own
(``index_dir`` on their own disk) and each follows the same store.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sys
import threading
from pathlib import Path
from typing import IO

from sqlalchemy import Engine

from aggregator.config import Settings
from aggregator.errors import AggregatorError
from aggregator.index.fill import SyncStats
from aggregator.index.model import SearchBackend
from aggregator.index.sync import current_path, open_index, sync_index

logger = logging.getLogger(__name__)
LOCK_NAME = "writer.lock"


def _lock_path(settings: Settings) -> Path:
    return settings.resolved_index_dir / settings.search_backend / LOCK_NAME


def holder(settings: Settings) -> str:
    """Who holds the writer's lock, as the holder wrote it ("" when unknown)."""
    try:
        return _lock_path(settings).read_text().strip()
    except OSError:
        return ""


class IndexOwner:
    """This process's ownership of the live index: the lock and the open index.

    Use :meth:`claim`; :meth:`sync` applies the store's changes, reopening the index
    first when a rebuild swapped in a new folder.
    """

    def __init__(self, settings: Settings, lock: IO[str], backend: SearchBackend) -> None:
        self._settings = settings
        self._lock: IO[str] | None = lock
        self._path = current_path(settings)
        self.backend = backend
        self._mutex = threading.Lock()

    @classmethod
    def claim(cls, settings: Settings) -> IndexOwner | None:
        """Take the index if no other process owns it (``None`` when one does)."""
        path = _lock_path(settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held while owned
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            return None
        lock.truncate(0)
        lock.write(f"process {os.getpid()} ({' '.join(_command())})\n")
        lock.flush()
        try:
            backend = open_index(settings)
        except BaseException:
            fcntl.flock(lock, fcntl.LOCK_UN)
            lock.close()
            raise
        return cls(settings, lock, backend)

    def sync(self, engine: Engine) -> SyncStats:
        """Apply the clusters changed in the store since the index last did."""
        with self._mutex:
            fresh = current_path(self._settings)
            if fresh != self._path:  # `aggregator index rebuild` swapped a new one in
                logger.info("search index swapped: now writing %s", fresh)
                self.backend.close()
                self.backend = open_index(self._settings)
                self._path = fresh
            return sync_index(engine, self.backend)

    def close(self) -> None:
        """Close the index and give the lock back."""
        with self._mutex:
            if self._lock is None:
                return
            self.backend.close()
            lock, self._lock = self._lock, None
            lock.truncate(0)
            fcntl.flock(lock, fcntl.LOCK_UN)
            lock.close()


def _command() -> list[str]:
    name = Path(sys.argv[0]).name if sys.argv else "python"
    return ["aggregator" if name in ("aggregator", "__main__.py") else name, *sys.argv[1:2]]


class IndexFollower:
    """A thread applying the store's changes to an owned index every ``every`` seconds,
    or at once when :meth:`poke` is called (after a harvest run)."""

    def __init__(self, owner: IndexOwner, engine: Engine, every: float) -> None:
        self._owner, self._engine, self._every = owner, engine, every
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._pending = False  # poked since the last sync began
        self._thread = threading.Thread(target=self._loop, name="index-follower", daemon=True)

    def start(self) -> None:
        """Start following."""
        self._thread.start()

    def poke(self) -> None:
        """Look at the store now rather than at the next tick."""
        self._pending = True
        self._wake.set()

    def stop(self) -> None:
        """Stop following; a run that ended since the last look is applied first."""
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join()
        if self._pending:
            self._sync()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._sync()
            self._wake.wait(self._every)
            self._wake.clear()

    def _sync(self) -> None:
        self._pending = False
        try:
            stats = self._owner.sync(self._engine)
            if stats.changes:
                logger.info("search index: %d works updated, %d removed",
                            stats.documents, stats.removed)
        except AggregatorError as exc:
            logger.warning("the search index could not follow the store: %s", exc)
        except Exception:  # keep following: the next tick may succeed
            logger.exception("the search index could not follow the store")
