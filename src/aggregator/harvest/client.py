"""The polite, bounded HTTP transport that speaks OAI-PMH to member endpoints."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any
from urllib.parse import quote, urldefrag, urlencode, urljoin

import requests
import sickle
import urllib3.exceptions as u3

from aggregator.config import Settings
from aggregator.errors import BlockedAddress, FetchError, RetryLater
from aggregator.harvest.body import BadEncoding, Transient, read_body, reason
from aggregator.harvest.deadline import Deadline
from aggregator.harvest.netguard import GuardedAdapter, Resolver, check_request_url
from aggregator.harvest.retry import backoff_delay, parse_retry_after
from aggregator.records import Notice
from aggregator.schedule import host_key

logger = logging.getLogger(__name__)

ACCEPT = "text/xml, application/xml;q=0.9, */*;q=0.1"
ACCEPT_ENCODING = "gzip, deflate, identity;q=0.5"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
FLOW_CONTROL_STATUSES = frozenset({429, 503})
TRANSIENT_STATUSES = frozenset({408, 502, 504})

# Politeness is per host and shared by every client in the process.
_registry_lock = threading.Lock()
_host_locks: dict[str, threading.Lock] = {}
_last_request_end: dict[str, float] = {}


@dataclass
class FetchedResponse:
    """One HTTP answer, read in full and decompressed, whatever its status.

    Attributes:
        url: the final URL, after redirects.
        status: the HTTP status of the final answer.
        headers: its headers, with lower-case names.
        content: the decoded body.
        notices: surprises met on the way (``moved``, ``undeclared-gzip``, ...).
        elapsed: seconds the final request took, headers and body.
        request_url: the URL first requested, query included.
    """

    url: str
    status: int
    headers: dict[str, str]
    content: bytes
    notices: list[Notice] = field(default_factory=list)
    elapsed: float = 0.0
    request_url: str = ""


@dataclass
class _Progress:
    """Where one :meth:`OAIClient.harvest` call stands between its attempts."""

    url: str
    method: str
    data: str | None
    notices: list[Notice] = field(default_factory=list)
    failures: int = 0
    flow_control: int = 0
    hops: int = 0
    identity: bool = False


def encode_params(params: Mapping[str, Any]) -> str:
    """Encode OAI arguments so that every byte of a value survives (``+`` becomes ``%2B``).

    Arguments whose value is ``None`` or empty are dropped: ``set=`` is never sent.
    """
    kept = {key: str(value) for key, value in params.items()
            if value is not None and str(value) != ""}
    return urlencode(kept, quote_via=quote, safe="")


def _host_lock(host: str) -> threading.Lock:
    with _registry_lock:
        return _host_locks.setdefault(host, threading.Lock())


def _find_blocked(exc: BaseException) -> BlockedAddress | None:
    """Find a BlockedAddress that a library may have wrapped on its way up."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, BlockedAddress):
            return item
        linked = [item.__cause__, item.__context__, getattr(item, "reason", None), *item.args]
        todo.extend(x for x in linked if isinstance(x, BaseException))
    return None


def _looks_oai(body: bytes) -> bool:
    return b"OAI-PMH" in body[:2048]


