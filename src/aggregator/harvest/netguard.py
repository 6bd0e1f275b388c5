"""SSRF defence: URL checks, the address policy and a connect-time guarded HTTP adapter."""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from aggregator.errors import BlockedAddress, UserInputError
from aggregator.harvest.deadline import watch

logger = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
AddrInfo = tuple[Any, Any, int, str, tuple[Any, ...]]
Resolver = Callable[..., Sequence[AddrInfo]]

ALLOWED_SCHEMES = frozenset({"http", "https"})

# Refused even when ``is_global`` claims otherwise; ipaddress had wrong ranges before the
# 2024 security releases (CVE-2024-4032), so the well-known ones are listed explicitly.
DENIED_NETWORKS: tuple[Network, ...] = tuple(
    ipaddress.ip_network(n) for n in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
        "172.16.0.0/12", "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4",
        "240.0.0.0/4", "::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8",
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _url_problem(url: str) -> str | None:
    """Say what is wrong with an endpoint URL's shape, or return ``None`` when it is fine."""
    if not url:
        return "the URL is empty"
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return "the URL contains spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"the URL cannot be parsed ({exc})"
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        return f"scheme {parts.scheme or '(none)'!r} is not allowed; use http or https"
    if "@" in parts.netloc:
        return "user names or passwords in the URL are not allowed"
    if not parts.hostname:
        return "the URL has no host"
    if port == 0:
        return "port 0 is not allowed"
    return None


def validate_url(url: str) -> str:
    """Check a user-supplied endpoint URL and return it without surrounding whitespace.

    Only the shape is checked here; where the host points is decided at connect time.

    Args:
        url: the URL as typed by a user.

    Returns:
        The stripped URL.

    Raises:
        UserInputError: the scheme is not http/https, the host is missing, the URL carries
            user-info (``user@host``) or a fragment, or it cannot be parsed.
    """
    cleaned = url.strip()
    problem = _url_problem(cleaned)
    if problem is None and "#" in cleaned:
        problem = "the URL must not contain a fragment (#...)"
    if problem is not None:
        raise UserInputError(f"bad endpoint URL {cleaned!r}: {problem}")
    return cleaned


def check_request_url(url: str) -> None:
    """Refuse a URL the harvester is about to request (a base URL or a redirect target).

    Raises:
        BlockedAddress: the scheme is not http/https, the URL has user-info or no host.
    """
    problem = _url_problem(url)
    if problem is not None:
        raise BlockedAddress(f"refused to request {url[:200]!r}: {problem}")


def address_forms(addr: Address) -> list[Address]:
    """Return the addresses that decide about ``addr``.

    IPv4-mapped and NAT64 (64:ff9b::/96) addresses are judged by the IPv4 address they
    carry, since that is where the packets end up; 6to4 and Teredo addresses are judged
    by both the IPv6 address and the IPv4 addresses embedded in them.
    """
    if not isinstance(addr, ipaddress.IPv6Address):
        return [addr]
    if addr.ipv4_mapped is not None:
        return [addr.ipv4_mapped]
    if addr in _NAT64:
        return [ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)]
    forms: list[Address] = [addr]
    if addr.sixtofour is not None:
        forms.append(addr.sixtofour)
    if addr.teredo is not None:
        forms.extend(addr.teredo)
    return forms


def _forbidden(addr: Address) -> bool:
    if any(addr in net for net in DENIED_NETWORKS):
        return True
    return bool(
        addr.is_loopback or addr.is_private or addr.is_link_local or addr.is_multicast
        or addr.is_unspecified or addr.is_reserved or not addr.is_global
    )


def address_allowed(ip: str, allowed: Sequence[Network] = ()) -> bool:
    """Decide whether the harvester may connect to an IP address.

    Loopback, private, link-local, multicast, unspecified, reserved, CGNAT (100.64/10) and
    0.0.0.0/8 addresses are refused, and so are IPv6 forms embedding one of them
    (IPv4-mapped, NAT64, 6to4, Teredo), unless the address or its embedded IPv4 lies in
    one of the ``allowed`` networks.

    Args:
        ip: the address as text (an IPv6 zone suffix ``%eth0`` is ignored).
        allowed: networks the operator explicitly opened (``allow_networks``).

    Returns:
        ``True`` when the address may be contacted; ``False`` also for unparsable text.
    """
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return False
    forms = address_forms(addr)
    if any(form in net for form in forms for net in allowed):
        return True
    return not any(_forbidden(form) for form in forms)


