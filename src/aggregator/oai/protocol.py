"""OAI-PMH 2.0's rules, shared by every provider we run: verbs and their arguments,
datestamps, errors, escaping and the response envelope."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, NoReturn

from aggregator.errors import OAIRequestError

__all__ = [
    "DAYS",
    "ENVELOPE_TAIL",
    "ERROR_CODES",
    "OAI_NS",
    "PREFIX_RE",
    "SECONDS",
    "SETSPEC_RE",
    "Bound",
    "check_args",
    "check_prefix",
    "check_range",
    "envelope_head",
    "error_xml",
    "escape",
    "escape_attr",
    "fail",
    "format_datestamp",
    "parse_bound",
    "request_element",
]

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
SECONDS = "YYYY-MM-DDThh:mm:ssZ"
DAYS = "YYYY-MM-DD"
ERROR_CODES = frozenset({
    "badArgument", "badResumptionToken", "badVerb", "cannotDisseminateFormat",
    "idDoesNotExist", "noRecordsMatch", "noMetadataFormats", "noSetHierarchy"})
# The schema's metadataPrefixType and setSpecType patterns.
PREFIX_RE = re.compile(r"[A-Za-z0-9\-_.!~*'()]+")
SETSPEC_RE = re.compile(r"[A-Za-z0-9\-_.!~*'()]+(:[A-Za-z0-9\-_.!~*'()]+)*")
# Characters XML 1.0 cannot carry at all, not even as character references.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_DAY_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SECOND_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")

# verb → (required arguments, optional arguments); resumptionToken is handled apart.
_VERB_ARGS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "Identify": (frozenset(), frozenset()),
    "ListMetadataFormats": (frozenset(), frozenset({"identifier"})),
    "ListSets": (frozenset(), frozenset()),
    "GetRecord": (frozenset({"identifier", "metadataPrefix"}), frozenset()),
    "ListIdentifiers": (frozenset({"metadataPrefix"}), frozenset({"from", "until", "set"})),
    "ListRecords": (frozenset({"metadataPrefix"}), frozenset({"from", "until", "set"})),
}
_RESUMABLE = frozenset({"ListIdentifiers", "ListRecords", "ListSets"})
_ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<OAI-PMH xmlns="{OAI_NS}" xmlns:xsi="{XSI_NS}" '
    f'xsi:schemaLocation="{OAI_NS} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">\n'
)
ENVELOPE_TAIL = "</OAI-PMH>\n"
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTR_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
                               "\r": "&#13;", "\n": "&#10;", "\t": "&#9;"})


def fail(code: str, message: str) -> NoReturn:
    """Raise :class:`OAIRequestError` (a one-liner for the protocol's checks)."""
    raise OAIRequestError(code, message)


def escape(text: str) -> str:
    """Text as XML character content: markup escaped, characters XML cannot carry
    dropped (harvested text may hold them)."""
    if _NOT_XML.search(text):
        text = _NOT_XML.sub("", text)
    return text.translate(_ESCAPES)


def escape_attr(text: str) -> str:
    """Text as a double-quoted attribute value (whitespace kept as references)."""
    if _NOT_XML.search(text):
        text = _NOT_XML.sub("", text)
    return text.translate(_ATTR_ESCAPES)


def check_args(multi: Mapping[str, Sequence[str]]) -> str:
    """Check a request's arguments against its verb before anything else reads them.

    Args:
        multi: every argument name with all of its values, as received.

    Returns:
        The verb.

    Raises:
        OAIRequestError: ``badVerb`` for a missing, repeated or unknown verb;
            ``badArgument`` for repeated, illegal, missing or unreadable arguments, or a
            ``resumptionToken`` that is not alone.
    """
    verbs = multi.get("verb", ())
    if len(verbs) != 1 or verbs[0] not in _VERB_ARGS:
        if len(verbs) > 1:
            fail("badVerb", "The verb argument is repeated.")
        fail("badVerb", "The verb is missing or is not an OAI-PMH verb.")
    verb = verbs[0]
    repeated = sorted(name for name, values in multi.items() if len(values) != 1)
    if repeated:
        fail("badArgument", f"Repeated argument: {', '.join(repeated)}.")
    given = set(multi) - {"verb"}
    for name in sorted(given):
        if _NOT_XML.search(multi[name][0]):
            fail("badArgument", f"The {name} argument holds characters XML cannot carry.")
    if "resumptionToken" in given and verb in _RESUMABLE:
        if given != {"resumptionToken"}:
            fail("badArgument", "resumptionToken is an exclusive argument.")
        return verb
    required, optional = _VERB_ARGS[verb]
    illegal = sorted(given - required - optional)
    if illegal:
        fail("badArgument", f"Illegal argument for {verb}: {', '.join(illegal)}.")
    missing = sorted(required - given)
    if missing:
        fail("badArgument", f"Missing argument for {verb}: {', '.join(missing)}.")
    return verb


def check_prefix(prefix: str) -> str:
    """Return a metadataPrefix of legal characters, else raise ``badArgument``."""
    if not PREFIX_RE.fullmatch(prefix):
        fail("badArgument", "The metadataPrefix has characters a prefix cannot have.")
    return prefix


@dataclass(frozen=True, slots=True)
class Bound:
    """A ``from`` or ``until`` argument read.

    Attributes:
        moment: the first instant it covers (``from``), or the last (``until``: a day
            stands for its last microsecond), in UTC.
        granularity: ``day`` or ``seconds``, as written.
    """

    moment: datetime
    granularity: Literal["day", "seconds"]


def parse_bound(value: str, *, upper: bool, granularity: str = SECONDS) -> Bound:
    """Read a ``from`` (``upper`` false) or ``until`` value.

    Args:
        value: the argument as received.
        upper: read it as ``until``, the inclusive end of the range.
        granularity: the repository's (``SECONDS`` accepts both forms, ``DAYS`` days only).

    Raises:
        OAIRequestError: ``badArgument`` for anything but a valid ``YYYY-MM-DD`` or
            ``YYYY-MM-DDThh:mm:ssZ``, or seconds asked of a day-granularity repository.
    """
    kind: Literal["day", "seconds"]
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
    if upper:
        step = timedelta(days=1) if kind == "day" else timedelta(seconds=1)
        try:
            moment = moment + step - timedelta(microseconds=1)
        except OverflowError:
            moment = datetime.max.replace(tzinfo=UTC)
    return Bound(moment, kind)


def check_range(start: Bound | None, end: Bound | None) -> None:
    """Refuse ``from`` and ``until`` of different granularities, or ``from`` after
    ``until`` (``badArgument``)."""
    if start is None or end is None:
        return
    if start.granularity != end.granularity:
        fail("badArgument", "from and until must have the same granularity.")
    if start.moment > end.moment:
        fail("badArgument", "from is later than until.")


def format_datestamp(moment: datetime, granularity: str = SECONDS) -> str:
    """An instant as an OAI datestamp (UTC) at the repository's granularity."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    text = moment.isoformat(timespec="seconds")  # several times faster than strftime
    return text[:10] if granularity == DAYS else text[:19] + "Z"


def envelope_head(response_date: str) -> str:
    """The XML declaration, the ``OAI-PMH`` start tag and ``responseDate``."""
    return f"{_ENVELOPE}<responseDate>{response_date}</responseDate>\n"


def request_element(args: Mapping[str, str], base_url: str, *, echo: bool) -> str:
    """``<request>`` with the base URL, echoing the arguments only when ``echo``
    (never for ``badVerb`` and ``badArgument``, as the protocol says)."""
    attrs = "".join(f' {name}="{escape_attr(value)}"' for name, value in args.items()
                    ) if echo else ""
    return f"<request{attrs}>{escape(base_url)}</request>\n"


def error_xml(error: OAIRequestError, args: Mapping[str, str], base_url: str,
              response_date: str) -> str:
    """A whole response carrying one OAI error."""
    echo = error.code not in ("badVerb", "badArgument")
    return (envelope_head(response_date) + request_element(args, base_url, echo=echo)
            + f'<error code="{error.code}">{escape(error.message)}</error>\n'
            + ENVELOPE_TAIL)
