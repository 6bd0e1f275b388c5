"""SSRF defence: URL shape checks, the address policy and connect-time enforcement."""

from __future__ import annotations

import ipaddress
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from aggregator.config import Settings, load_settings
from aggregator.errors import BlockedAddress, FetchError, UserInputError
from aggregator.harvest.check import check_endpoint
from aggregator.harvest.client import OAIClient
from aggregator.harvest.netguard import address_allowed, validate_url
from harvesting import register, run
from httpfixture import LocalServer, Reply

OAI_OK = b'<?xml version="1.0"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"/>'


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"connect_timeout": 2.0, "read_timeout": 2.0, "max_retries": 0,
                              "backoff_base": 0.0}
    values.update(overrides)
    return load_settings(environ={}, **values)


def answer(ip: str, port: int) -> tuple[Any, ...]:
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    addr: tuple[Any, ...] = (ip, port, 0, 0) if family == socket.AF_INET6 else (ip, port)
    return (family, socket.SOCK_STREAM, 6, "", addr)


def system_like(host: str, port: int, *args: Any) -> list[tuple[Any, ...]]:
    """The system resolver, with /etc/hosts-style answers for localhost everywhere."""
    if host.rstrip(".").lower() == "localhost":
        return [answer("127.0.0.1", port), answer("::1", port)]
    return list(socket.getaddrinfo(host, port, *args))


def fixed(*ips: str) -> Any:
    def resolve(host: str, port: int, *args: Any) -> list[tuple[Any, ...]]:
        return [answer(ip, port) for ip in ips]
    return resolve


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer() as srv:
        srv.serve(Reply(200, [("Content-Type", "text/xml")], OAI_OK))
        yield srv


# --- validate_url -----------------------------------------------------------------------

def test_validate_url_strips_and_accepts_http_and_https() -> None:
    assert validate_url("  https://oai.example.org/oai?x=1 \n") == "https://oai.example.org/oai?x=1"
    assert validate_url("HTTP://Example.org:8080/oai") == "HTTP://Example.org:8080/oai"


@pytest.mark.parametrize("url", [
    "", "   ", "file:///etc/passwd", "gopher://x", "ftp://example.org/", "javascript:alert(1)",
    "http://good@127.0.0.1/", "https://user:pw@example.org/oai", "http:///oai",
    "https://example.org/oai#frag", "http://example.org:99999/", "http://exa mple.org/",
    "example.org/oai", "http://[::1/",
])
def test_validate_url_rejects_malformed(url: str) -> None:
    with pytest.raises(UserInputError) as info:
        validate_url(url)
    assert "\n" not in str(info.value)


# --- address policy ---------------------------------------------------------------------

@pytest.mark.parametrize("ip", [
    "127.0.0.1", "127.255.0.9", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
    "100.64.0.1", "100.127.255.254", "0.0.0.0", "0.1.2.3", "224.0.0.1", "239.255.255.250",
    "240.0.0.1", "255.255.255.255", "198.18.0.1", "192.0.2.1", "::1", "::", "fe80::1",
    "fe80::1%eth0", "fc00::1", "fd12:3456::1", "ff02::1", "::ffff:127.0.0.1",
    "::ffff:10.0.0.1", "::ffff:169.254.169.254", "64:ff9b::7f00:1", "64:ff9b::a00:1",
    "2002:7f00:1::", "2002:c0a8:101::1", "not-an-ip",
])
def test_forbidden_addresses(ip: str) -> None:
    assert not address_allowed(ip, ())


@pytest.mark.parametrize("ip", [
    "8.8.8.8", "93.184.215.14", "2606:4700:4700::1111", "::ffff:8.8.8.8",
    "64:ff9b::808:808", "2002:808:808::1",
])
def test_public_addresses(ip: str) -> None:
    assert address_allowed(ip, ())


def test_allowed_networks_open_exactly_what_they_name() -> None:
    loop = (ipaddress.ip_network("127.0.0.1/32"),)
    assert address_allowed("127.0.0.1", loop)
    assert address_allowed("::ffff:127.0.0.1", loop)
    assert not address_allowed("127.0.0.2", loop)
    assert not address_allowed("10.0.0.1", loop)


