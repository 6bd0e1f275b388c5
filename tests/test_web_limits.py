"""The per-client search limit, in the app and behind a trusted reverse proxy."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from threading import Thread

import pytest
from flask import Flask
from sqlalchemy import Engine

from aggregator.config import Settings
from aggregator.index.sync import rebuild_index
from aggregator.web import create_app
from aggregator.web.limits import WINDOW, SearchLimiter, TooManySearches
from aggregator.web.serve import PortalServer


def test_the_limiter_counts_each_client_in_its_own_window() -> None:
    limiter = SearchLimiter(3)
    for _ in range(3):
        limiter.check("a", now=100.0)
    with pytest.raises(TooManySearches) as refused:
        limiter.check("a", now=130.0)
    assert refused.value.retry_after == 30
    limiter.check("b", now=130.0)  # another client is not affected
    limiter.check("a", now=100.0 + WINDOW)  # a new window
    unlimited = SearchLimiter(0)
    for _ in range(1000):
        unlimited.check("a", now=1.0)


@pytest.fixture
def app(engine: Engine, settings: Settings) -> Flask:
    rebuild_index(engine, settings)  # an empty, valid index
    return create_app(replace(settings, search_rate_limit=2), engine=engine)


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_searches_beyond_the_limit_get_429_with_retry_after(app: Flask) -> None:
    client = app.test_client()
    assert [client.get("/search?q=a").status_code for _ in range(2)] == [200, 200]
    page = client.get("/search?q=a")
    assert page.status_code == 429 and 1 <= int(page.headers["Retry-After"]) <= 60
    assert "Terlalu banyak pencarian" in page.get_data(as_text=True)
    assert page.headers["Content-Security-Policy"]
    api = client.get("/api/search?q=a")
    assert api.status_code == 429 and api.json is not None and api.json["status"] == 429
    assert client.get("/about").status_code == 200  # only searches are counted
    assert client.get("/healthz").status_code == 200
    other = app.test_client()
    assert other.get("/search?q=a", environ_base={"REMOTE_ADDR": "10.9.8.7"}).status_code == 200


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
