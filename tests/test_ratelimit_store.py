"""The rate-limit counters in the database: exact counts from threads and processes,
fixed windows, purging, and where they live (SQLite side file, PostgreSQL table)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import Engine, create_engine, func, select, text

import aggregator
from aggregator.config import Settings
from aggregator.errors import StoreError
from aggregator.store.models import RateLimit
from aggregator.store.ratelimit import SIDECAR_NAME, CounterStorage, open_counters


class Clock:
    """A clock the test moves forward."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def counters(engine: Engine, settings: Settings, clock: Clock) -> Iterator[CounterStorage]:
    storage = open_counters(settings, engine)
    storage.clock = clock
    yield storage
    storage.engine.dispose()


def rows(storage: CounterStorage) -> int:
    with storage.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(RateLimit)) or 0)


def test_a_window_counts_until_it_expires_then_starts_again(
        counters: CounterStorage, clock: Clock) -> None:
    assert [counters.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    assert counters.get("k") == 3 and counters.get_expiry("k") == clock.now + 60
    assert counters.incr("k", 60, amount=2) == 5
    assert counters.get("other") == 0 and counters.get_expiry("other") == clock.now
    start = clock.now
    clock.now += 59.5  # still the same window: its end does not move
    assert counters.incr("k", 60) == 6 and counters.get_expiry("k") == start + 60
    clock.now = start + 60  # the window has ended
    assert counters.get("k") == 0
    assert counters.incr("k", 60) == 1
    assert counters.get_expiry("k") == clock.now + 60
    counters.clear("k")
    assert counters.get("k") == 0
    counters.incr("a", 60)
    counters.incr("b", 60)
    assert counters.reset() == 2 and rows(counters) == 0
    assert counters.check()


def test_expired_counters_are_purged_so_the_table_stays_small(
        counters: CounterStorage, clock: Clock) -> None:
    for n in range(20):
        counters.incr(f"client-{n}", 60)
    counters.incr("long", 3600)
    assert rows(counters) == 21
    clock.now += 61
    assert counters.purge() == 20 and rows(counters) == 1
    for n in range(5):
        counters.incr(f"again-{n}", 60)
    clock.now += 61  # incr itself purges once a minute
    counters.incr("late", 60)
    assert rows(counters) == 2  # "long" and "late"


def test_keys_longer_than_the_column_are_kept_apart(counters: CounterStorage) -> None:
    one, two = "x" * 400 + "1", "x" * 400 + "2"
    assert [counters.incr(one, 60), counters.incr(one, 60), counters.incr(two, 60)] == [1, 2, 1]
    assert counters.get(one) == 2 and counters.get(two) == 1


def test_limits_strategies_and_registry_use_it(counters: CounterStorage, engine: Engine) -> None:
    assert isinstance(storage_from_string("aggregator://", engine=engine), CounterStorage)
    strategy = FixedWindowRateLimiter(counters)
    item = parse("3 per minute")
    assert [strategy.hit(item, "ana") for _ in range(4)] == [True, True, True, False]
    assert strategy.hit(item, "budi")
    stats = strategy.get_window_stats(item, "ana")
    assert stats.remaining == 0 and stats.reset_time == counters.clock() + 60


def test_increments_from_many_threads_are_exact(counters: CounterStorage) -> None:
    counters.clock = time.time
    with ThreadPoolExecutor(8) as pool:
        counts = list(pool.map(lambda _: counters.incr("busy", 60), range(400)))
    assert sorted(counts) == list(range(1, 401))  # no lost update, no count seen twice


CHILD = """
import json, sys
from aggregator.config import load_settings
from aggregator.store.db import make_engine
from aggregator.store.ratelimit import open_counters
data_dir, database_url, times = sys.argv[1], sys.argv[2], int(sys.argv[3])
settings = load_settings(environ={}, data_dir=data_dir, database_url=database_url)
counters = open_counters(settings, make_engine(settings))
counters.check()
print("ready", flush=True)
sys.stdin.readline()
print(json.dumps([counters.incr("shared", 60) for _ in range(times)]), flush=True)
"""


def _database_url(engine: Engine, settings: Settings) -> str:
    if engine.dialect.name == "sqlite":
        return ""  # the store under data_dir, as a worker process would open it
    return engine.url.render_as_string(hide_password=False)


def test_two_processes_counting_at_once_are_exact(
        engine: Engine, settings: Settings, counters: CounterStorage) -> None:
    """Two worker processes (not threads) counting the same key at the same moment."""
    src = str(Path(aggregator.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [src, *filter(None, [os.environ.get("PYTHONPATH")])])}
    args = [sys.executable, "-c", CHILD, settings.data_dir,
            _database_url(engine, settings), "300"]
    children = [subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 text=True, env=env) for _ in range(2)]
    try:
        for child in children:
            assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        for child in children:  # both are ready: let them go together
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        counts = []
        for child in children:
            out, _ = child.communicate(timeout=60)
            assert child.returncode == 0
            counts += json.loads(out)
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    assert sorted(counts) == list(range(1, 601))
    counters.clock = time.time
    assert counters.get("shared") == 600  # and this process sees their count


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_on_sqlite_the_counters_are_a_side_file_a_harvest_never_blocks(
        engine: Engine, settings: Settings) -> None:
    counters = open_counters(settings, engine)
    assert not (Path(settings.data_dir) / SIDECAR_NAME).exists()  # nothing before first use
    with engine.connect() as writer:
        writer.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: the store's write lock, held
        other = sqlite3.connect(Path(settings.data_dir) / "aggregator.sqlite3", timeout=0)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")  # as a harvest page would hold it
        other.close()
        started = time.monotonic()
        assert counters.incr("client", 60) == 1
        assert time.monotonic() - started < 1.0  # the store's busy timeout is 15 s
        writer.rollback()
    side = create_engine(f"sqlite:///{Path(settings.data_dir) / SIDECAR_NAME}")
    try:
        with side.connect() as conn:
            assert conn.scalar(text("PRAGMA journal_mode")) == "wal"
            assert conn.scalar(text("SELECT count FROM rate_limit")) == 1
    finally:
        side.dispose()
    with engine.connect() as conn:  # the store's own table is left alone
        assert conn.scalar(select(func.count()).select_from(RateLimit)) == 0
    counters.engine.dispose()


@pytest.mark.parametrize("engine", ["postgres"], indirect=True)
def test_on_postgresql_the_counters_are_the_stores_table(
        engine: Engine, settings: Settings) -> None:
    counters = open_counters(settings, engine)
    assert counters.incr("client", 60) == 1
    with engine.connect() as conn:
        assert conn.scalar(select(RateLimit.count).where(RateLimit.key == "client")) == 1
    assert not (Path(settings.data_dir) / SIDECAR_NAME).exists()


def test_a_database_that_is_down_is_a_store_error() -> None:
    down = CounterStorage(engine=create_engine(
        "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 2}))
    with pytest.raises(StoreError, match="cannot open the database"):
        down.incr("k", 60)
    assert down.check() is False
    assert down.base_exceptions is StoreError