def _guarded_socket(conn: HTTPConnection, allowed: Sequence[Network],
                    resolver: Resolver) -> socket.socket:
    """Resolve ``conn``'s host once, require every address to be allowed, connect to one."""
    host = conn._dns_host.strip("[]")
    port = conn.port
    try:
        infos = list(resolver(host, port, 0, socket.SOCK_STREAM))
    except socket.gaierror as exc:
        raise NameResolutionError(conn.host, conn, exc) from exc
    if not infos:
        raise NewConnectionError(conn, f"Failed to resolve {conn.host!r}: no addresses")
    addresses = [str(info[4][0]) for info in infos]
    refused = [a for a in addresses if not address_allowed(a, allowed)]
    if refused:
        logger.warning("refused connection to %s: resolves to %s", conn.host, ", ".join(refused))
        raise BlockedAddress(
            f"host {conn.host!r} resolves to a forbidden address ({', '.join(refused)}); "
            "add its network to allow_networks if this is intended")
    last_error: OSError | None = None
    for family, socktype, proto, _canon, sockaddr in infos:
        sock: socket.socket | None = None
        try:
            sock = socket.socket(family, socktype, proto)
            watch(sock)  # the request's deadline covers connecting too
            for option in conn.socket_options or ():
                sock.setsockopt(*option)
            if isinstance(conn.timeout, int | float):
                sock.settimeout(conn.timeout)
            if conn.source_address:
                sock.bind(conn.source_address)
            sock.connect(sockaddr)  # the very address validated above
            return sock
        except TimeoutError as exc:
            if sock is not None:
                sock.close()
            raise ConnectTimeoutError(
                conn, f"Connection to {conn.host} timed out. (connect timeout={conn.timeout})",
            ) from exc
        except OSError as exc:
            last_error = exc
            if sock is not None:
                sock.close()
    raise NewConnectionError(conn, f"Failed to establish a new connection: {last_error}")


class GuardedHTTPConnection(HTTPConnection):
    """An urllib3 connection that validates the resolved address before connecting."""

    allowed_networks: Sequence[Network] = ()
    resolver: Resolver = staticmethod(socket.getaddrinfo)

    def _new_conn(self) -> socket.socket:
        return _guarded_socket(self, self.allowed_networks, type(self).resolver)

    def request(self, *args: Any, **kwargs: Any) -> None:
        watch(self.sock)  # a kept-alive connection: under this request's deadline too
        super().request(*args, **kwargs)


class GuardedHTTPSConnection(HTTPSConnection):
    """The TLS variant: TCP goes to the validated IP, SNI and certificate use the name."""

    allowed_networks: Sequence[Network] = ()
    resolver: Resolver = staticmethod(socket.getaddrinfo)

    def _new_conn(self) -> socket.socket:
        return _guarded_socket(self, self.allowed_networks, type(self).resolver)

    def request(self, *args: Any, **kwargs: Any) -> None:
        watch(self.sock)
        super().request(*args, **kwargs)


def _pool_classes(allowed: Sequence[Network],
                  resolver: Resolver) -> dict[str, type[HTTPConnectionPool]]:
    """Build pool classes whose connections carry this adapter's policy."""
    policy = {"allowed_networks": tuple(allowed), "resolver": staticmethod(resolver)}
    http_conn = type("PolicyHTTPConnection", (GuardedHTTPConnection,), dict(policy))
    https_conn = type("PolicyHTTPSConnection", (GuardedHTTPSConnection,), dict(policy))
    http_pool = type("GuardedHTTPConnectionPool", (HTTPConnectionPool,),
                     {"ConnectionCls": http_conn})
    https_pool = type("GuardedHTTPSConnectionPool", (HTTPSConnectionPool,),
                      {"ConnectionCls": https_conn})
    return {"http": http_pool, "https": https_pool}


class GuardedAdapter(HTTPAdapter):
    """A requests adapter whose every new connection passes :func:`address_allowed`.

    The host is resolved when the socket is opened and the socket is connected to the
    address that was checked, so a name that changes its answer between a check and the
    connection (DNS rebinding) gains nothing. Proxies are refused: they would hide the
    real destination from the check.

    Args:
        allowed_networks: networks opened by the operator despite being non-public.
        resolver: a ``socket.getaddrinfo``-compatible function (tests inject fakes).
    """

    def __init__(self, allowed_networks: Sequence[Network] = (),
                 resolver: Resolver = socket.getaddrinfo, **kwargs: Any) -> None:
        self._pool_classes = _pool_classes(allowed_networks, resolver)
        super().__init__(**kwargs)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False,
                         **pool_kwargs: Any) -> None:
        """Create the pool manager and give it the guarded pool classes."""
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(self._pool_classes)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        """Refuse proxies: the guard must see the real destination address."""
        raise BlockedAddress(f"refused to use proxy {proxy!r}: the harvester connects directly")
