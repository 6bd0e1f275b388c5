"""The HTTP transport against real local servers: retries, limits, decoding, politeness."""

from __future__ import annotations

import gzip
import resource
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.config import Settings, load_settings
from aggregator.errors import FetchError, ResponseTooLarge, RetryLater
from aggregator.harvest.client import FetchedResponse, OAIClient, encode_params
from aggregator.harvest.retry import parse_retry_after
from httpfixture import LocalServer, Reply, Seen

OAI = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
       b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><Identify/></OAI-PMH>')
OAI_ERROR = (b'<?xml version="1.0"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
             b'<error code="badResumptionToken">expired</error></OAI-PMH>')
HTML = b"<html><body><h1>Internal Server Error</h1></body></html>"
XML = [("Content-Type", "text/xml; charset=utf-8")]


class Sleeps(list[float]):
    """Records the pauses the client asks for instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "allow_networks": ("127.0.0.0/8",), "contact_email": "ops@example.org",
        "connect_timeout": 2.0, "read_timeout": 2.0, "max_retries": 2, "backoff_base": 1.0}
    values.update(overrides)
    return load_settings(environ={}, **values)


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer() as srv:
        yield srv


def fetch(srv: LocalServer, cfg: Settings | None = None, sleeps: Sleeps | None = None,
          **params: Any) -> FetchedResponse:
    with OAIClient(srv.url, cfg or make_settings(), sleep=sleeps if sleeps is not None else Sleeps()
                   ) as client:
        return client.harvest(**(params or {"verb": "Identify"}))


# --- request shape ----------------------------------------------------------------------

def test_headers_sent_and_answer_shape(server: LocalServer) -> None:
    server.serve(Reply(200, [*XML, ("X-Thing", "1")], OAI))
    response = fetch(server)
    seen = server.seen[0]
    assert "ops@example.org" in seen.headers["user-agent"]
    assert seen.headers["accept"] == "text/xml, application/xml;q=0.9, */*;q=0.1"
    assert seen.headers["accept-encoding"] == "gzip, deflate, identity;q=0.5"
    assert (response.status, response.content, response.notices) == (200, OAI, [])
    assert response.headers["x-thing"] == "1"
    assert response.url == response.request_url == f"{server.url}?verb=Identify"
    assert response.elapsed >= 0


def test_token_arrives_byte_exact_and_empty_params_are_dropped(server: LocalServer) -> None:
    server.serve(Reply(200, XML, OAI))
    token = "oai_dc////100+a/b==%3D:c d&e"
    fetch(server, verb="ListRecords", resumptionToken=token, set=None, until="")
    seen = server.seen[0]
    assert seen.param("resumptionToken") == token
    assert "%2B" in seen.query and "+" not in seen.query
    assert "set=" not in seen.query and "until" not in seen.query
    assert seen.query.startswith("verb=ListRecords&")


@given(st.text())
def test_encode_params_round_trips_any_text(value: str) -> None:
    encoded = encode_params({"resumptionToken": value})
    if value == "":
        assert encoded == ""
    else:
        assert unquote(encoded.split("=", 1)[1]) == value
        assert "+" not in encoded and " " not in encoded


def test_post_sends_the_arguments_in_the_body(server: LocalServer) -> None:
    server.serve(Reply(200, XML, OAI))
    with OAIClient(server.url, make_settings(), http_method="POST") as client:
        client.harvest(verb="ListRecords", resumptionToken="a+b")
    assert server.seen[0].method == "POST"
    assert server.seen[0].body == b"verb=ListRecords&resumptionToken=a%2Bb"


# --- flow control -----------------------------------------------------------------------

def test_503_retry_after_seconds_is_honoured(server: LocalServer) -> None:
    server.serve(Reply(503, [("Retry-After", "2")]), Reply(200, XML, OAI))
    sleeps = Sleeps()
    assert fetch(server, sleeps=sleeps).status == 200
    assert sleeps == [2.0]
    assert len(server.seen) == 2


def test_503_retry_after_http_date_is_honoured(server: LocalServer) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    server.serve(Reply(503, [("Retry-After", when)]), Reply(200, XML, OAI))
    sleeps = Sleeps()
    fetch(server, sleeps=sleeps)
    assert len(sleeps) == 1 and 27 <= sleeps[0] <= 30


def test_429_is_flow_control_too(server: LocalServer) -> None:
    server.serve(Reply(429, [("Retry-After", "1")]), Reply(200, XML, OAI))
    sleeps = Sleeps()
    assert fetch(server, sleeps=sleeps).status == 200
    assert sleeps == [1.0]


def test_huge_retry_after_asks_to_come_back_later(server: LocalServer) -> None:
    server.serve(Reply(503, [("Retry-After", "999999")]))
    sleeps = Sleeps()
    with pytest.raises(RetryLater) as info:
        fetch(server, sleeps=sleeps)
    assert sleeps == []
    not_before = datetime.fromisoformat(info.value.not_before.replace("Z", "+00:00"))
    expected = datetime.now(UTC) + timedelta(seconds=999999)
    assert abs((not_before - expected).total_seconds()) < 60
    assert info.value.retryable


def test_consecutive_503_give_up(server: LocalServer) -> None:
    server.serve(Reply(503))
    sleeps = Sleeps()
    with pytest.raises(FetchError) as info:
        fetch(server, make_settings(backoff_base=1.0), sleeps)
    assert (info.value.status, info.value.retryable) == (503, True)
    assert len(server.seen) == 5 and len(sleeps) == 4
    for n, pause in enumerate(sleeps):  # exponential backoff with jitter
        assert 0.5 * 2 ** n <= pause <= 1.5 * 2 ** n


def test_retry_after_on_a_200_is_not_an_instruction(server: LocalServer) -> None:
    server.serve(Reply(200, [*XML, ("Retry-After", "60")], OAI))
    sleeps = Sleeps()
    fetch(server, sleeps=sleeps)
    assert sleeps == []


@pytest.mark.parametrize(("value", "expected"), [
    ("120", 120.0), (" 7 ", 7.0), ("0", 0.0), ("soon", None), ("", None), (None, None),
    ("-5", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
])
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


# --- statuses returned or retried -------------------------------------------------------

@pytest.mark.parametrize("status", [400, 404, 422])
def test_oai_error_with_4xx_is_returned(server: LocalServer, status: int) -> None:
    server.serve(Reply(status, XML, OAI_ERROR))
    response = fetch(server)
    assert (response.status, response.content) == (status, OAI_ERROR)
    assert len(server.seen) == 1


def test_500_with_oai_body_is_returned(server: LocalServer) -> None:
    server.serve(Reply(500, XML, OAI_ERROR))
    assert fetch(server).status == 500
    assert len(server.seen) == 1


def test_html_500_is_retried_then_fails(server: LocalServer) -> None:
    server.serve(Reply(500, [("Content-Type", "text/html")], HTML))
    sleeps = Sleeps()
    with pytest.raises(FetchError) as info:
        fetch(server, make_settings(max_retries=2), sleeps)
    assert (info.value.status, info.value.retryable) == (500, True)
    assert len(server.seen) == 3 and len(sleeps) == 2


@pytest.mark.parametrize("status", [408, 502, 504])
def test_gateway_errors_are_retried(server: LocalServer, status: int) -> None:
    server.serve(Reply(status, body=HTML), Reply(200, XML, OAI))
    assert fetch(server).content == OAI


# --- bodies: compression, size, truncation, stalls --------------------------------------

def test_gzip_with_and_without_content_encoding(server: LocalServer) -> None:
    server.serve(Reply(200, [*XML, ("Content-Encoding", "gzip")], gzip.compress(OAI)))
    declared = fetch(server)
    assert declared.content == OAI and declared.notices == []
    server.serve(Reply(200, XML, gzip.compress(OAI)))
    hidden = fetch(server)
    assert hidden.content == OAI
    assert [n.code for n in hidden.notices] == ["undeclared-gzip"]


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS], ids=["zlib", "raw"])
def test_deflate_zlib_wrapped_and_raw(server: LocalServer, wbits: int) -> None:
    packer = zlib.compressobj(6, zlib.DEFLATED, wbits)
    body = packer.compress(OAI) + packer.flush()
    server.serve(Reply(200, [*XML, ("Content-Encoding", "deflate")], body))
    assert fetch(server).content == OAI


def test_broken_declared_encoding_falls_back_to_identity(server: LocalServer) -> None:
    def script(seen: Seen) -> Reply:
        if seen.headers.get("accept-encoding") == "identity":
            return Reply(200, XML, OAI)
        return Reply(200, [*XML, ("Content-Encoding", "gzip")], b"this is not gzip at all")
    server.script = script
    response = fetch(server)
    assert response.content == OAI
    assert [n.code for n in response.notices] == ["identity-fallback"]
    assert len(server.seen) == 2


def test_zstd_body_is_refused_clearly(server: LocalServer) -> None:
    server.serve(Reply(200, XML, b"\x28\xb5\x2f\xfd" + b"\0" * 32))
    with pytest.raises(FetchError, match="zstd"):
        fetch(server)


@pytest.fixture(scope="module")
def bomb() -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    return b"".join([packer.compress(block) for _ in range(300)] + [packer.flush()])


@pytest.mark.parametrize("declared", [True, False])
def test_gzip_bomb_stops_at_the_cap(server: LocalServer, bomb: bytes, declared: bool) -> None:
    headers = [*XML, ("Content-Encoding", "gzip")] if declared else XML
    server.serve(Reply(200, headers, bomb))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ResponseTooLarge):
        fetch(server, make_settings(max_response_bytes=5 * 1024 * 1024))
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 60


def test_plain_body_over_the_cap(server: LocalServer) -> None:
    server.serve(Reply(200, XML, b"<x>" + b"a" * (2 * 1024 * 1024)))
    with pytest.raises(ResponseTooLarge):
        fetch(server, make_settings(max_response_bytes=1024 * 1024))


def test_stalled_server_times_out(server: LocalServer) -> None:
    server.serve(Reply(200, [*XML, ("Content-Length", "5000")], b"", stall=30))
    started = time.monotonic()
    with pytest.raises(FetchError) as info:
        fetch(server, make_settings(read_timeout=0.5, max_retries=1))
    assert time.monotonic() - started < 5
    assert info.value.retryable and len(server.seen) == 2


def test_dripping_server_hits_the_overall_deadline(server: LocalServer) -> None:
    server.serve(Reply(200, XML, b"<x>" + b"a" * 5000, drip=0.1))  # 5 s in all
    started = time.monotonic()
    with pytest.raises(FetchError, match="took longer than") as info:
        fetch(server, make_settings(read_timeout=0.3, max_retries=0))
    assert time.monotonic() - started < 3
    assert info.value.retryable


def test_truncated_body_is_retried(server: LocalServer) -> None:
    server.serve(Reply(200, [*XML, ("Content-Length", str(len(OAI) + 500))], OAI),
                 Reply(200, XML, OAI))
    sleeps = Sleeps()
    assert fetch(server, sleeps=sleeps).content == OAI
    assert len(server.seen) == 2 and len(sleeps) == 1


def test_always_truncated_gives_up(server: LocalServer) -> None:
    server.serve(Reply(200, [*XML, ("Content-Length", "99999")], OAI[:40]))
    with pytest.raises(FetchError, match="truncated") as info:
        fetch(server, make_settings(max_retries=1))
    assert info.value.retryable


# --- redirects --------------------------------------------------------------------------

def test_permanent_redirect_is_followed_and_reported(server: LocalServer) -> None:
    def script(seen: Seen) -> Reply:
        if seen.path == "/oai":
            return Reply(301, [("Location", f"{server.base}/new/oai?{seen.query}")])
        return Reply(200, XML, OAI)
    server.script = script
    response = fetch(server, verb="ListSets")
    assert response.url == f"{server.base}/new/oai?verb=ListSets"
    assert response.request_url == f"{server.url}?verb=ListSets"
    assert [(n.code, f"{server.base}/new/oai" in n.message) for n in response.notices] == [
        ("moved", True)]
    assert [s.path for s in server.seen] == ["/oai", "/new/oai"]


def test_too_many_redirects(server: LocalServer) -> None:
    server.serve(Reply(302, [("Location", "/oai?again=1")]))
    with pytest.raises(FetchError, match="redirects"):
        fetch(server, make_settings(max_redirects=3))
    assert len(server.seen) == 4


# --- connection failures ----------------------------------------------------------------

def test_connection_refused_names_the_host() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps = Sleeps()
    client = OAIClient(f"http://127.0.0.1:{port}/oai", make_settings(max_retries=2), sleep=sleeps)
    with client, pytest.raises(FetchError, match=r"cannot connect to host: 127\.0\.0\.1") as info:
        client.harvest(verb="Identify")
    assert info.value.retryable and len(sleeps) == 2
    assert "\n" not in str(info.value)


def test_dns_failure_names_the_host() -> None:
    def no_dns(host: str, port: int, *args: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    client = OAIClient("http://nowhere.example/oai", make_settings(max_retries=0), resolver=no_dns)
    with client, pytest.raises(FetchError, match="cannot connect to host: nowhere.example"):
        client.harvest(verb="Identify")


# --- politeness -------------------------------------------------------------------------

def test_two_threads_to_one_host_do_not_overlap(server: LocalServer) -> None:
    server.serve(Reply(200, XML, OAI, delay=0.3))
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            fetch(server)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == []
    first, second = sorted(server.seen, key=lambda s: s.started)
    assert second.started >= first.finished


def test_request_delay_between_requests_to_one_host(server: LocalServer) -> None:
    server.serve(Reply(200, XML, OAI))
    sleeps = Sleeps()
    with OAIClient(server.url, make_settings(request_delay=5.0), sleep=sleeps) as client:
        client.harvest(verb="Identify")
        client.harvest(verb="Identify")
    assert len(sleeps) >= 1 and 4.0 < sleeps[-1] <= 5.0
