"""Whether a base URL may be registered (or probed): its shape, its canonical host, and
where that host points, decided before anything is stored or fetched."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Sequence
from urllib.parse import SplitResult, urlsplit, urlunsplit

from aggregator.errors import RefusedURL
from aggregator.harvest.netguard import (
    ALLOWED_SCHEMES,
    Address,
    Network,
    Resolver,
    address_allowed,
    address_forms,
)

__all__ = ["REFUSALS", "canonical_host", "check_registered_url"]

_ALLOW_HINT = ("; if this is intended, add its network to the allow_networks setting")
# One message per cause, the same whichever way the URL was spelt.
REFUSALS: dict[str, str] = {
    "empty": "the endpoint URL is empty",
    "unparsable": "the endpoint URL cannot be read as a web address (spaces, control "
                  "characters or a malformed host or port)",
    "scheme": "only http:// and https:// endpoint URLs can be registered",
    "credentials": "user names or passwords in the endpoint URL are not allowed",
    "no-host": "the endpoint URL has no host",
    "fragment": "the endpoint URL must not contain a fragment (#...)",
    "port": "the endpoint URL's port is not a valid port (1-65535)",
    "bad-host": "the endpoint URL's host is neither a valid host name nor a valid address",
    "unresolvable": "the endpoint's host name does not resolve to any address; check its "
                    "spelling and its DNS",
    "loopback": "the endpoint's host is, or resolves to, a loopback address (this machine "
                "itself), not a public address" + _ALLOW_HINT,
    "private": "the endpoint's host is, or resolves to, a private network address, not a "
               "public address" + _ALLOW_HINT,
    "link-local": "the endpoint's host is, or resolves to, a link-local address (such as "
                  "a cloud metadata service), not a public address" + _ALLOW_HINT,
    "multicast": "the endpoint's host is, or resolves to, a multicast address, not a "
                 "public address" + _ALLOW_HINT,
    "unspecified": "the endpoint's host is, or resolves to, the unspecified address "
                   "(0.0.0.0 or ::), not a public address" + _ALLOW_HINT,
    "reserved": "the endpoint's host is, or resolves to, a reserved or special-purpose "
                "address, not a public address" + _ALLOW_HINT,
}

# Private in the sense operators mean: internal networks, whatever ``is_private`` says
# about shared address space (100.64/10) on this Python.
_PRIVATE: tuple[Network, ...] = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "100.64.0.0/10", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"))
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_LOCALHOST_ADDRESSES = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))
# The parts of a numeric IPv4 host as browsers and inet_aton() read them.
_IPV4_PART = re.compile(r"0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*")
_NUMERIC_LABEL = re.compile(r"[0-9]+|0[xX][0-9a-fA-F]*")
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")


def _refuse(cause: str, address: Address | None = None) -> RefusedURL:
    return RefusedURL(cause, REFUSALS[cause], address=str(address) if address else None)


def _parse_ipv4(labels: list[str]) -> ipaddress.IPv4Address | None:
    """Read a host of one to four numeric parts (``127.1``, ``0x7f000001``,
    ``017700000001``, ``2130706433``) the way resolvers do; ``None`` if it is not one."""
    if not 1 <= len(labels) <= 4 or not all(_IPV4_PART.fullmatch(p) for p in labels):
        return None
    numbers = []
    for part in labels:
        if part[:2].lower() == "0x":
            numbers.append(int(part[2:] or "0", 16))
        elif len(part) > 1 and part[0] == "0":
            numbers.append(int(part[1:], 8))
        else:
            numbers.append(int(part))
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 256 ** (5 - len(numbers)):
        return None
    value = last
    for position, number in enumerate(leading):
        value += number << (8 * (3 - position))
    return ipaddress.IPv4Address(value)


def canonical_host(host: str) -> Address | str:
    """Canonicalise a URL's host before anything is decided about it.

    Numeric IPv4 hosts in every form a resolver accepts (hexadecimal, octal, a single
    number, fewer than four parts) become the address they denote; IPv6 literals
    (IPv4-mapped ones included) become address objects; names lose one trailing dot, are
    lower-cased and IDNA-encoded.

    Args:
        host: the host as :func:`urllib.parse.urlsplit` gives it (without brackets).

    Returns:
        An address object, or the host name in ASCII.

    Raises:
        RefusedURL: ``bad-host``: not a valid name, or a name ending in a number that is
            not a valid IPv4 address (``1.2.3.4.5``, ``256.1.1.1``).
    """
    if ":" in host:
        try:
            return ipaddress.ip_address(host)
        except ValueError:
            raise _refuse("bad-host") from None
    name = host[:-1] if host.endswith(".") else host
    try:
        name = name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise _refuse("bad-host") from None
    labels = name.split(".")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        address = _parse_ipv4(labels)
        if address is None:
            raise _refuse("bad-host")
        return address
    if len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise _refuse("bad-host")
    return name


def _split(url: str) -> tuple[SplitResult, int | None]:
    """Split the URL and check its shape; return the parts and the explicit port."""
    if not url:
        raise _refuse("empty")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise _refuse("unparsable")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise _refuse("unparsable") from None
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise _refuse("scheme")
    if "@" in parts.netloc:
        raise _refuse("credentials")
    if not parts.hostname:
        raise _refuse("no-host")
    if parts.fragment or "#" in url:
        raise _refuse("fragment")
    try:
        port = parts.port
    except ValueError:
        raise _refuse("port") from None
    if port == 0:
        raise _refuse("port")
    return parts, port


def _cause(address: Address) -> str:
    """Name why a forbidden address is forbidden (embedded IPv4 forms decide first)."""
    forms = address_forms(address)
    for form in forms[1:] + forms[:1]:
        if form.is_unspecified or form in _THIS_NETWORK:
            return "unspecified"
        if form.is_loopback:
            return "loopback"
        if form.is_link_local:
            return "link-local"
        if form.is_multicast:
            return "multicast"
        if any(form in net for net in _PRIVATE):
            return "private"
    return "reserved"


def _addresses(name: str, port: int, resolver: Resolver | None) -> list[Address]:
    """Every address a host name resolves to (localhost names: the loopback ones)."""
    if name == "localhost" or name.endswith(".localhost"):
        return list(_LOCALHOST_ADDRESSES)  # RFC 6761: never asked of a resolver
    if name == "invalid" or name.endswith(".invalid"):
        raise _refuse("unresolvable")
    try:
        infos = (resolver or socket.getaddrinfo)(name, port, 0, socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise _refuse("unresolvable") from None
    addresses: list[Address] = []
    for info in infos:
        try:
            addresses.append(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]))
        except ValueError:
            continue
    if not addresses:
        raise _refuse("unresolvable")
    return addresses


def check_registered_url(url: str, allowed_networks: Sequence[Network] = (), *,
                         resolver: Resolver | None = None) -> str:
    """Decide whether an OAI-PMH base URL may be registered, and return the URL to store.

    The one rule behind ``aggregator members add --url``, ``aggregator sources add``,
    ``aggregator check`` and the web form: http or https only, a host, no user-info or
    fragment; the host is canonicalised first (:func:`canonical_host`), so every spelling
    of an address is judged as that address; a name is resolved and refused when any of
    its addresses is forbidden. Forbidden are loopback, private, link-local, multicast,
    unspecified and reserved addresses (and IPv6 forms embedding one), unless they lie in
    ``allowed_networks``. Every request is checked again when it connects (DNS may
    change; redirects): see :mod:`aggregator.harvest.netguard`.

    Args:
        url: the URL as typed (surrounding whitespace is ignored).
        allowed_networks: networks the operator opened (``Settings.allowed_networks``).
        resolver: a ``socket.getaddrinfo``-compatible function; the system's by default.

    Returns:
        The URL with its scheme and host in canonical form (``http://0x08080808/oai`` →
        ``http://8.8.8.8/oai``); port, path and query as typed.

    Raises:
        RefusedURL: the URL may not be registered; ``cause`` says why and the message is
            :data:`REFUSALS` ``[cause]``.
    """
    parts, port = _split(url.strip())
    host = canonical_host(parts.hostname or "")
    if isinstance(host, str):
        addresses = _addresses(host, port or (443 if parts.scheme.lower() == "https" else 80),
                               resolver)
        netloc_host = host
    else:
        addresses = [host]
        netloc_host = f"[{host.compressed}]" if host.version == 6 else str(host)
    for address in addresses:
        if not address_allowed(str(address), allowed_networks):
            raise _refuse(_cause(address), address)
    netloc = netloc_host + (f":{port}" if port is not None else "")
    return urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, ""))
