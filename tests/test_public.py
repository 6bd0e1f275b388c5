"""The site in public, tried as an attacker would: absolute URLs only from base_url,
slow clients that cannot lock everyone out, ids in URLs in ASCII digits."""

from __future__ import annotations

import contextlib
import os
import re
import resource
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from aggregator.offer_files import OfferItem
from aggregator.store import catalog, offers, requests
from aggregator.store.db import session_scope
from aggregator.store.models import ServiceRequest
from aggregator.web import create_app
from aggregator.web.serve import PortalServer
from portal import Site, build_sample_site, close_site

BASE = "https://katalog.example.id"
EVIL = "evil.example"
pytestmark = pytest.mark.skipif(not Path("/proc/self/task").exists(),
                                reason="reads worker processes from /proc (Linux)")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    built = build_sample_site(tmp_path_factory.mktemp("public"))
    with session_scope(built.engine) as session:  # a request form and a status page
        requests.set_request_settings(session, "unira", "both", "Members only.")
        requests.create(session, holder="unira", kind="copy", title="Sampel",
                        patron_name="Siti", patron_email="siti@example.org",
                        home_library="Perpustakaan Sekolah")
    with session_scope(built.engine) as session:  # an exchange offer for /exchange/<id>
        offers.add_items(session, catalog.get_member(session, "unira").id,
                         [OfferItem(title="Buku tukar")])
    yield built
    close_site(built)


@pytest.fixture(scope="module")
def app(site: Site) -> Flask:
    return create_app(replace(site.settings, base_url=BASE), engine=site.engine,
                      index=site.app.extensions["aggregator"].index.get())


def sample_paths(app: Flask, site: Site) -> list[str]:
    """A URL for every GET route of the app, with real values for its parts, so that a
    route added later is tried too."""
    values = {"record_id": str(site.record_id("unira", "oai:eprints.unira.example.ac.id:477")),
              "slug": "unira", "fmt": "ris", "filename": "style.css", "source_id": "1",
              "application_id": "1", "number": "0", "name": "subject",
              "request_id": "1", "action": "accept", "offer_id": "1"}
    with session_scope(site.engine) as session:
        values["token"] = session.scalars(select(ServiceRequest.token)).one()
    this_month = datetime.now(UTC).strftime("%Y-%m")
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: values[m.group(1)], rule.rule)
        query = {"/search": "?q=pendidikan", "/api/search": "?q=pendidikan",
                 "/api/suggest": "?q=pend", "/oai": "?verb=Identify",
                 "/search/export/<fmt>": "?q=pendidikan",
                 # the lists write absolute record URLs: this month's hold the sample's
                 "/new.atom": "?period=month&type=Book", "/new.csv": f"?month={this_month}",
                 "/members/<slug>/new/print": f"?month={this_month}"}.get(rule.rule, "")
        paths.append(path + query)
    return paths


def test_the_host_header_never_goes_into_a_url(app: Flask, site: Site) -> None:
    client = app.test_client()
    paths = sample_paths(app, site)
    assert {"/opensearch.xml", "/api/search?q=pendidikan", "/oai?verb=Identify"} <= set(paths)
    for path in paths:
        response = client.get(path, headers={"Host": EVIL, "X-Forwarded-Host": EVIL,
                                             "X-Forwarded-Proto": "gopher"})
        assert response.status_code in (200, 301, 302), path
        body = response.get_data()
        response.close()
        assert EVIL.encode() not in body, path
        assert not any(EVIL in value for _, value in response.headers), path
    written = {"/opensearch.xml": client.get("/opensearch.xml").get_data(),
               "/api/search": client.get("/api/search?q=pendidikan").get_data(),
               "/oai": client.get("/oai?verb=Identify").get_data(),
               "/new.atom": client.get("/new.atom", headers={"Host": EVIL}).get_data(),
               "/new.csv": client.get(f"/new.csv?month={datetime.now(UTC):%Y-%m}",
                                      headers={"Host": EVIL}).get_data()}
    for path, body in written.items():
        assert f"{BASE}/".encode() in body, path
    record = site.record_id("unira", "oai:eprints.unira.example.ac.id:477")
    ris = client.get(f"/records/{record}/export/ris", headers={"Host": EVIL}).get_data()
    assert re.search(rf"^UR  - {re.escape(BASE)}/records/{record}\b", ris.decode(), re.M)


def test_werkzeugs_own_redirects_lead_to_base_url(app: Flask, site: Site) -> None:
    """Doubled slashes are merged by a redirect that Werkzeug writes itself."""
    record = site.record_id("unira", "oai:eprints.unira.example.ac.id:477")
    client = app.test_client()
    for path, target in ((f"/records//{record}", f"/records/{record}"),
                         (f"/records/{record}//export/ris", f"/records/{record}/export/ris")):
        response = client.get(path, headers={"Host": EVIL})
        assert response.status_code == 308, path
        assert response.headers["Location"] == BASE + target, path


@pytest.mark.parametrize("path", ["/records/１", "/records/٣", "/api/records/１",
                                  "/records/１/export/ris", "/records/99999999999999999999"])
