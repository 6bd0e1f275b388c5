"""Read-ahead: follow resumption tokens in a background thread while pages are stored."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass

from aggregator.harvest.model import ListPage

Params = dict[str, str]
Fetch = Callable[[Params], tuple[ListPage, int]]
# Response bytes of the pages waiting to be taken beyond which no further page is asked
# for: pages of tens of megabytes are then read one ahead, not ``depth`` ahead.
READ_AHEAD_BYTES = 16 << 20


@dataclass(slots=True)
class Fetched:
    """One request's outcome: the page and its size, or the exception it raised."""

    params: Params
    page: ListPage | None = None
    nbytes: int = 0
    error: BaseException | None = None


class ReadAhead:
    """Fetch and parse list sequences up to ``depth`` pages ahead of the consumer.

    The thread follows each page's resumption token on its own, and when a sequence
    ends it starts the next one (the next date window), so the next request is already
    on the wire while the caller writes the current page: tokens are used promptly, and
    network, parsing and database work overlap. It stops after the last sequence, at the
    first error, or when closed; a full queue makes it wait, and so do waiting pages of
    ``max_bytes`` or more (large pages), so memory stays bounded. Only one request is in
    flight at a time.
    """

    def __init__(self, fetch: Fetch, sequences: list[Params], depth: int = 3,
                 max_bytes: int = READ_AHEAD_BYTES) -> None:
        self._fetch = fetch
        self._queue: queue.Queue[Fetched | None] = queue.Queue(maxsize=depth)
        self._max_bytes = max_bytes
        self._queued_bytes = 0  # of the pages in the queue
        self._taken = threading.Condition()
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._run, args=(sequences,), daemon=True,
                                        name="oai-read-ahead")
        self._thread.start()

    def _run(self, sequences: list[Params]) -> None:
        try:
            for first in sequences:
                params: Params | None = first
                tokens: set[str] = set()
                while params is not None and not self._stop.is_set():
                    self._wait_for_room()
                    try:
                        page, nbytes = self._fetch(params)
                    except BaseException as exc:  # handed to the consumer, who decides
                        self._put(Fetched(params, error=exc))
                        return
                    self._put(Fetched(params, page, nbytes))
                    if not page.token:
                        break  # this sequence ended: on to the next window
                    if page.token in tokens:
                        return  # a token loop: the consumer decides what comes next
                    tokens.add(page.token)
                    params = {"verb": params["verb"], "resumptionToken": page.token}
        finally:
            self._put(None)  # nothing more will come

    def _wait_for_room(self) -> None:
        """Wait while the pages not yet taken are too large to ask for another."""
        with self._taken:
            while self._queued_bytes >= self._max_bytes and not self._stop.is_set():
                self._taken.wait(0.05)

    def _put(self, item: Fetched | None) -> None:
        size = item.nbytes if item is not None else 0
        with self._taken:
            self._queued_bytes += size
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return
            except queue.Full:
                continue

    def take(self) -> Fetched | None:
        """The next fetched page in order, or ``None`` once the sequence has ended."""
        if self._done:
            return None
        item = self._queue.get()
        self._done = item is None
        if item is not None:
            with self._taken:
                self._queued_bytes -= item.nbytes
                self._taken.notify_all()
        return item

    def close(self) -> None:
        """Stop following tokens and wait for a request in flight to end."""
        self._stop.set()
        while self._thread.is_alive():
            with suppress(queue.Empty):
                self._queue.get(timeout=0.05)
        self._thread.join()
