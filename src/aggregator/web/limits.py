"""A per-client limit on searches, so one address cannot keep the search engine busy.

Counted per worker process in fixed one-minute windows (with N workers a client gets up
to N times the limit); enough against a runaway script, no substitute for a limit at the
reverse proxy. Behind a proxy, set ``web_trusted_proxy`` so the client's own address is
counted rather than the proxy's.
"""

from __future__ import annotations

import threading
import time
from math import ceil

from flask import Flask, request

from aggregator.errors import AggregatorError

WINDOW = 60.0
MAX_CLIENTS = 50_000  # remembered addresses; the oldest windows are forgotten first
LIMITED = frozenset({"pages.search", "api.search", "api.suggest", "exports.results"})


class TooManySearches(AggregatorError):
    """A client asked for more searches in a minute than ``search_rate_limit`` allows."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many searches; try again in {retry_after} s")
        self.retry_after = retry_after


class SearchLimiter:
    """At most ``per_minute`` searches per client address and window (0: no limit)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def check(self, client: str, now: float | None = None) -> None:
        """Count one search of ``client``.

        Raises:
            TooManySearches: the client used up this window's searches.
        """
        if self.per_minute <= 0:
            return
        now = time.monotonic() if now is None else now
        with self._lock:
            start, count = self._windows.get(client, (now, 0))
            if now - start >= WINDOW:
                start, count = now, 0
            if count >= self.per_minute:
                raise TooManySearches(max(1, ceil(start + WINDOW - now)))
            self._windows[client] = (start, count + 1)
            if len(self._windows) > MAX_CLIENTS:
                self._forget(now)

    def _forget(self, now: float) -> None:
        stale = [c for c, (start, _) in self._windows.items() if now - start >= WINDOW]
        for client in stale or sorted(self._windows, key=lambda c: self._windows[c][0])[
                :len(self._windows) // 2]:
            del self._windows[client]


def init_app(app: Flask, per_minute: int) -> None:
    """Check the limit before every search endpoint."""
    limiter = SearchLimiter(per_minute)

    @app.before_request
    def _limit() -> None:
        if request.endpoint in LIMITED:
            limiter.check(request.remote_addr or "unknown")
