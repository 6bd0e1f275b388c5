"""Engines, connection settings, schema creation (Alembic) and session scopes of the store."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, insert, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.orm import Session

from aggregator.config import Settings
from aggregator.errors import ConfigError, SchemaMissing, StoreError
from aggregator.store.models import ChangeCounter

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BEGIN = "aggregator_sqlite_begin"
"""Execution option naming the SQLite BEGIN mode: ``IMMEDIATE`` (default) or ``DEFERRED``."""

_PRAGMAS = ("journal_mode=WAL", "busy_timeout=15000", "synchronous=NORMAL", "foreign_keys=ON")
_BEGIN_SQL = {"IMMEDIATE": "BEGIN IMMEDIATE", "DEFERRED": "BEGIN"}
_NO_SCHEMA = "the database has no schema yet: run `aggregator init`"


def make_engine(settings: Settings) -> Engine:
    """Create the store's engine from the settings.

    SQLite gets its folder created, WAL and the other pragmas on every connection, and
    ``BEGIN IMMEDIATE`` for transactions, so a second writer waits on ``busy_timeout``
    instead of failing when it upgrades a read lock. Pure readers that may run long
    should use :func:`reader` to get deferred transactions. PostgreSQL uses psycopg 3.

    Raises:
        ConfigError: the database URL cannot be parsed.
    """
    url = _parse_url(settings.resolved_database_url)
    # every harvest thread of a scheduler may hold a connection at once, besides its
    # dispatcher, heartbeat and the index follower (SQLAlchemy's default is 5 + 10)
    pool = {"pool_size": settings.harvest_concurrency + 3, "max_overflow": 10}
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **pool)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 15},
                           **(pool if url.database not in (None, "", ":memory:") else {}))
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def reader(engine: Engine) -> Engine:
    """Return a view of ``engine`` whose SQLite transactions start deferred (readers only).

    Writing through it works but may fail with "database is locked" under contention.
    On PostgreSQL it behaves exactly like ``engine``.
    """
    return engine.execution_options(**{SQLITE_BEGIN: "DEFERRED"})


def _parse_url(raw: str) -> URL:
    try:
        url = make_url(raw)
    except ArgumentError as exc:
        raise ConfigError(f"setting 'database_url': bad value {raw!r} ({exc})") from exc
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    # Take BEGIN away from the sqlite3 module; _sqlite_on_begin emits our own.
    dbapi_conn.isolation_level = None
    run_pragmas(dbapi_conn, _PRAGMAS)


def run_pragmas(dbapi_conn: Any, pragmas: Sequence[str]) -> None:
    """Set SQLite ``pragmas`` on a new driver connection."""
    cursor = dbapi_conn.cursor()
    try:
        for pragma in pragmas:
            cursor.execute("PRAGMA " + pragma)
    finally:
        cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    options = conn.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":
        return
    mode = str(options.get(SQLITE_BEGIN, "IMMEDIATE")).upper()
    conn.exec_driver_sql(_BEGIN_SQL.get(mode, "BEGIN IMMEDIATE"))


def safe_url(engine: Engine) -> str:
    """The engine's URL as text without its password (for messages and logs)."""
    return engine.url._replace(password=None).render_as_string(hide_password=False)


@contextmanager
def connect(engine: Engine, *, begin: bool = True) -> Iterator[Connection]:
    """Open a connection (in a transaction unless ``begin`` is false).

    An unreachable database becomes a one-line :class:`StoreError` naming the URL (without
    its password); a statement the database refuses becomes a :class:`StoreError` too.
    """
    try:
        conn = engine.connect()
    except OperationalError as exc:
        raise StoreError(f"cannot open the database {safe_url(engine)}: "
                         f"{_first_line(exc)}") from exc
    try:
        with conn:
            if not begin:
                yield conn
                return
            with conn.begin():
                yield conn
    except DBAPIError as exc:
        raise StoreError(f"the database refused the operation: {_first_line(exc)}") from exc


def _first_line(exc: DBAPIError) -> str:
    text = str(exc.orig if exc.orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on error."""
    with connect(engine, begin=False) as conn, \
            Session(bind=conn, expire_on_commit=False) as session, session.begin():
        yield session


def alembic_config(connection: Connection | None = None) -> Config:
    """Build the Alembic configuration in code (no alembic.ini needed at runtime)."""
    cfg = Config()
    # ConfigParser interpolation: a literal % in the install path must be doubled
    cfg.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The revision the code expects the database to be at."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships a revision
        raise StoreError("no migrations are packaged")
    return head


def init_schema(engine: Engine) -> str:
    """Create or upgrade the schema to the newest revision; safe to run again.

    Also makes sure the single ``change_counter`` row exists.

    Returns:
        The revision the database is now at.

    Raises:
        StoreError: the database cannot be reached or refused the migration.
    """
    with connect(engine) as conn:
        command.upgrade(alembic_config(conn), "head")
        has_counter = conn.scalar(select(ChangeCounter.id).where(ChangeCounter.id == 1))
        if has_counter is None:
            conn.execute(insert(ChangeCounter).values(id=1, value=0))
        revision = MigrationContext.configure(conn).get_current_revision()
    return revision or ""


def current_revision(engine: Engine) -> str | None:
    """The database's revision, or ``None`` when it has no schema."""
    with connect(engine) as conn:
        return MigrationContext.configure(conn).get_current_revision()


def require_database(settings: Settings) -> None:
    """Refuse a SQLite store whose file does not exist, before anything opens (and so
    creates) it: a command that reads the store must not leave an empty database behind.

    Raises:
        SchemaMissing: the file is absent.
        ConfigError: the database URL cannot be parsed.
    """
    url = _parse_url(settings.resolved_database_url)
    if (url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
            and not url.database.startswith("file:") and not Path(url.database).exists()):
        raise SchemaMissing(f"there is no database at {url.database}: run `aggregator init` "
                            "to create it (or set data_dir or database_url to the existing "
                            "one)")


def require_schema(engine: Engine) -> None:
    """Check that the schema exists and is at the newest revision.

    Raises:
        SchemaMissing: the schema is absent or older than the code.
        StoreError: the database cannot be reached.
    """
    current = current_revision(engine)
    if current is None:
        raise SchemaMissing(_NO_SCHEMA)
    if current != head_revision():
        raise SchemaMissing(f"the database schema is at revision {current}; this version "
                            f"needs {head_revision()}: run `aggregator init` to upgrade it "
                            "(nothing stored is lost)")
