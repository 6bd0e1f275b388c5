"""Rate limits of the portal: shared by every worker process, per client, behind a trusted
reverse proxy, never on the OAI feed, and open when their counters fail."""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from threading import Thread

import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine, func, select

from aggregator.config import Settings
from aggregator.errors import ConfigError
from aggregator.index.sync import rebuild_index
from aggregator.store.models import RateLimit
from aggregator.store.ratelimit import SIDECAR_NAME, CounterStorage
from aggregator.web import create_app
from aggregator.web.auth import csrf
from aggregator.web.limits import (
    EXTENSION,
    from_setting,
    hit,
    limiter,
    login_per_account,
    login_per_client,
    register_per_client,
)
from aggregator.web.serve import PortalServer


def _close(*apps: Flask, engines: bool = True) -> None:
    """Close the apps' indexes and, unless the test gave them its engine, the engines
    they made (as a worker process's would be at exit)."""
    for app in apps:
        app.extensions["aggregator"].index.close()
        counters = app.extensions[EXTENSION].engine
        if engines or counters.dialect.name == "sqlite":  # the side file's own engine
            counters.dispose()
        if engines:
            app.extensions["aggregator"].engine.dispose()


@pytest.fixture
def indexed(engine: Engine, settings: Settings) -> Settings:
    """Settings of a store with an empty, valid index, naming the store by URL (as the
    settings of a worker process do)."""
    rebuild_index(engine, settings)
    url = "" if engine.dialect.name == "sqlite" else engine.url.render_as_string(
        hide_password=False)
    return replace(settings, database_url=url)


@pytest.fixture
def app(engine: Engine, settings: Settings) -> Iterator[Flask]:
    rebuild_index(engine, settings)  # an empty, valid index
    made = create_app(replace(settings, search_rate_limit=2), engine=engine)
    yield made
    _close(made, engines=False)


def test_searches_beyond_the_limit_get_429_with_retry_after(app: Flask) -> None:
    client = app.test_client()
    assert [client.get("/search?q=a").status_code for _ in range(2)] == [200, 200]
    page = client.get("/search?q=a")
    assert page.status_code == 429 and 1 <= int(page.headers["Retry-After"]) <= 60
    assert "Terlalu banyak pencarian" in page.get_data(as_text=True)
    assert page.headers["Content-Security-Policy"]
    api = client.get("/api/search?q=a")  # one counter for every kind of search
    assert api.status_code == 429 and api.json is not None and api.json["status"] == 429
    assert api.json["error"] == "too many searches"
    assert 1 <= api.json["retry_after"] == int(api.headers["Retry-After"]) <= 60
    assert client.get("/api/suggest?q=a").status_code == 429
    assert client.get("/search/export/ris?q=a").status_code == 429
    assert client.get("/about").status_code == 200  # only searches are counted
    assert client.get("/healthz").status_code == 200
    other = app.test_client()
    assert other.get("/search?q=a", environ_base={"REMOTE_ADDR": "10.9.8.7"}).status_code == 200


def test_two_apps_on_one_store_share_the_limit(indexed: Settings) -> None:
    """Two apps made as two worker processes make theirs: same settings, own engine."""
    settings = replace(indexed, search_rate_limit=3)
    first, second = create_app(settings), create_app(settings)
    try:
        a, b = first.test_client(), second.test_client()
        assert [a.get("/search?q=x").status_code, a.get("/api/search?q=x").status_code,
                b.get("/search?q=x").status_code] == [200, 200, 200]
        for client in (a, b):
            refused = client.get("/search?q=x")
            assert refused.status_code == 429
            assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert b.get("/api/search?q=x").status_code == 429
    finally:
        _close(first, second)


def test_a_limit_of_zero_counts_nothing(indexed: Settings, engine: Engine) -> None:
    app = create_app(replace(indexed, search_rate_limit=0))
    try:
        client = app.test_client()
        assert {client.get("/search?q=x").status_code for _ in range(150)} == {200}
    finally:
        _close(app)
    assert not (Path(indexed.data_dir) / SIDECAR_NAME).exists()  # nothing opened
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(RateLimit)) == 0