# --- connect-time enforcement through the client ----------------------------------------

def harvest(url: str, cfg: Settings, resolver: Any = system_like) -> Any:
    with OAIClient(url, cfg, resolver=resolver, sleep=lambda s: None) as client:
        return client.harvest(verb="Identify")


@pytest.mark.parametrize("template", [
    "http://127.0.0.1:{port}/oai", "http://[::1]:{port}/oai", "http://0x7f000001:{port}/oai",
    "http://2130706433:{port}/oai", "http://169.254.169.254/latest/meta-data/",
    "http://localhost.:{port}/oai", "http://LOCALHOST:{port}/oai", "http://0.0.0.0:{port}/",
    "file:///etc/passwd", "gopher://x", "http://good@127.0.0.1:{port}/oai",
])
def test_ssrf_targets_are_refused_before_any_byte(server: LocalServer, template: str) -> None:
    with pytest.raises(BlockedAddress):
        harvest(template.format(port=server.port), make_settings())
    assert server.seen == []


def test_the_allow_list_opens_the_local_server(server: LocalServer) -> None:
    response = harvest(server.url, make_settings(allow_networks=("127.0.0.0/8",)))
    assert response.status == 200
    assert len(server.seen) == 1


def test_public_looking_name_resolving_to_loopback(server: LocalServer) -> None:
    url = f"http://oai.example.org:{server.port}/oai"
    with pytest.raises(BlockedAddress, match="oai.example.org"):
        harvest(url, make_settings(), fixed("127.0.0.1"))
    assert server.seen == []
    # opened on purpose, the name is reached at the address the resolver gave
    response = harvest(url, make_settings(allow_networks=("127.0.0.0/8",)), fixed("127.0.0.1"))
    assert response.status == 200
    assert server.seen[0].headers["host"] == f"oai.example.org:{server.port}"


def test_every_resolved_address_must_be_allowed(server: LocalServer) -> None:
    url = f"http://mixed.example.org:{server.port}/oai"
    with pytest.raises(BlockedAddress):
        harvest(url, make_settings(), fixed("93.184.215.14", "127.0.0.1"))
    assert server.seen == []


def test_dns_rebinding_is_checked_on_the_connection_itself(server: LocalServer) -> None:
    calls: list[str] = []

    def rebinding(host: str, port: int, *args: Any) -> list[tuple[Any, ...]]:
        calls.append(host)
        return [answer("127.0.0.1" if len(calls) == 1 else "127.0.0.2", port)]

    cfg = make_settings(allow_networks=("127.0.0.1/32",))
    url = f"http://rebind.example.org:{server.port}/oai"
    with OAIClient(url, cfg, resolver=rebinding, sleep=lambda s: None) as client:
        assert client.harvest(verb="Identify").status == 200
        with pytest.raises(BlockedAddress, match="127.0.0.2"):
            client.harvest(verb="Identify")
    assert len(server.seen) == 1
    assert calls == ["rebind.example.org", "rebind.example.org"]  # one lookup per connection


def test_redirect_to_a_blocked_address_is_refused(server: LocalServer) -> None:
    with LocalServer(host="127.0.0.2") as inner:
        inner.serve(Reply(200, body=b"INTERNAL-ONLY"))
        server.serve(Reply(302, [("Location", f"{inner.base}/internal-admin")]))
        with pytest.raises(BlockedAddress):
            harvest(server.url, make_settings(allow_networks=("127.0.0.1/32",)))
        assert len(server.seen) == 1
        assert inner.seen == []


@pytest.mark.parametrize("location", ["file:///etc/passwd", "gopher://x/", "http://a@b/"])
def test_redirect_to_a_forbidden_scheme_is_refused(server: LocalServer, location: str) -> None:
    server.serve(Reply(301, [("Location", location)]))
    with pytest.raises(BlockedAddress):
        harvest(server.url, make_settings(allow_networks=("127.0.0.1/32",)))


