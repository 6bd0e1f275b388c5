"""A whole request has a deadline: servers trickling their status line, headers or body
(a byte now and then, so no single receive ever times out) are cut off."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from aggregator.config import Settings
from aggregator.errors import FetchError
from aggregator.harvest.check import check_endpoint
from aggregator.harvest.client import OAIClient

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 100000\r\n\r\n"
PARTS = {
    "status line": (b"", b"HTTP/1.1 200 OK\r\n"),
    "headers": (b"HTTP/1.1 200 OK\r\n", b"X-Slow: " + b"a" * 1000),
    "body": (HEAD, b"<OAI-PMH>" + b" " * 100000),
}


class Trickler:
    """A TCP server that answers every request with ``first`` at once, then ``slowly``
    one byte every ``gap`` seconds, then ``last`` at once."""

    def __init__(self, first: bytes, slowly: bytes, gap: float = 0.2,
                 last: bytes = b"") -> None:
        self.first, self.slowly, self.gap, self.last = first, slowly, gap, last
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stopping = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(self.first)
                for byte in self.slowly:
                    if self.stopping.wait(self.gap):
                        return
                    conn.sendall(bytes([byte]))
                conn.sendall(self.last)
            except OSError:
                return

    def close(self) -> None:
        self.stopping.set()
        self.listener.close()


@pytest.fixture
def quick(settings: Settings) -> Settings:
    # every byte comes well within read_timeout: only the whole-request deadline can help
    return replace(settings, request_deadline=2.0, read_timeout=5.0, max_retries=0)


@pytest.fixture(params=sorted(PARTS))
def trickler(request: pytest.FixtureRequest) -> Iterator[Trickler]:
    server = Trickler(*PARTS[request.param])
    yield server
    server.close()


def test_a_trickled_answer_is_cut_off_at_the_deadline(quick: Settings,
                                                      trickler: Trickler) -> None:
    url = f"http://127.0.0.1:{trickler.port}/oai"
    started = time.monotonic()
    with OAIClient(url, quick) as client, pytest.raises(FetchError) as info:
        client.harvest(verb="Identify")
    took = time.monotonic() - started
    assert took < quick.request_deadline + 1.5, took
    assert "request_deadline (2s)" in str(info.value)


def test_check_does_not_hang_on_trickled_headers(quick: Settings) -> None:
    server = Trickler(*PARTS["headers"])
    try:
        started = time.monotonic()
        with pytest.raises(FetchError, match="request_deadline"):
            check_endpoint(f"http://127.0.0.1:{server.port}/oai",
                           replace(quick, max_retries=1, backoff_base=0.1))
        assert time.monotonic() - started < 2 * quick.request_deadline + 3
    finally:
        server.close()


def test_a_slow_but_steady_answer_within_the_deadline_is_read(quick: Settings) -> None:
    body = (b'<?xml version="1.0"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
            b"<responseDate>2026-01-01T00:00:00Z</responseDate>"
            b'<request verb="Identify">http://x/oai</request><error code="badVerb">no'
            b"</error></OAI-PMH>")
    head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nConnection: close\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
    server = Trickler(head, body[:5], last=body[5:])  # a second of trickle, then all
    try:
        with OAIClient(f"http://127.0.0.1:{server.port}/oai", quick) as client:
            answer_got = client.harvest(verb="Identify")
        assert answer_got.content == body
    finally:
        server.close()
