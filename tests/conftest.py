"""Shared fixtures: settings in a temporary folder and a store engine (SQLite or PostgreSQL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import Engine, insert
from sqlalchemy.engine import make_url

from aggregator.config import Settings, load_settings
from aggregator.store.db import init_schema, make_engine
from aggregator.store.models import Base, ChangeCounter

POSTGRES_ENV = "AGGREGATOR_TEST_POSTGRES_URL"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Default settings with data in ``tmp_path``; loopback harvest targets allowed."""
    return load_settings(environ={}, data_dir=str(tmp_path), allow_networks=("127.0.0.0/8",))


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[Engine]:
    """A fresh, initialised PostgreSQL database for the whole session (dropped at the end)."""
    raw = os.environ.get(POSTGRES_ENV)
    if not raw:
        pytest.skip(f"{POSTGRES_ENV} is not set (e.g. "
                    "postgresql+psycopg://postgres@127.0.0.1:5432/postgres)")
    admin = make_url(raw).set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"aggregator_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(raw).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(load_settings(environ={}, database_url=url))
    try:
        init_schema(engine)
        yield engine
    finally:
        engine.dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                         .format(sql.Identifier(name)))


def _empty_tables(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
        conn.execute(insert(ChangeCounter).values(id=1, value=0))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Engine]:
    """An engine on an initialised, empty store: SQLite in tmp_path, or PostgreSQL when
    AGGREGATOR_TEST_POSTGRES_URL is set (skipped otherwise)."""
    if request.param == "postgres":
        pg: Engine = request.getfixturevalue("postgres_engine")
        _empty_tables(pg)
        yield pg
        return
    lite = make_engine(settings)
    init_schema(lite)
    try:
        yield lite
    finally:
        lite.dispose()