# --- TLS: the socket goes to the checked IP, SNI and the certificate use the name -------

@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[LocalServer, list[str | None]]]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
         "-subj", "/CN=oai.example.test", "-addext", "subjectAltName=DNS:oai.example.test"],
        check=True, capture_output=True)
    names: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    with LocalServer(tls=context) as srv:
        srv.serve(Reply(200, [("Content-Type", "text/xml")], OAI_OK))
        yield srv, names


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_tls_sni_uses_the_host_name(tls_server: tuple[LocalServer, list[str | None]]) -> None:
    srv, names = tls_server
    cfg = make_settings(allow_networks=("127.0.0.0/8",), verify_tls=False)
    response = harvest(f"https://oai.example.test:{srv.port}/oai", cfg, fixed("127.0.0.1"))
    assert response.status == 200
    assert names == ["oai.example.test"]
    assert any(n.code == "tls-unverified" for n in response.notices)


def test_tls_verification_failure_is_a_tls_fetch_error(
        tls_server: tuple[LocalServer, list[str | None]]) -> None:
    srv, _names = tls_server
    cfg = make_settings(allow_networks=("127.0.0.0/8",), max_retries=3)
    with pytest.raises(FetchError, match="TLS") as info:
        harvest(f"https://oai.example.test:{srv.port}/oai", cfg, fixed("127.0.0.1"))
    assert not info.value.retryable
    assert srv.seen == []


# --- redirects: every hop is judged again, whoever follows it ------------------------------

def redirect_chain(outer: LocalServer, target: str) -> None:
    """Answer /oai with a redirect to /hop, and /hop with a redirect to ``target``."""
    def script(seen: Any) -> Reply:
        if seen.path == "/oai":
            return Reply(302, [("Location", f"{outer.base}/hop?{seen.query}")])
        return Reply(307, [("Location", target)])
    outer.script = script


@pytest.mark.parametrize("target", [
    "http://127.0.0.2:{port}/internal", "http://0x7f000002:{port}/internal",
    "http://2130706434:{port}/internal", "http://localhost:{port}/internal",
    "http://[::ffff:127.0.0.2]:{port}/internal", "http://169.254.169.254/latest/meta-data/",
])
def test_a_redirect_chain_ending_on_a_forbidden_address_is_refused(
        server: LocalServer, target: str) -> None:
    with LocalServer(host="127.0.0.2") as inner:
        inner.serve(Reply(200, [("Content-Type", "text/xml")], OAI_OK))
        redirect_chain(server, target.format(port=inner.port))
        with pytest.raises(BlockedAddress):
            harvest(server.url, make_settings(allow_networks=("127.0.0.1/32",)))
        assert [s.path for s in server.seen] == ["/oai", "/hop"]
        assert inner.seen == []


def test_aggregator_check_never_follows_a_redirect_to_a_forbidden_address(
        server: LocalServer) -> None:
    with LocalServer(host="127.0.0.2") as inner:
        inner.serve(Reply(200, [("Content-Type", "text/xml")], OAI_OK))
        redirect_chain(server, f"{inner.base}/internal")
        with pytest.raises(BlockedAddress, match="127.0.0.2"):
            check_endpoint(server.url, make_settings(allow_networks=("127.0.0.1/32",)))
        assert inner.seen == []


def test_the_harvester_never_follows_a_redirect_to_a_forbidden_address(
        server: LocalServer, settings: Settings, engine: Engine) -> None:
    with LocalServer(host="127.0.0.2") as inner:
        inner.serve(Reply(200, [("Content-Type", "text/xml")], OAI_OK))
        redirect_chain(server, f"{inner.base}/internal")
        source = register(engine, server.url)
        result = run(engine, replace(settings, allow_networks=("127.0.0.1/32",),
                                     max_retries=0), source)
        assert result.status == "failed"
        assert "127.0.0.2" in result.errors[0]["message"]
        assert inner.seen == []
