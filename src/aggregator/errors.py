"""The aggregator's one error tree.

Every error the aggregator raises on purpose derives from :class:`AggregatorError`;
errors from libraries are translated once, at the boundary that calls them, with
``raise ... from exc``. Expected outcomes (``noRecordsMatch``, "already up to date")
are values, never exceptions.

::

    AggregatorError                 anything the aggregator raises on purpose
    ├── ConfigError                 a setting is missing or has a bad value
    ├── UserInputError              bad input on the command line (unknown member, bad URL)
    │   └── RefusedURL              an endpoint URL that may not be registered or probed
    │                               (one fixed message per cause: scheme, loopback, ...)
    ├── StoreError                  the database refused or is not ready
    │   └── SchemaMissing           `aggregator init` has not been run
    ├── SearchError                 the search index cannot answer (missing, corrupt)
    │   └── SearchTimeout           a query ran past the time limit
    ├── OAIRequestError             a request to an OAI-PMH provider of ours breaks the protocol
    │                               (answered as ``<error code=...>`` with HTTP 200)
    └── HarvestError                a harvest step failed
        ├── FetchError              no usable HTTP answer (unreachable, timeout, TLS, HTTP status)
        │   ├── BlockedAddress      the URL or a redirect points at a forbidden network
        │   ├── ResponseTooLarge    the body exceeded `max_response_bytes` after decompression
        │   └── RetryLater          the server asked us to come back later than we wait
        ├── NotOAIResponse          the body is not an OAI-PMH document (HTML, JSON, empty)
        ├── MalformedXML            the body could not be parsed exactly, even after repair
        │   └── ForbiddenXML        a DOCTYPE or another construct we refuse outright
        ├── OAIProtocolError        the server answered with an OAI-PMH ``<error>``
        └── WrongAnswer             an OAI-PMH answer to another verb than the one asked
"""

from __future__ import annotations


class AggregatorError(Exception):
    """Base of every error the aggregator raises on purpose."""


class ConfigError(AggregatorError):
    """A setting is missing or has a bad value; the message names the key and value."""


class UserInputError(AggregatorError):
    """Bad input from a user: unknown member, malformed URL, duplicate slug."""


class RefusedURL(UserInputError):
    """An endpoint URL that may not be registered or probed, from the command line or the
    web form alike (:func:`aggregator.harvest.registration.check_registered_url`).

    The message depends on the cause only, never on how the URL was spelt, so
    ``http://0x7f000001/`` and ``http://127.0.0.1/`` are refused in the same words.

    Attributes:
        cause: a stable key: ``empty``, ``unparsable``, ``scheme``, ``credentials``,
            ``no-host``, ``fragment``, ``port``, ``bad-host``, ``unresolvable``,
            ``loopback``, ``private``, ``link-local``, ``multicast``, ``unspecified``
            or ``reserved``.
        address: the address that decided a refusal by address (canonical text), for
            logs; ``None`` for the other causes.
    """

    def __init__(self, cause: str, message: str, *, address: str | None = None) -> None:
        super().__init__(message)
        self.cause = cause
        self.address = address


class StoreError(AggregatorError):
    """The store could not do what was asked."""


class SchemaMissing(StoreError):
    """The database has no (or an outdated) schema: run `aggregator init`."""


class SearchError(AggregatorError):
    """The search index cannot answer: missing, unreadable, or locked for too long."""


class SearchTimeout(SearchError):
    """A query ran past the search time limit (the portal answers 503)."""


class OAIRequestError(AggregatorError):
    """A request to one of our OAI-PMH providers (the feed, the demo's members) breaks
    the protocol; the provider answers it as ``<error code=...>`` with HTTP 200.

    Attributes:
        code: the OAI-PMH error code (``badArgument``, ``badResumptionToken`` ...).
        message: one human sentence.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class HarvestError(AggregatorError):
    """A harvest step failed."""


class FetchError(HarvestError):
    """No usable HTTP answer: unreachable host, timeout, TLS failure, HTTP error status.

    Attributes:
        status: the HTTP status when there was a response, else ``None``.
        retryable: whether trying again later may help.
    """

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False):
        super().__init__(message)
        self.status = status
        self.retryable = retryable


class BlockedAddress(FetchError):
    """The URL, or a redirect, resolves to a network the settings do not allow."""


class ResponseTooLarge(FetchError):
    """The decompressed body exceeded ``max_response_bytes``."""


class RetryLater(FetchError):
    """The server asked for a pause longer than we are willing to wait now.

    Attributes:
        not_before: ISO 8601 UTC time before which the host should not be contacted.
    """

    def __init__(self, message: str, *, not_before: str, status: int | None = None):
        super().__init__(message, status=status, retryable=True)
        self.not_before = not_before


class NotOAIResponse(HarvestError):
    """The body is not OAI-PMH XML (an HTML page, JSON, an empty body).

    Attributes:
        status: HTTP status of the response.
        content_type: its Content-Type header.
        head: the first bytes of the body, for the report.
    """

    def __init__(self, message: str, *, status: int | None = None,
                 content_type: str | None = None, head: bytes = b""):
        super().__init__(message)
        self.status = status
        self.content_type = content_type
        self.head = head


class MalformedXML(HarvestError):
    """The body could not be parsed exactly, even after byte-level repair.

    Attributes:
        sample: a short excerpt around the failure, for the report.
        at_eof: the parser failed at the end of the input (a truncated response).
    """

    def __init__(self, message: str, *, sample: str = "", at_eof: bool = False):
        super().__init__(message)
        self.sample = sample
        self.at_eof = at_eof


class ForbiddenXML(MalformedXML):
    """The document uses a construct we refuse outright (a DOCTYPE, an entity declaration)."""


class OAIProtocolError(HarvestError):
    """The server answered with one or more OAI-PMH ``<error>`` elements.

    Attributes:
        code: the first error's code (``badArgument``, ``badResumptionToken``, ...).
        errors: every (code, message) pair in the response.
    """

    def __init__(self, code: str, message: str, errors: list[tuple[str, str]] | None = None):
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.errors = errors or [(code, message)]


class WrongAnswer(HarvestError):
    """The server answered with OAI-PMH, but not to the verb asked (an ``Identify``
    request answered with ``<ListRecords>``: a server that ignores its arguments).

    Attributes:
        sample: the first bytes of the body, for the report.
    """

    def __init__(self, message: str, *, sample: str = ""):
        super().__init__(message)
        self.sample = sample
