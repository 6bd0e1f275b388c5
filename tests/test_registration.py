"""The rule deciding whether a base URL may be registered: shape, canonical host, address."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

from aggregator.errors import RefusedURL, UserInputError
from aggregator.harvest.registration import REFUSALS, canonical_host, check_registered_url

LOOPBACK_NET = (ipaddress.ip_network("127.0.0.0/8"),)


def refusal(url: str, allowed: Any = ()) -> RefusedURL:
    with pytest.raises(RefusedURL) as info:
        check_registered_url(url, allowed)
    return info.value


# --- every spelling of the loopback and unspecified addresses, refused at once ------------

@pytest.mark.parametrize("url", [
    "http://0x7f000001/oai", "http://2130706433/oai", "http://127.1/oai",
    "http://017700000001/oai", "http://0x7f.1/oai", "http://127.0.0.1./oai",
    "http://localhost/oai", "http://LOCALHOST./oai", "http://repo.localhost/oai",
    "http://[::1]/oai", "http://[0:0:0:0:0:0:0:1]/oai", "http://[::ffff:127.0.0.1]/oai",
    "https://127.0.0.2:8443/oai",
])
def test_loopback_in_any_spelling_gets_the_message_of_127_0_0_1(
        url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dns(*args: Any) -> Any:
        raise AssertionError("loopback forms must be refused without asking DNS")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    plain = refusal("http://127.0.0.1/")
    refused = refusal(url)
    assert (refused.cause, str(refused)) == ("loopback", str(plain))
    assert "not a public address" in str(refused) and "allow_networks" in str(refused)


@pytest.mark.parametrize("url", ["http://0/", "http://0.0.0.0/", "http://0x0/", "http://[::]/",
                                 "http://0.1.2.3/"])
def test_the_unspecified_address_in_any_spelling(url: str) -> None:
    assert refusal(url).cause == "unspecified"
    assert str(refusal(url)) == str(refusal("http://0/")) == REFUSALS["unspecified"]


@pytest.mark.parametrize(("url", "cause"), [
    ("http://10.0.0.1/oai", "private"),
    ("http://0x0a000001/oai", "private"),
    ("http://192.168.1.20:8080/slims/oai.php", "private"),
    ("http://172.16.5.4/oai", "private"),
    ("http://100.64.0.1/oai", "private"),
    ("http://[fd12:3456::1]/oai", "private"),
    ("http://[::ffff:10.0.0.1]/oai", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://[fe80::1]/oai", "link-local"),
    ("http://224.0.0.1/oai", "multicast"),
    ("http://[ff02::1]/oai", "multicast"),
    ("http://240.0.0.1/oai", "reserved"),
    ("http://192.0.2.10/oai", "reserved"),
])
def test_forbidden_addresses_name_their_cause(url: str, cause: str) -> None:
    refused = refusal(url)
    assert refused.cause == cause
    assert str(refused) == REFUSALS[cause]
    assert isinstance(refused, UserInputError)  # the CLI's exit 2 and one-line error


def test_a_name_resolving_to_a_private_address(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def private_answer(host: str, port: int, *args: Any) -> Any:
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.20.30.40", port))]

    monkeypatch.setattr(socket, "getaddrinfo", private_answer)
    refused = refusal("https://Repo.Example.AC.ID./oai/request")
    assert asked == ["repo.example.ac.id"]
    assert (refused.cause, refused.address) == ("private", "10.20.30.40")
    assert str(refused) == str(refusal("http://10.0.0.1/"))
    opened = (ipaddress.ip_network("10.0.0.0/8"),)
    assert (check_registered_url("https://Repo.Example.AC.ID./oai/request", opened)
            == "https://repo.example.ac.id/oai/request")


def test_a_name_that_does_not_resolve() -> None:
    def nothing(*args: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(RefusedURL) as info:
        check_registered_url("http://perpus.example.ac.id/oai.php", resolver=nothing)
    assert info.value.cause == "unresolvable"
    assert "does not resolve" in str(info.value)
    assert refusal("http://repo.invalid/oai").cause == "unresolvable"  # never asked of DNS


@pytest.mark.parametrize(("url", "cause"), [
    ("ftp://example.org/oai", "scheme"),
    ("javascript:alert(1)", "scheme"),
    ("file:///etc/passwd", "scheme"),
    ("gopher://example.org/", "scheme"),
    ("example.org/oai", "scheme"),
    ("", "empty"),
    ("   ", "empty"),
    ("http://exa mple.org/", "unparsable"),
    ("http://[::1/", "unparsable"),
    ("http://good@127.0.0.1/", "credentials"),
    ("https://user:pw@example.org/oai", "credentials"),
    ("http:///oai", "no-host"),
    ("https://example.org/oai#top", "fragment"),
    ("http://example.org:0/", "port"),
    ("http://example.org:99999/", "port"),
    ("http://1.2.3.4.5/", "bad-host"),
    ("http://256.1.1.1/", "bad-host"),
    ("http://09.1.1.1/", "bad-host"),
    ("http://exa_mple-.org./", "bad-host"),
])
def test_malformed_urls_get_one_message_per_cause(url: str, cause: str) -> None:
    refused = refusal(url)
    assert refused.cause == cause
    assert str(refused) == REFUSALS[cause] and "\n" not in str(refused)


def test_allowed_networks_let_loopback_through_in_canonical_form() -> None:
    assert check_registered_url("http://0x7f000001:8080/oai", LOOPBACK_NET) == \
        "http://127.0.0.1:8080/oai"
    assert check_registered_url(" HTTP://127.1/oai?x=1 ", LOOPBACK_NET) == "http://127.0.0.1/oai?x=1"
    assert check_registered_url("http://[::ffff:127.0.0.1]/", LOOPBACK_NET).startswith("http://[")
    # localhost is 127.0.0.1 and ::1 (as connections see it): both must be opened
    assert refusal("http://localhost/", LOOPBACK_NET).cause == "loopback"
    both = LOOPBACK_NET + (ipaddress.ip_network("::1/128"),)
    assert check_registered_url("http://localhost:8080/oai", both) == "http://localhost:8080/oai"
    assert refusal("http://10.0.0.1/", LOOPBACK_NET).cause == "private"


def test_public_addresses_and_names_are_stored_canonically() -> None:
    def public(host: str, port: int, *args: Any) -> Any:
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2606:4700:4700::1111", port, 0, 0))]

    assert check_registered_url("http://0x08080808/oai") == "http://8.8.8.8/oai"
    assert check_registered_url("https://[2606:4700:4700:0::1111]:8443/oai") == \
        "https://[2606:4700:4700::1111]:8443/oai"
    assert check_registered_url("HTTPS://Jurnal.Example.AC.ID/index.php/jipi/oai",
                                resolver=public) == \
        "https://jurnal.example.ac.id/index.php/jipi/oai"


def test_canonical_host_reads_numbers_as_resolvers_do() -> None:
    expected = ipaddress.ip_address("127.0.0.1")
    for form in ("0x7f000001", "2130706433", "127.1", "017700000001", "0177.0.0.1",
                 "127.0.1", "0x7f.0x0.0x0.0x1", "127.0.0.1."):
        assert canonical_host(form) == expected, form
    assert canonical_host("0") == ipaddress.ip_address("0.0.0.0")
    assert canonical_host("Perpus.Example.go.id.") == "perpus.example.go.id"
    assert canonical_host("0xcafe.example.org") == "0xcafe.example.org"
