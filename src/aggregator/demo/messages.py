"""OAI-PMH requests and responses of the demo provider: HTTP values, argument rules, errors."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NoReturn

from aggregator.demo.samples import DAYS, escape, escape_attr

ENVELOPE_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/ '
    'http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">\n'
)
_DAY_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SECOND_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
PREFIX_RE = re.compile(r"[A-Za-z0-9\-_.!~*'()]+")
SETSPEC_RE = re.compile(r"[A-Za-z0-9\-_.!~*'()]+(:[A-Za-z0-9\-_.!~*'()]+)*")
_VERB_ARGS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "Identify": (frozenset(), frozenset()),
    "ListMetadataFormats": (frozenset(), frozenset({"identifier"})),
    "ListSets": (frozenset(), frozenset({"resumptionToken"})),
    "GetRecord": (frozenset({"identifier", "metadataPrefix"}), frozenset()),
    "ListIdentifiers": (frozenset({"metadataPrefix"}), frozenset({"from", "until", "set"})),
    "ListRecords": (frozenset({"metadataPrefix"}), frozenset({"from", "until", "set"})),
}


@dataclass
class Request:
    """One HTTP request as the server saw it (also what a quirk receives).

    Attributes:
        params: each OAI argument's first value.
        multi: every value of every argument (repeated arguments are a badArgument).
        method: ``GET`` or ``POST``.
        path: the URL path without the query.
        headers: request headers.
        index: position of this request among those the server received (from 0).
    """

    params: dict[str, str]
    multi: dict[str, list[str]] = field(default_factory=dict)
    method: str = "GET"
    path: str = "/oai"
    headers: dict[str, str] = field(default_factory=dict)
    index: int = 0

    @classmethod
    def of(cls, **params: str) -> Request:
        """Build a GET request from keyword arguments (``from_`` stands for ``from``)."""
        clean = {k.rstrip("_"): v for k, v in params.items()}
        return cls(params=clean, multi={k: [v] for k, v in clean.items()})

    @property
    def verb(self) -> str | None:
        """The ``verb`` argument, if any."""
        return self.params.get("verb")


@dataclass
class Response:
    """An HTTP response: the normal one, or a canned one returned by a quirk.

    Attributes:
        status: HTTP status code.
        body: the bytes to send.
        headers: extra headers; a ``Content-Length`` here overrides the real length
            (a larger value makes the client see a truncated body).
        content_type: the ``Content-Type`` header, or ``None`` to send none.
        delay: seconds to wait before answering at all.
        stall: seconds to pause after sending ``stall_after`` bytes of the body.
        stall_after: how many body bytes to send before the pause.
        drop: close the connection without answering.
        oai_errors: OAI error codes in the body (set on normal responses).
    """

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = "text/xml; charset=utf-8"
    delay: float = 0.0
    stall: float = 0.0
    stall_after: int = 0
    drop: bool = False
    oai_errors: tuple[str, ...] = ()


class OAIError(Exception):
    """An OAI-PMH protocol error, rendered as ``<error code=...>``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def fail(code: str, message: str) -> NoReturn:
    """Raise ``OAIError`` (a one-liner for the protocol checks)."""
    raise OAIError(code, message)


def request_element(args: Mapping[str, str], base_url: str, bare: bool) -> str:
    """Render ``<request>``; ``bare`` leaves out the arguments (for badVerb, badArgument)."""
    attrs = "" if bare else "".join(f' {k}="{escape_attr(v)}"' for k, v in args.items())
    return f"<request{attrs}>{escape(base_url)}</request>\n"


def check_args(multi: Mapping[str, list[str]]) -> str:
    """Return the verb of a request whose arguments are legal, else raise ``OAIError``."""
    verbs = multi.get("verb", [])
    if len(verbs) != 1 or verbs[0] not in _VERB_ARGS:
        fail("badVerb", "Missing, repeated or illegal verb.")
    verb = verbs[0]
    required, optional = _VERB_ARGS[verb]
    given = set(multi) - {"verb"}
    repeated = sorted(k for k, v in multi.items() if len(v) != 1)
    if repeated:
        fail("badArgument", f"Repeated argument: {', '.join(repeated)}.")
    if verb.startswith("List") and "resumptionToken" in given:
        if given != {"resumptionToken"}:
            fail("badArgument", "resumptionToken is an exclusive argument.")
        return verb
    illegal = sorted(given - required - optional)
    if illegal:
        fail("badArgument", f"Illegal argument for {verb}: {', '.join(illegal)}.")
    missing = sorted(required - given)
    if missing:
        fail("badArgument", f"Missing argument for {verb}: {', '.join(missing)}.")
    return verb


def parse_bound(value: str, granularity: str, *, upper: bool) -> tuple[int, str]:
    """Return a ``from``/``until`` value as epoch seconds and ``seconds`` or ``day``.

    A day as ``until`` (``upper``) stands for its last second.
    """
    if _SECOND_RE.fullmatch(value):
        if granularity == DAYS:
            fail("badArgument", "This repository supports day granularity only.")
        fmt, kind = "%Y-%m-%dT%H:%M:%SZ", "seconds"
    elif _DAY_RE.fullmatch(value):
        fmt, kind = "%Y-%m-%d", "day"
    else:
        fail("badArgument", f"Not a valid datestamp: {value!r}.")
    try:
        moment = datetime.strptime(value, fmt).replace(tzinfo=UTC)
    except ValueError:
        fail("badArgument", f"Not a valid datestamp: {value!r}.")
    ts = int(moment.timestamp())
    return (ts + 86399 if kind == "day" and upper else ts), kind