class OAIClient(sickle.Sickle):  # type: ignore[misc]  # sickle has no type hints
    """Fetch OAI-PMH responses politely: bounded in time, size, retries and redirects.

    Only :meth:`harvest` is meant to be called; it returns the raw answer for the
    caller's parser to judge (OAI errors arrive with 2xx, 4xx or 5xx statuses).

    Args:
        base_url: the endpoint's base URL.
        settings: timeouts, retry limits, size cap, allowed networks, User-Agent.
        sleep: called for every pause (tests inject a recorder).
        resolver: a ``socket.getaddrinfo``-compatible function used at connect time.
        clock: a monotonic clock for the politeness delay and the response deadline.
        http_method: ``GET`` (default) or ``POST``.
    """

    def __init__(self, base_url: str, settings: Settings, *,
                 sleep: Callable[[float], None] = time.sleep,
                 resolver: Resolver = socket.getaddrinfo,
                 clock: Callable[[], float] = time.monotonic,
                 http_method: str = "GET") -> None:
        super().__init__(base_url.strip(), http_method=http_method)
        self.settings = settings
        self._sleep = sleep
        self._clock = clock
        self._session = requests.Session()
        self._session.trust_env = False  # no proxies or netrc from the environment
        adapter = GuardedAdapter(settings.allowed_networks, resolver=resolver)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.headers.update({
            "User-Agent": settings.full_user_agent,
            "Accept": ACCEPT,
            "Accept-Encoding": ACCEPT_ENCODING,
        })

    def __enter__(self) -> OAIClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP session and its connections."""
        self._session.close()

    def harvest(self, **params: Any) -> FetchedResponse:
        """Send one OAI-PMH request and return the answer, whatever its HTTP status.

        Args:
            **params: OAI arguments (``verb``, ``metadataPrefix``, ``resumptionToken``...);
                ``None`` and empty values are dropped, the rest is sent byte-exact.

        Returns:
            The final answer after redirects and retries, body decoded.

        Raises:
            BlockedAddress: the URL or a redirect leads to a forbidden address or scheme.
            ResponseTooLarge: the decoded body exceeds ``max_response_bytes``.
            RetryLater: the server asked for a pause longer than ``retry_after_cap``.
            FetchError: no usable answer after the allowed retries and redirects.
        """
        query = encode_params(params)
        if self.http_method == "GET":
            url = f"{self.endpoint}{'&' if '?' in self.endpoint else '?'}{query}"
            state = _Progress(url=url, method="GET", data=None)
        else:
            state = _Progress(url=self.endpoint, method=self.http_method, data=query)
        request_url = state.url
        answer = None
        while answer is None:
            answer = self._attempt(state)
        if not self.settings.verify_tls and answer.url.lower().startswith("https:"):
            state.notices.append(Notice("tls-unverified", "the TLS certificate was not "
                                        "checked (verify_tls is off)", sample=answer.url))
        answer.notices[:0] = state.notices
        answer.request_url = request_url
        return answer

    def _attempt(self, state: _Progress) -> FetchedResponse | None:
        """Make one exchange; return a final answer, or ``None`` to go round again."""
        check_request_url(state.url)
        try:
            answer = self._request(state.method, state.url, state.data, identity=state.identity)
        except BadEncoding as exc:
            if state.identity:
                raise FetchError(f"undecodable body from {state.url}: {exc}") from exc
            state.identity = True
            state.notices.append(Notice("identity-fallback",
                                        f"{exc}; asked again without compression"))
            logger.warning("%s; retrying %s with Accept-Encoding: identity", exc, state.url)
            return None
        except Transient as exc:
            state.flow_control = 0
            self._give_up_or_wait(exc, state)
            return None
        status = answer.status
        if status in REDIRECT_STATUSES and answer.headers.get("location"):
            self._follow(answer, state)
            return None
        if status in FLOW_CONTROL_STATUSES:
            state.flow_control += 1
            self._flow_control_wait(answer, state.flow_control)
            return None
        state.flow_control = 0
        if status in TRANSIENT_STATUSES or (status == 500 and not _looks_oai(answer.content)):
            self._give_up_or_wait(Transient(f"HTTP {status} from {state.url}", status), state)
            return None
        return answer

    def _follow(self, answer: FetchedResponse, state: _Progress) -> None:
        """Move ``state`` to a redirect's target, counting hops and noting permanent moves."""
        state.hops += 1
        if state.hops > self.settings.max_redirects:
            raise FetchError(f"more than {self.settings.max_redirects} redirects, last from "
                             f"{state.url}", status=answer.status)
        target = urldefrag(urljoin(state.url, answer.headers["location"].strip()))[0]
        if answer.status in PERMANENT_REDIRECTS:
            old, new = state.url.split("?", 1)[0], target.split("?", 1)[0]
            state.notices.append(Notice("moved", f"{old} moved permanently (HTTP "
                                        f"{answer.status}) to {new}", sample=target))
        if answer.status == 303 or (answer.status in {301, 302} and state.method == "POST"):
            state.method, state.data = "GET", None
        logger.info("HTTP %d redirect from %s to %s", answer.status, state.url, target)
        state.url = target

    def _give_up_or_wait(self, exc: Transient, state: _Progress) -> None:
        """Raise FetchError once retries are exhausted, else sleep the backoff."""
        state.failures += 1
        limit = self.settings.max_retries
        if state.failures > limit:
            tries = f"{state.failures} attempt{'s' if state.failures > 1 else ''}"
            raise FetchError(f"{exc} (gave up after {tries})", status=exc.status,
                             retryable=True) from exc
        delay = self._backoff(state.failures - 1)
        logger.warning("%s; retry %d of %d in %.1fs", exc, state.failures, limit, delay)
        self._sleep(delay)

    def _flow_control_wait(self, answer: FetchedResponse, count: int) -> None:
        """Honour a 503/429: wait as asked (bounded), or give up after too many in a row."""
        status, url = answer.status, answer.url
        if count >= self.settings.max_consecutive_503:
            raise FetchError(f"HTTP {status} from {url} {count} times in a row, giving up",
                             status=status, retryable=True)
        asked = parse_retry_after(answer.headers.get("retry-after"))
        if asked is not None and asked > self.settings.retry_after_cap:
            not_before = datetime.now(UTC) + timedelta(seconds=asked)
            raise RetryLater(
                f"HTTP {status} from {url} asks to wait {asked:.0f}s, more than the "
                f"{self.settings.retry_after_cap:.0f}s we wait",
                not_before=not_before.strftime("%Y-%m-%dT%H:%M:%SZ"), status=status)
        delay = asked if asked is not None else self._backoff(count - 1)
        logger.warning("HTTP %d from %s; waiting %.1fs (%s)", status, url, delay,
                       "Retry-After" if asked is not None else "backoff")
        self._sleep(delay)

    def pause(self, attempt: int) -> float:
        """Sleep the backoff before retry number ``attempt`` (0 first); returns the delay."""
        delay = self._backoff(attempt)
        self._sleep(delay)
        return delay

    def _backoff(self, attempt: int) -> float:
        return backoff_delay(attempt, self.settings.backoff_base, self.settings.retry_after_cap)

    @contextmanager
    def _host_slot(self, host: str) -> Iterator[None]:
        """Hold the host's lock and keep ``request_delay`` between its requests."""
        with _host_lock(host):
            wait = _last_request_end.get(host, float("-inf")) + self.settings.request_delay
            wait -= self._clock()
            if wait > 0:
                logger.debug("politeness delay %.2fs before contacting %s", wait, host)
                self._sleep(wait)
            try:
                yield
            finally:
                _last_request_end[host] = self._clock()

    def _request(self, method: str, url: str, data: str | None, *,
                 identity: bool = False) -> FetchedResponse:
        """Make one HTTP exchange (no redirects followed) and read the body when useful."""
        host = host_key(url)
        headers = {"Accept-Encoding": "identity"} if identity else {}
        if data is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        s = self.settings
        with self._host_slot(host), Deadline(s.request_deadline) as deadline:
            start = self._clock()
            try:
                try:
                    resp = self._session.request(
                        method, url, data=data, headers=headers, stream=True,
                        timeout=(s.connect_timeout, s.read_timeout), verify=s.verify_tls,
                        allow_redirects=False)
                except Exception as exc:  # translated once, here, at the library boundary
                    translated = self._translate(exc, host)
                    if translated is exc:
                        raise
                    raise translated from exc
                try:
                    status = resp.status_code
                    skip = status in (REDIRECT_STATUSES | FLOW_CONTROL_STATUSES
                                      | TRANSIENT_STATUSES)
                    notices: list[Notice] = []
                    body = b"" if skip else read_body(
                        resp, url, notices, start=start, cap=s.max_response_bytes,
                        read_timeout=s.read_timeout, clock=self._clock)
                finally:
                    resp.close()
            except (Transient, FetchError, BadEncoding) as exc:
                if deadline.expired:  # the watchdog cut the request short
                    raise Transient(f"{host} took longer than request_deadline "
                                    f"({s.request_deadline:g}s) to answer {url}") from exc
                raise
            if deadline.expired:  # the last bytes came as the time ran out
                raise Transient(f"{host} took longer than request_deadline "
                                f"({s.request_deadline:g}s) to answer {url}")
            elapsed = self._clock() - start
        logger.debug("%s %s -> %d, %d bytes in %.2fs", method, url, status, len(body), elapsed)
        return FetchedResponse(url=url, status=status,
                               headers={k.lower(): v for k, v in resp.headers.items()},
                               content=body, notices=notices, elapsed=elapsed)

    def _translate(self, exc: Exception, host: str) -> Exception:
        """Map a requests/urllib3 failure to an aggregator error or a retryable one.

        A BlockedAddress is dug out of whatever the libraries wrapped it in, so callers
        see the policy refusal itself, never a ``requests.ConnectionError``.
        """
        blocked = _find_blocked(exc)
        if blocked is not None:
            return blocked
        if isinstance(exc, requests.exceptions.SSLError):
            return FetchError(f"TLS error talking to {host}: {reason(exc)}")
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return Transient(f"cannot connect to host: {host} (timed out after "
                              f"{self.settings.connect_timeout}s)")
        if isinstance(exc, requests.exceptions.ReadTimeout):
            return Transient(f"{host} did not answer within {self.settings.read_timeout}s")
        if isinstance(exc, requests.exceptions.ConnectionError):
            return Transient(f"cannot connect to host: {host} ({reason(exc)})")
        if isinstance(exc, requests.exceptions.RequestException | u3.HTTPError):
            return FetchError(f"request to {host} failed: {reason(exc)}")
        return exc
