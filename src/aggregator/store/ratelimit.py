"""Rate-limit counters in the database, shared by every web worker process: a storage
backend of the ``limits`` library (the one Flask-Limiter uses), fixed windows only.

Each counter is a ``rate_limit`` row (key, count, expiry). :meth:`CounterStorage.incr` is
one statement, ``INSERT … ON CONFLICT (key) DO UPDATE … RETURNING count``, that starts a
new window when the old one has expired and otherwise adds to it, so two processes
counting at once never lose a hit. Expired rows are deleted now and then.

Where the counters live:

* **PostgreSQL store**: its ``rate_limit`` table (migration 0007); row locks keep
  counting cheap beside a harvest's long transaction.
* **SQLite store**: ``ratelimit.sqlite3`` beside it in ``data_dir`` (WAL, created on
  first use with the same table). SQLite has one writer at a time for a whole file, and
  a harvest holds the store's write lock for a page at a time; counting a search in the
  store would make the search wait for it. The side file's writers are these one-line
  statements only, so a count waits microseconds. Losing the file loses nothing but the
  current windows.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from limits.storage import Storage
from sqlalchemy import Engine, Table, create_engine, delete, event, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateTable
from sqlalchemy.sql.expression import case

from aggregator.config import Settings
from aggregator.errors import StoreError
from aggregator.store.db import connect, run_pragmas
from aggregator.store.models import RateLimit

__all__ = ["SIDECAR_NAME", "CounterStorage", "open_counters"]

logger = logging.getLogger(__name__)
SIDECAR_NAME = "ratelimit.sqlite3"
PURGE_SECONDS = 60.0  # each storage deletes expired rows at most this often
MAX_KEY = 300  # the length of rate_limit.key
_TABLE = cast(Table, RateLimit.__table__)
_UPSERT: dict[str, Callable[[Table], Any]] = {"sqlite": sqlite.insert,
                                              "postgresql": postgresql.insert}
# busy_timeout first: another process may be switching the file to WAL at this moment
_SIDECAR_PRAGMAS = ("busy_timeout=5000", "journal_mode=WAL", "synchronous=NORMAL")


class CounterStorage(Storage):
    """Fixed-window counters in a database table (``limits`` storage scheme
    ``aggregator://``); thread-safe, and shared by every process using the same table.

    Build it with :func:`open_counters`, or directly as
    ``CounterStorage(engine=engine)`` (also ``limits.storage.storage_from_string(
    "aggregator://", engine=engine)``). Failures of the database are raised as
    :class:`~aggregator.errors.StoreError` (its ``base_exceptions``).
    """

    STORAGE_SCHEME = ["aggregator"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, *,
                 engine: Engine, create_table: bool = False,
                 clock: Callable[[], float] = time.time,
                 purge_every: float = PURGE_SECONDS, **options: Any) -> None:
        """Count in ``engine``'s ``rate_limit`` table.

        Args:
            uri: ``aggregator://`` (only its scheme matters).
            wrap_exceptions: wrap StoreError in ``limits.errors.StorageError``.
            engine: the database holding the table.
            create_table: create the table on first use when missing (the side file;
                the store's own table comes from its migrations).
            clock: seconds since the epoch (tests move it forward).
            purge_every: seconds between two deletions of expired rows.
        """
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        # one statement each, nothing to roll back: no BEGIN/COMMIT round trips
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.clock = clock
        self._create_table = create_table
        self._purge_every = purge_every
        self._next_purge = 0.0
        self._lock = threading.Lock()
        upsert = _UPSERT.get(engine.dialect.name)
        if upsert is None:
            raise StoreError(f"rate-limit counters need SQLite or PostgreSQL, not "
                             f"{engine.dialect.name}")
        self._upsert = upsert

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        """What a failing database raises here (``limits`` wraps these on request)."""
        return StoreError

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Add ``amount`` to ``key``'s counter and return the new count; a counter
        that does not exist or has expired starts a new window of ``expiry`` seconds."""
        now = self.clock()
        insert = self._upsert(_TABLE).values(
            key=_stored(key), count=amount, expires_at=now + expiry)
        new, old = insert.excluded, _TABLE.c
        expired = old.expires_at <= now
        statement = insert.on_conflict_do_update(
            index_elements=[old.key],
            set_={"count": case((expired, new["count"]), else_=old["count"] + new["count"]),
                  "expires_at": case((expired, new.expires_at), else_=old.expires_at)},
        ).returning(old["count"])
        self._ready()
        with connect(self.engine) as conn:
            count = int(conn.execute(statement).scalar_one())
        if now >= self._next_purge:
            self._next_purge = now + self._purge_every
            try:
                self.purge()
            except StoreError as exc:  # the hit is counted; the next purge will do
                logger.warning("expired rate-limit counters not deleted: %s", exc)
        return count

    def get(self, key: str) -> int:
        """The count of ``key`` in its current window (0 when none)."""
        self._ready()
        with connect(self.engine) as conn:
            count = conn.scalar(select(_TABLE.c["count"]).where(
                _TABLE.c.key == _stored(key), _TABLE.c.expires_at > self.clock()))
        return int(count or 0)

    def get_expiry(self, key: str) -> float:
        """When ``key``'s window ends, in seconds since the epoch (now when none)."""
        now = self.clock()
        self._ready()
        with connect(self.engine) as conn:
            expires = conn.scalar(select(_TABLE.c.expires_at).where(
                _TABLE.c.key == _stored(key), _TABLE.c.expires_at > now))
        return float(expires) if expires is not None else now

    def check(self) -> bool:
        """Whether the database answers."""
        try:
            self._ready()
            with connect(self.engine) as conn:
                conn.execute(text("SELECT 1"))
        except StoreError:
            return False
        return True

    def reset(self) -> int | None:
        """Delete every counter; return how many there were."""
        self._ready()
        with connect(self.engine) as conn:
            return conn.execute(delete(_TABLE)).rowcount

    def clear(self, key: str) -> None:
        """Forget ``key``'s counter."""
        self._ready()
        with connect(self.engine) as conn:
            conn.execute(delete(_TABLE).where(_TABLE.c.key == _stored(key)))

    def purge(self) -> int:
        """Delete the counters whose window has ended; return how many.

        :meth:`incr` calls it every ``purge_every`` seconds, so the table holds only the
        keys counted within the longest window in use.
        """
        self._ready()
        with connect(self.engine) as conn:
            return conn.execute(delete(_TABLE).where(
                _TABLE.c.expires_at <= self.clock())).rowcount

    def _ready(self) -> None:
        if not self._create_table:
            return
        with self._lock:
            if self._create_table:
                with connect(self.engine) as conn:
                    conn.execute(CreateTable(_TABLE, if_not_exists=True))
                self._create_table = False


def open_counters(settings: Settings, engine: Engine) -> CounterStorage:
    """The counters every process of this installation shares: the store's
    ``rate_limit`` table on PostgreSQL, ``ratelimit.sqlite3`` in ``data_dir`` when the
    store is SQLite (see the module's docstring). Nothing is opened before first use."""
    if engine.dialect.name != "sqlite":
        return CounterStorage(engine=engine)
    path = Path(settings.data_dir).resolve() / SIDECAR_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    side = create_engine(f"sqlite:///{path}", connect_args={"timeout": 5},
                         pool_size=4, max_overflow=16)
    event.listen(side, "connect", _sidecar_pragmas)
    return CounterStorage(engine=side, create_table=True)


def _sidecar_pragmas(dbapi_conn: Any, _record: Any) -> None:
    run_pragmas(dbapi_conn, _SIDECAR_PRAGMAS)


def _stored(key: str) -> str:
    """``key``, or when longer than the column a prefix of it and its SHA-256."""
    if len(key) <= MAX_KEY:
        return key
    return f"{key[:MAX_KEY - 72]}#{hashlib.sha256(key.encode()).hexdigest()}"