def test_the_oai_feed_is_not_limited(indexed: Settings) -> None:
    app = create_app(replace(indexed, search_rate_limit=1))
    try:
        client = app.test_client()
        assert [client.get("/search?q=x").status_code,
                client.get("/search?q=x").status_code] == [200, 429]
        for _ in range(20):
            answer = client.get("/oai?verb=Identify")
            assert answer.status_code == 200 and b"<Identify>" in answer.data
    finally:
        _close(app)


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
@pytest.mark.parametrize("failure", ["side-file-unusable", "postgres-down"])
def test_a_broken_counter_store_lets_requests_through(
        indexed: Settings, failure: str, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(replace(indexed, search_rate_limit=1, login_rate_limit=1))
    if failure == "side-file-unusable":
        (Path(indexed.data_dir) / SIDECAR_NAME).mkdir()  # SQLite cannot open a folder
    else:
        app.extensions[EXTENSION] = CounterStorage(engine=create_engine(
            "postgresql+psycopg://nobody@127.0.0.1:1/none",
            connect_args={"connect_timeout": 2}))
    try:
        client = app.test_client()
        with caplog.at_level(logging.WARNING):
            assert [client.get("/search?q=x").status_code for _ in range(3)] == [200] * 3
            assert client.get("/api/search?q=x").status_code == 200
        assert any("Swallowing error" in r.getMessage() for r in caplog.records)
        caplog.clear()
        with app.test_request_context(), caplog.at_level(logging.WARNING):
            assert [hit("login:ana@example.org", login_per_account()) for _ in range(3)] \
                == [None] * 3
        assert any(r.levelno == logging.WARNING and "not counted" in r.getMessage()
                   for r in caplog.records)
    finally:
        _close(app)


def test_hit_counts_any_key_per_window_in_every_app(indexed: Settings) -> None:
    settings = replace(indexed, login_rate_limit=2)
    first, second = create_app(settings), create_app(settings)
    try:
        with first.test_request_context():
            assert login_per_account() == "2 per 15 minutes"
            assert login_per_client() == "6 per 15 minutes"
            assert register_per_client() == "5 per hour"
            assert hit("login:ana@example.org", login_per_account()) is None
            assert hit("login:" + "a" * 400, login_per_account()) is None  # any length
        with second.test_request_context():
            assert hit("login:ana@example.org", login_per_account()) is None
            wait = hit("login:ana@example.org", login_per_account())
            assert wait is not None and 890 <= wait <= 900  # a 15-minute window
            assert hit("login:budi@example.org", login_per_account()) is None
            assert hit("anything", "") is None  # a setting of 0
    finally:
        _close(first, second)
    with pytest.raises(ConfigError, match="no_such_setting"):
        from_setting("no_such_setting", "minute")


def test_views_limited_from_a_setting_get_the_generic_429(indexed: Settings) -> None:
    app = create_app(replace(indexed, register_rate_limit=2))

    @limiter.limit(register_per_client, methods=["POST"])
    def apply() -> str:
        return "thank you"

    csrf.exempt(apply)  # the limit is under test here, not the form token
    app.add_url_rule("/test-apply", "test_apply", apply, methods=["GET", "POST"])
    try:
        client = app.test_client()
        assert [client.post("/test-apply").status_code for _ in range(3)] == [200, 200, 429]
        assert client.get("/test-apply").status_code == 200  # GET is not counted
        refused = client.post("/test-apply")
        assert 3500 <= int(refused.headers["Retry-After"]) <= 3600
        assert "Terlalu banyak permintaan" in refused.get_data(as_text=True)
    finally:
        _close(app)


def _status(url: str, forwarded_for: str) -> int:
    request = urllib.request.Request(url, headers={"X-Forwarded-For": forwarded_for})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code


@pytest.fixture
def servers(engine: Engine, settings: Settings) -> Iterator[dict[str, str]]:
    """The same portal behind waitress twice: trusting 127.0.0.1 as a proxy, and not."""
    rebuild_index(engine, settings)
    limited = replace(settings, search_rate_limit=1)
    running = {"trusted": PortalServer(create_app(limited, engine=engine), port=0,
                                       trusted_proxy="127.0.0.1"),
               "untrusted": PortalServer(create_app(limited, engine=engine), port=0)}
    threads = [Thread(target=s.run, daemon=True) for s in running.values()]
    for thread in threads:
        thread.start()
    try:
        yield {name: server.url + "search?q=x" for name, server in running.items()}
    finally:
        for server in running.values():
            server.stop()
        for thread in threads:
            thread.join(timeout=10)


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(
        servers: dict[str, str]) -> None:
    trusted = servers["trusted"]
    assert [_status(trusted, "203.0.113.1"), _status(trusted, "203.0.113.1"),
            _status(trusted, "203.0.113.2")] == [200, 429, 200]
    untrusted = servers["untrusted"]  # forged headers are ignored: one client, 127.0.0.1
    assert [_status(untrusted, "203.0.113.1"), _status(untrusted, "203.0.113.2")] == [200, 429]
