"""What the portal holds open: the settings, the store engine and the live search index."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, current_app
from sqlalchemy import Engine

from aggregator.config import Settings
from aggregator.errors import SearchError
from aggregator.index.model import SearchBackend
from aggregator.index.sync import current_path, open_index
from aggregator.store.db import reader

logger = logging.getLogger(__name__)
CHECK_EVERY = 1.0  # seconds between two looks at the index's CURRENT pointer
CACHE_SECONDS = 30.0  # member names, counts: read at most this often per process
EXTENSION = "aggregator"
T = TypeVar("T")


class IndexHolder:
    """Opens the live index on first use and reopens it when a rebuild swapped in a new
    folder; searches already running keep the old one until they finish."""

    def __init__(self, settings: Settings, backend: SearchBackend | None = None) -> None:
        self._settings = settings
        self._backend = backend
        self._owned = backend is None
        self._path: Path | None = current_path(settings) if backend is not None else None
        self._checked = 0.0
        self._retired: SearchBackend | None = None
        self._lock = threading.Lock()

    def get(self) -> SearchBackend:
        """The live index.

        Raises:
            SearchError: there is no index yet (nothing harvested and indexed).
        """
        now = time.monotonic()
        with self._lock:
            if self._backend is not None and now - self._checked < CHECK_EVERY:
                return self._backend
            self._checked = now
            path = current_path(self._settings)
            if self._backend is None or (self._owned and path != self._path):
                fresh = open_index(self._settings, create=False)
                if self._backend is not None:
                    logger.info("search index swapped: now reading %s", path)
                    if self._retired is not None:  # searches older than a second are done
                        self._retired.close()
                    self._retired = self._backend
                self._backend, self._path = fresh, path
            return self._backend

    def close(self) -> None:
        """Close the index if the holder opened it."""
        with self._lock:
            if self._owned:
                for backend in (self._backend, self._retired):
                    if backend is not None:
                        backend.close()
            self._backend = self._retired = None


class Portal:
    """Everything the views share, kept in ``app.extensions``."""

    def __init__(self, settings: Settings, engine: Engine,
                 index: SearchBackend | None = None) -> None:
        self.settings = settings
        self.engine = reader(engine)
        self.index = IndexHolder(settings, index)
        self.cache_seconds = CACHE_SECONDS
        self._cache: dict[str, tuple[float, Any]] = {}
        self._cache_lock = threading.Lock()

    def cached(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()``, remembered for ``cache_seconds`` (small values every page shows,
        such as member names and counts, so a page costs no query for them)."""
        now = time.monotonic()
        with self._cache_lock:
            hit = self._cache.get(key)
        if hit is not None and now - hit[0] < self.cache_seconds:
            value: T = hit[1]
            return value
        value = compute()
        with self._cache_lock:
            self._cache[key] = (now, value)
        return value

    def search_index(self) -> SearchBackend:
        """The live index (see :meth:`IndexHolder.get`)."""
        return self.index.get()


def portal() -> Portal:
    """The Portal of the current app."""
    found = current_app.extensions[EXTENSION]
    if not isinstance(found, Portal):  # pragma: no cover - set by create_app only
        raise SearchError("the portal is not initialised")
    return found


def install(app: Flask, state: Portal) -> None:
    """Attach ``state`` to ``app``."""
    app.extensions[EXTENSION] = state