def test_ids_in_urls_are_ascii_digits(app: Flask, site: Site, path: str) -> None:
    client = app.test_client()
    assert client.get(path).status_code == 404
    record = site.record_id("unira", "oai:eprints.unira.example.ac.id:477")
    assert client.get(f"/records/{record}").status_code == 200


def test_connections_past_file_number_1024_are_served(app: Flask) -> None:
    """select() cannot watch a socket numbered above 1024; a busy server gets there."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"this process may open only {hard} files")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    filler = [os.open(os.devnull, os.O_RDONLY) for _ in range(1030)]
    server = None
    try:
        server = PortalServer(app, port=0)
        assert server._server.socket.fileno() > 1024
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        with urllib.request.urlopen(server.url + "healthz", timeout=10) as response:
            assert response.status == 200
    finally:
        if server is not None:
            server.stop()
        for fd in filler:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


# -- aggregator serve ------------------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    values = {**os.environ, "AGGREGATOR_DATA_DIR": str(tmp_path / "data"),
              "AGGREGATOR_DATABASE_URL": ""}
    for name in [k for k in values if k.startswith("AGGREGATOR_") and k not in (
            "AGGREGATOR_DATA_DIR", "AGGREGATOR_DATABASE_URL")]:
        values.pop(name)
    for args in (["init"], ["index", "rebuild"]):
        subprocess.run([sys.executable, "-m", "aggregator", *args], env=values, check=True,
                       capture_output=True, timeout=60)
    return values


def start(env: dict[str, str], *args: str) -> tuple[subprocess.Popen[str], str]:
    child = subprocess.Popen([sys.executable, "-m", "aggregator", "serve", "--port", "0",
                              *args], env=env, text=True, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    assert child.stdout is not None
    line = child.stdout.readline()
    found = re.search(r"(http://[\d.]+:\d+/)", line)
    assert found, line
    return child, found.group(1)


def stop(child: subprocess.Popen[str]) -> str:
    child.terminate()
    try:
        _, err = child.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        child.kill()
        _, err = child.communicate()
    return err


def healthz_seconds(url: str, limit: float) -> float | None:
    """Seconds /healthz took, or None when it did not answer within ``limit``."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url + "healthz", timeout=limit) as response:
            assert response.status == 200
    except (TimeoutError, OSError):
        return None
    return time.monotonic() - started


def trickle(url: str, count: int) -> list[socket.socket]:
    """``count`` connections that start a request and then send a byte now and then."""
    host, port = re.match(r"http://([\d.]+):(\d+)/", url).groups()  # type: ignore[union-attr]
    held = []
    for _ in range(count):
        sock = socket.create_connection((host, int(port)), timeout=5)
        sock.sendall(b"GET /search?q=")
        held.append(sock)
    return held


def keep_trickling(held: list[socket.socket]) -> None:
    for sock in held:
        with contextlib.suppress(OSError):
            sock.sendall(b"a")


def test_slow_clients_cannot_lock_out_the_site(env: dict[str, str]) -> None:
    """150 connections trickling their requests (a byte at a time) used to fill
    waitress's 100 connections, and /healthz waited as long as they held on."""
    for limit, answers in (("100", False), (None, True)):
        run_env = dict(env, **({"AGGREGATOR_WEB_CONNECTION_LIMIT": limit} if limit else {}))
        child, url = start(run_env, "--workers", "1", "--threads", "2")
        held: list[socket.socket] = []
        try:
            assert healthz_seconds(url, 10) is not None
            held = trickle(url, 150)
            time.sleep(0.5)
            keep_trickling(held)
            took = healthz_seconds(url, 3)
            if answers:
                assert took is not None and took < 2, took
            else:  # the old limit: the test really holds the server's connections
                assert took is None
        finally:
            for sock in held:
                sock.close()
            stop(child)


def test_a_request_sent_too_slowly_is_cut_off(env: dict[str, str]) -> None:
    child, url = start(dict(env, AGGREGATOR_WEB_REQUEST_TIMEOUT="2"), "--workers", "1")
    (slow,) = trickle(url, 1)
    try:
        deadline = time.monotonic() + 15
        closed = False
        while time.monotonic() < deadline and not closed:
            try:
                slow.sendall(b"a")  # active all along: the idle timeout never fires
                slow.settimeout(0.5)
                closed = slow.recv(1) == b""
            except TimeoutError:
                continue
            except OSError:
                closed = True
        assert closed, "a trickling request held its connection"
        assert healthz_seconds(url, 5) is not None
    finally:
        slow.close()
        stop(child)


def test_serve_names_its_own_address_when_base_url_is_unset(env: dict[str, str]) -> None:
    child, url = start(env, "--workers", "1")
    try:
        with urllib.request.urlopen(url + "opensearch.xml", timeout=10) as response:
            assert f'template="{url}search?q=' in response.read().decode()
        with urllib.request.urlopen(url + "oai?verb=Identify", timeout=10) as response:
            assert f"<baseURL>{url}oai</baseURL>" in response.read().decode()
    finally:
        assert "warning" not in stop(child)  # loopback: nothing to warn about
    child, url = start(env, "--workers", "1", "--host", "0.0.0.0")
    err = stop(child)
    assert "warning: base_url is not set" in err
