"""What the store keeps of a record's normalisation: its fields and match keys as JSON."""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import Any, TypeVar

import orjson

from aggregator.cluster.keys import MatchKeys, block_keys, match_keys
from aggregator.normalize import normalize
from aggregator.normalize.fields import Fields

__all__ = ["Stored", "fields_of", "in_order", "keys_from_json", "keys_to_json",
           "normalize_many", "normalize_stream", "stored_form", "worker_pool"]

# (fields JSON text, match keys JSON text, block keys, type), or None for a record
# without metadata. The block keys go to ``record_key`` with the record, the type to
# ``record.work_type`` (see store/ingest.py).
Stored = tuple[str, str, tuple[str, ...], str | None] | None
T = TypeVar("T")
R = TypeVar("R")


def keys_to_json(keys: MatchKeys) -> dict[str, Any]:
    """Match keys as stored in ``record.match_keys`` (so candidates need no re-parse)."""
    return {f: getattr(keys, f) for f in MatchKeys.__dataclass_fields__}


def keys_from_json(data: dict[str, Any]) -> MatchKeys:
    """The inverse of :func:`keys_to_json` (keys missing from ``data`` take their
    defaults)."""
    # Positional and by hand: three times quicker than MatchKeys(**values), which
    # counts at a rebuild (a million records' keys are read).
    get = data.get
    return MatchKeys(tuple(get("dois") or ()), tuple(get("isbns") or ()),
                     tuple(get("issns") or ()), get("title", ""), get("full_title", ""),
                     get("surname", ""), get("year"), get("type"), tuple(get("words") or ()),
                     get("main_words", 0), tuple(get("numbers") or ()), get("review", False))


def stored_form(metadata_xml: bytes | None, metadata_prefix: str) -> Stored:
    """Normalise one record's metadata into the JSON texts of ``record.fields`` and
    ``record.match_keys``, its block keys (the rows of ``record_key``) and its type;
    ``None`` when there is no metadata to normalise."""
    if not metadata_xml:
        return None
    fields = normalize(metadata_xml, metadata_prefix)
    keys = match_keys(fields)
    # orjson: three times quicker than the json module here, and this is the
    # normaliser's hottest step after the mapping itself.
    return (orjson.dumps(fields.as_json()).decode(), orjson.dumps(keys_to_json(keys)).decode(),
            block_keys(keys), fields.type)


def normalize_many(items: Sequence[tuple[bytes | None, str]]) -> list[Stored]:
    """:func:`stored_form` of each (metadata XML, prefix); the unit of work of a pool."""
    return [stored_form(xml, prefix) for xml, prefix in items]


def fields_of(stored: object, metadata_xml: bytes | None, metadata_prefix: str) -> Fields:
    """A record's fields: the stored JSON when present, else the metadata normalised now.

    Rows written before fields were stored (or whose stored value is unreadable) fall
    back to the XML, so a store of any age indexes the same.
    """
    if isinstance(stored, str):  # drivers that hand JSON back as text
        stored = json.loads(stored)
    if isinstance(stored, dict):
        try:
            return Fields.from_json(stored)
        except (TypeError, ValueError):
            pass
    return normalize(metadata_xml, metadata_prefix)


def _watch_parent(parent: int) -> None:
    """Worker initialiser: exit when the process that started us (``parent``) is gone
    (a SIGKILLed harvest must not leave its worker behind; the pool's queues never
    report it). The parent's id comes from the parent: a worker still starting when the
    parent is killed would otherwise read the id of the process it was handed to, and
    wait for ever."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """Spawned (never forked: the caller may run threads) workers that die with us."""
    return ProcessPoolExecutor(workers, mp_context=get_context("spawn"),
                               initializer=_watch_parent, initargs=(os.getpid(),))


def normalize_stream(chunks: Iterable[tuple[T, Sequence[tuple[bytes | None, str]]]], *,
                     workers: int | None = None) -> Iterator[tuple[T, list[Stored]]]:
    """Normalise chunks of (XML, prefix) in worker processes, in order, a few ahead.

    Each chunk comes with a tag handed back beside its results (e.g. the row ids). With
    one worker or fewer the work happens in this process. Workers are spawned (never
    forked: the caller may run threads) and stop when the stream is exhausted or closed.
    """
    count = max(0, (os.cpu_count() or 1) if workers is None else workers)
    if count <= 1:
        for tag, items in chunks:
            yield tag, normalize_many(items)
        return
    tags: deque[T] = deque()  # of the chunks handed out and not yet given back

    def work() -> Iterator[list[tuple[bytes | None, str]]]:
        for tag, items in chunks:
            tags.append(tag)
            yield list(items)

    with worker_pool(count) as pool:
        for results in in_order(pool, normalize_many, work(), ahead=2 * count):
            yield tags.popleft(), results


def in_order(pool: Executor, function: Callable[[T], R], tasks: Iterable[T], *,
             ahead: int) -> Iterator[R]:
    """``function`` of each task, run in ``pool`` with up to ``ahead`` tasks submitted
    and not yet given back, the results in the tasks' order."""
    pending: deque[Future[R]] = deque()
    for task in tasks:
        pending.append(pool.submit(function, task))
        if len(pending) >= ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


class Ahead:
    """Normalise pages in one spawned worker process while earlier pages are stored.

    The worker starts only once ``start_after`` records have been submitted, so small
    harvests never pay for a process; until then (and with ``workers=0``, or once a
    worker has died) pages are left to the caller to normalise in its own process
    (:meth:`submit` returns None).
    """

    def __init__(self, start_after: int = 500, workers: int = 1) -> None:
        self._start_after = start_after
        self._workers = workers
        self._seen = 0
        self._pool: ProcessPoolExecutor | None = None
        self._broken = False  # a worker died: the rest of the run normalises in-line

    def submit(self, items: Sequence[tuple[bytes | None, str]]
               ) -> Future[list[Stored]] | None:
        """Start normalising ``items`` in the worker; None while no worker runs."""
        self._seen += len(items)
        if self._workers < 1 or not items:
            return None
        if self._pool is None:
            if self._broken or self._seen < self._start_after:
                return None
            self._pool = worker_pool(self._workers)
        try:
            return self._pool.submit(normalize_many, list(items))
        except BrokenProcessPool:  # the worker died (killed, out of memory): go in-line
            self._broken = True
            self.close()
            return None

    def close(self) -> None:
        """Stop the worker (after the work already submitted)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> Ahead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
