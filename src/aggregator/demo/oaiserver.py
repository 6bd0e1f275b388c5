"""A small but correct OAI-PMH 2.0 data provider, served over HTTP from a background thread."""

from __future__ import annotations

import base64
import bisect
import json
import logging
import re
import socket
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, NoReturn, Self, SupportsIndex

logger = logging.getLogger(__name__)

SECONDS = "YYYY-MM-DDThh:mm:ssZ"
DAYS = "YYYY-MM-DD"

OAI_DC = (
    "oai_dc",
    "http://www.openarchives.org/OAI/2.0/oai_dc.xsd",
    "http://www.openarchives.org/OAI/2.0/oai_dc/",
)
MARCXML = (
    "marcxml",
    "http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd",
    "http://www.loc.gov/MARC21/slim",
)
_DC_NAMES = (
    "title creator subject description publisher contributor date type format identifier "
    "source language relation coverage rights"
)
DC_ELEMENTS = frozenset(_DC_NAMES.split())
_DC_TAGS = {name: (f"<dc:{name}>", f"</dc:{name}>") for name in DC_ELEMENTS}

_ENVELOPE_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/ '
    'http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">\n'
)
_DC_OPEN = (
    '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/oai_dc/ '
    'http://www.openarchives.org/OAI/2.0/oai_dc.xsd">'
)
# Three bytes that base64-encode to "+/+/": every token then needs URL-encoding.
_TOKEN_MAGIC = b"\xfb\xff\xbf"
_DAY_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SECOND_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_PREFIX_RE = re.compile(r"[A-Za-z0-9\-_.!~*'()]+")
_SETSPEC_RE = re.compile(r"[A-Za-z0-9\-_.!~*'()]+(:[A-Za-z0-9\-_.!~*'()]+)*")
_SAMPLE_ID_RE = re.compile(
    r"oai:[a-zA-Z][a-zA-Z0-9\-]*(\.[a-zA-Z][a-zA-Z0-9\-]*)+:[a-zA-Z0-9\-_.!~*'();/?:@&=+$,%]+"
)
_VERB_ARGS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "Identify": (frozenset(), frozenset()),
    "ListMetadataFormats": (frozenset(), frozenset({"identifier"})),
    "ListSets": (frozenset(), frozenset({"resumptionToken"})),
    "GetRecord": (frozenset({"identifier", "metadataPrefix"}), frozenset()),
    "ListIdentifiers": (frozenset({"metadataPrefix"}), frozenset({"from", "until", "set"})),
    "ListRecords": (frozenset({"metadataPrefix"}), frozenset({"from", "until", "set"})),
}
_WATCHED_FIELDS = frozenset({"identifier", "datestamp", "deleted", "sets", "metadata", "marcxml"})
_edits = [0]  # bumped on every edit of any SampleRecord; invalidates repository indexes


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(text: str) -> str:
    return _esc(text).replace('"', "&quot;")


def _stamp(moment: datetime, granularity: str) -> str:
    # isoformat() is several times faster than strftime(), which matters on cold pages
    text = moment.isoformat(timespec="seconds")
    return text[:10] if granularity == DAYS else text[:19] + "Z"


def _iso(ts: int) -> str:
    return _stamp(datetime.fromtimestamp(ts, UTC), SECONDS)


@dataclass
class SampleRecord:
    """One record served by the demo provider.

    Assigning to a field invalidates the cached XML; mutate ``metadata`` in place only
    if you then call ``Repository.changed()``.

    Attributes:
        identifier: the OAI identifier.
        datestamp: last change, in UTC (a naive value is taken as UTC).
        deleted: served as ``<header status="deleted">`` without metadata.
        sets: setSpecs the record belongs to.
        metadata: Dublin Core element name to values (only the 15 DC elements are served).
        marcxml: a pre-rendered MARCXML ``record`` element for the ``marcxml`` prefix.
    """

    identifier: str
    datestamp: datetime
    deleted: bool = False
    sets: tuple[str, ...] = ()
    metadata: dict[str, list[str]] = field(default_factory=dict)
    marcxml: str | None = None
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "datestamp":
            value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        elif name == "sets":
            value = tuple(value)
        object.__setattr__(self, name, value)
        cache = self.__dict__.get("_cache")
        if cache is not None and name in _WATCHED_FIELDS:
            cache.clear()
            _edits[0] += 1

    @property
    def timestamp(self) -> int:
        """The datestamp as whole seconds since the epoch."""
        ts = self._cache.get("ts")
        if ts is None:
            ts = self._cache["ts"] = int(self.datestamp.timestamp())
        return int(ts)

    def header_xml(self, granularity: str) -> bytes:
        """Return the serialised ``<header>`` (cached until the record changes)."""
        key = "h" + granularity  # str keys: no new GC-tracked objects per record
        out: bytes | None = self._cache.get(key)
        if out is None:
            status = ' status="deleted"' if self.deleted else ""
            specs = "".join(f"<setSpec>{_esc(s)}</setSpec>" for s in self.sets)
            out = self._cache[key] = (
                f"<header{status}><identifier>{_esc(self.identifier)}</identifier>"
                f"<datestamp>{_stamp(self.datestamp, granularity)}</datestamp>{specs}</header>"
            ).encode()
        return out

    def record_xml(self, granularity: str, prefix: str) -> bytes:
        """Return the serialised ``<record>`` in a metadata format (cached)."""
        key = "r" + granularity + prefix
        out: bytes | None = self._cache.get(key)
        if out is None:
            body = b""
            if not self.deleted:
                payload = self.dc_xml() if prefix == "oai_dc" else _strip_decl(self.marcxml or "")
                body = b"<metadata>" + payload.encode() + b"</metadata>"
            out = self._cache[key] = (
                b"<record>" + self.header_xml(granularity) + body + b"</record>\n"
            )
        return out

    def dc_xml(self) -> str:
        """Return the ``oai_dc:dc`` element for the record's metadata."""
        parts = [_DC_OPEN]
        for name, values in self.metadata.items():
            tags = _DC_TAGS.get(name)
            if tags is None:
                continue
            for value in values:
                if "&" in value or "<" in value or ">" in value:
                    value = _esc(value)
                parts += (tags[0], value, tags[1])
        parts.append("</oai_dc:dc>")
        return "".join(parts)


def _strip_decl(xml: str) -> str:
    xml = xml.strip()
    if xml.startswith("<?xml"):
        xml = xml[xml.index("?>") + 2 :].lstrip()
    return xml


class RecordList(list[SampleRecord]):
    """A list of records that counts its own mutations so indexes know when to rebuild."""

    version = 0

    def _bump(self) -> None:
        self.version += 1

    def append(self, item: SampleRecord) -> None:
        super().append(item)
        self._bump()

    def extend(self, items: Iterable[SampleRecord]) -> None:
        super().extend(items)
        self._bump()

    def insert(self, index: SupportsIndex, item: SampleRecord) -> None:
        super().insert(index, item)
        self._bump()

    def remove(self, item: SampleRecord) -> None:
        super().remove(item)
        self._bump()

    def pop(self, index: SupportsIndex = -1) -> SampleRecord:
        self._bump()
        return super().pop(index)

    def clear(self) -> None:
        super().clear()
        self._bump()

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        self._bump()

    def __delitem__(self, key: Any) -> None:
        super().__delitem__(key)
        self._bump()

    def __iadd__(self, items: Iterable[SampleRecord]) -> Self:  # type: ignore[override,misc]
        self.extend(items)
        return self


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


def _fail(code: str, message: str) -> NoReturn:
    raise OAIError(code, message)


@dataclass
class _View:
    """Records of one (format, set) selection, sorted by (timestamp, identifier)."""

    keys: list[tuple[int, str]]
    stamps: list[int]
    records: list[SampleRecord]


@dataclass
class _Query:
    """The frozen state of one list request; what a resumption token carries."""

    verb: str
    prefix: str
    set_spec: str | None
    start: int | None
    until: int
    last: tuple[int, str] | None = None
    cursor: int = 0
    resumed: bool = False


class Repository:
    """The records and identity of one OAI-PMH repository, and the protocol logic over them.

    Everything that reads or changes ``records`` holds ``lock``; the sorted index and the
    per-set views are rebuilt only after the records changed.
    """

    def __init__(
        self,
        records: Iterable[SampleRecord] = (),
        *,
        name: str = "Demo OAI-PMH Repository",
        base_path: str = "/oai",
        granularity: str = SECONDS,
        earliest_datestamp: str | None = None,
        deleted_record: Literal["persistent", "transient", "no"] = "persistent",
        admin_email: str = "admin@example.org",
        repository_identifier: str | None = "demo.example.org",
        page_size: int = 100,
        sets: Mapping[str, str] | None = None,
        token_lifetime: float | None = 86400.0,
        last_page_token: Literal["empty", "absent"] = "empty",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """Create a repository.

        Args:
            records: the initial records.
            name: ``repositoryName``.
            base_path: URL path the server answers on.
            granularity: ``YYYY-MM-DDThh:mm:ssZ`` or ``YYYY-MM-DD``.
            earliest_datestamp: sent verbatim; ``None`` derives it from the records.
            deleted_record: ``persistent``, ``transient`` or ``no`` (deleted records are
                then hidden altogether).
            admin_email: ``adminEmail``.
            repository_identifier: for the ``oai-identifier`` description (none if ``None``).
            page_size: records or headers per list page.
            sets: setSpec to setName; specs found on records are listed too.
            token_lifetime: seconds a resumption token stays valid (``None``: forever).
            last_page_token: ``empty`` sends an empty token on the last page of a resumed
                list; ``absent`` sends none.
            clock: returns "now" (UTC); tests may freeze or advance it.
        """
        self.lock = threading.RLock()
        self.name = name
        self.base_path = base_path
        self.granularity = granularity
        self.earliest_datestamp = earliest_datestamp
        self.deleted_record = deleted_record
        self.admin_email = admin_email
        self.repository_identifier = repository_identifier
        self.page_size = page_size
        self.sets: dict[str, str] = dict(sets or {})
        self.token_lifetime = token_lifetime
        self.last_page_token = last_page_token
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self._records = RecordList(records)
        self._generation = 0
        self._manual = 0
        self._state: tuple[int, int, int, int, str] | None = None
        self._views: dict[tuple[str, str | None], _View] = {}
        self._by_id: dict[str, SampleRecord] = {}
        self._has_marc = False
        self._sets_found: dict[str, str] | None = None

    # -- records ---------------------------------------------------------------------

    @property
    def records(self) -> RecordList:
        """The records (a list; mutate it freely, under ``lock`` if a harvest is running)."""
        return self._records

    @records.setter
    def records(self, value: Iterable[SampleRecord]) -> None:
        with self.lock:
            self._records = RecordList(value)

    def add(self, *records: SampleRecord) -> None:
        """Add records (an identifier already present is replaced)."""
        with self.lock:
            self._records.extend(records)

    def get(self, identifier: str) -> SampleRecord | None:
        """Return the record with this identifier, deleted or not."""
        with self.lock:
            self._index()
            return self._by_id.get(identifier)

    def update(self, identifier: str, *, datestamp: datetime | None = None, **changes: Any) -> None:
        """Change fields of a record and move its datestamp to ``datestamp`` or now.

        Raises:
            KeyError: no record has this identifier.
        """
        with self.lock:
            record = self.get(identifier)
            if record is None:
                raise KeyError(identifier)
            for key, value in changes.items():
                setattr(record, key, value)
            record.datestamp = datestamp or self.clock()

    def delete(self, identifier: str, *, datestamp: datetime | None = None) -> None:
        """Mark a record deleted (a tombstone with a new datestamp)."""
        self.update(identifier, datestamp=datestamp, deleted=True)

    def remove(self, identifier: str) -> None:
        """Make a record vanish without a tombstone."""
        with self.lock:
            self._records[:] = [r for r in self._records if r.identifier != identifier]

    def changed(self) -> None:
        """Force a rebuild of the index (after mutating a record's metadata in place)."""
        with self.lock:
            self._manual += 1
            for record in self._records:
                record._cache.clear()

    def prerender(self, prefixes: Iterable[str] = ("oai_dc",)) -> None:
        """Serialise every record ahead of time so that even first harvests are fast."""
        with self.lock:
            self._index()
            for record in self._views[("*", None)].records:
                record.header_xml(self.granularity)
                for prefix in prefixes:
                    if prefix == "oai_dc" or record.marcxml is not None:
                        record.record_xml(self.granularity, prefix)

    def invalidate_tokens(self) -> None:
        """Make every resumption token issued so far a badResumptionToken."""
        with self.lock:
            self._generation += 1

    @property
    def formats(self) -> list[tuple[str, str, str]]:
        """Metadata formats as (prefix, schema, namespace): oai_dc, and marcxml when used."""
        with self.lock:
            self._index()
            return [OAI_DC, MARCXML] if self._has_marc else [OAI_DC]

    def _index(self) -> None:
        state = (
            id(self._records),
            self._records.version,
            _edits[0],
            self._manual,
            self.deleted_record,
        )
        if state == self._state:
            return
        latest: dict[str, SampleRecord] = {}
        for record in self._records:
            latest[record.identifier] = record
        self._by_id = latest
        visible = [r for r in latest.values() if not (r.deleted and self.deleted_record == "no")]
        visible.sort(key=lambda r: (r.timestamp, r.identifier))
        keys = [(r.timestamp, r.identifier) for r in visible]
        self._views = {("*", None): _View(keys, [k[0] for k in keys], visible)}
        self._has_marc = any(r.marcxml is not None for r in visible)
        self._sets_found = None
        self._state = state

    def _view(self, prefix: str, set_spec: str | None) -> _View:
        self._index()
        key = (prefix if prefix == "marcxml" else "*", set_spec)
        view = self._views.get(key)
        if view is None:
            base = self._views[("*", None)]
            below = set_spec + ":" if set_spec else ""
            picked = [
                i
                for i, r in enumerate(base.records)
                if (key[0] == "*" or r.marcxml is not None)
                and (set_spec is None or any(s == set_spec or s.startswith(below) for s in r.sets))
            ]
            view = _View(
                [base.keys[i] for i in picked],
                [base.stamps[i] for i in picked],
                [base.records[i] for i in picked],
            )
            self._views[key] = view
        return view

    def _visible(self, identifier: str) -> SampleRecord | None:
        record = self._by_id.get(identifier)
        if record is None or (record.deleted and self.deleted_record == "no"):
            return None
        return record

    # -- protocol --------------------------------------------------------------------

    def render(self, params: Mapping[str, str | Sequence[str]], base_url: str) -> bytes:
        """Return the normal response body for OAI arguments (a convenience for tests)."""
        return self.respond(params, base_url).body

    def respond(self, params: Mapping[str, str | Sequence[str]], base_url: str) -> Response:
        """Answer OAI arguments with a complete OAI-PMH response.

        Args:
            params: argument name to one value or a list of values.
            base_url: the URL the request was sent to (without query).

        Returns:
            An HTTP 200 response; ``oai_errors`` lists the error codes it carries.
        """
        multi = {k: [v] if isinstance(v, str) else list(v) for k, v in params.items()}
        args = {k: v[0] for k, v in multi.items() if v}
        now = self.clock()
        head = _ENVELOPE_HEAD + f"<responseDate>{_iso(int(now.timestamp()))}</responseDate>\n"
        try:
            verb = self._check_args(multi)
            with self.lock:
                body = self._dispatch(verb, args, base_url, now)
        except OAIError as err:
            bare = err.code in ("badVerb", "badArgument")
            xml = (
                head
                + self._request_element(args, base_url, bare)
                + f'<error code="{err.code}">{_esc(err.message)}</error>\n</OAI-PMH>\n'
            )
            return Response(body=xml.encode(), oai_errors=(err.code,))
        prefix = (head + self._request_element(args, base_url, False)).encode()
        return Response(body=prefix + body + b"</OAI-PMH>\n")

    @staticmethod
    def _request_element(args: Mapping[str, str], base_url: str, bare: bool) -> str:
        attrs = "" if bare else "".join(f' {k}="{_attr(v)}"' for k, v in args.items())
        return f"<request{attrs}>{_esc(base_url)}</request>\n"

    @staticmethod
    def _check_args(multi: Mapping[str, list[str]]) -> str:
        verbs = multi.get("verb", [])
        if len(verbs) != 1 or verbs[0] not in _VERB_ARGS:
            _fail("badVerb", "Missing, repeated or illegal verb.")
        verb = verbs[0]
        required, optional = _VERB_ARGS[verb]
        given = set(multi) - {"verb"}
        repeated = sorted(k for k, v in multi.items() if len(v) != 1)
        if repeated:
            _fail("badArgument", f"Repeated argument: {', '.join(repeated)}.")
        if verb.startswith("List") and "resumptionToken" in given:
            if given != {"resumptionToken"}:
                _fail("badArgument", "resumptionToken is an exclusive argument.")
            return verb
        illegal = sorted(given - required - optional)
        if illegal:
            _fail("badArgument", f"Illegal argument for {verb}: {', '.join(illegal)}.")
        missing = sorted(required - given)
        if missing:
            _fail("badArgument", f"Missing argument for {verb}: {', '.join(missing)}.")
        return verb

    def _dispatch(self, verb: str, args: dict[str, str], base_url: str, now: datetime) -> bytes:
        self._index()
        if verb == "Identify":
            return self._identify(base_url)
        if verb == "ListMetadataFormats":
            return self._list_formats(args.get("identifier"))
        if verb == "ListSets":
            return self._list_sets(args)
        if verb == "GetRecord":
            return self._get_record(args["identifier"], self._check_prefix(args["metadataPrefix"]))
        return self._list(verb, args, now)

    def _check_prefix(self, prefix: str) -> str:
        if not _PREFIX_RE.fullmatch(prefix):
            _fail("badArgument", "metadataPrefix has illegal characters.")
        if prefix not in {f[0] for f in self.formats}:
            _fail("cannotDisseminateFormat", f"Metadata format {prefix!r} is not supported.")
        return prefix

    def _identify(self, base_url: str) -> bytes:
        earliest = self.earliest_datestamp
        if earliest is None:
            stamps = self._views[("*", None)].stamps
            first = datetime.fromtimestamp(stamps[0] if stamps else 0, UTC)
            earliest = _stamp(first, self.granularity)
        parts = [
            f"<Identify><repositoryName>{_esc(self.name)}</repositoryName>",
            f"<baseURL>{_esc(base_url)}</baseURL><protocolVersion>2.0</protocolVersion>",
            f"<adminEmail>{_esc(self.admin_email)}</adminEmail>",
            f"<earliestDatestamp>{_esc(earliest)}</earliestDatestamp>",
            f"<deletedRecord>{_esc(self.deleted_record)}</deletedRecord>",
            f"<granularity>{_esc(self.granularity)}</granularity>",
        ]
        if self.repository_identifier is not None:
            rid = _esc(self.repository_identifier)
            records = self._views[("*", None)].records
            sample = records[0].identifier if records else ""
            if not _SAMPLE_ID_RE.fullmatch(sample):
                sample = f"oai:{self.repository_identifier}:1"
            parts.append(
                "<description><oai-identifier "
                'xmlns="http://www.openarchives.org/OAI/2.0/oai-identifier" '
                'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/oai-identifier '
                'http://www.openarchives.org/OAI/2.0/oai-identifier.xsd">'
                f"<scheme>oai</scheme><repositoryIdentifier>{rid}</repositoryIdentifier>"
                f"<delimiter>:</delimiter><sampleIdentifier>{_esc(sample)}</sampleIdentifier>"
                "</oai-identifier></description>"
            )
        parts.append("</Identify>\n")
        return "".join(parts).encode()

    def _list_formats(self, identifier: str | None) -> bytes:
        formats = self.formats
        if identifier is not None:
            record = self._visible(identifier)
            if record is None:
                _fail("idDoesNotExist", f"No record has the identifier {identifier!r}.")
            if record.marcxml is None:
                formats = [OAI_DC]
        rows = "".join(
            f"<metadataFormat><metadataPrefix>{p}</metadataPrefix><schema>{s}</schema>"
            f"<metadataNamespace>{n}</metadataNamespace></metadataFormat>"
            for p, s, n in formats
        )
        return f"<ListMetadataFormats>{rows}</ListMetadataFormats>\n".encode()

    def _all_sets(self) -> dict[str, str]:
        if self._sets_found is None:
            found: dict[str, str] = {}
            for record in self._views[("*", None)].records:
                for spec in record.sets:
                    pieces = spec.split(":")
                    for i in range(1, len(pieces) + 1):
                        found.setdefault(":".join(pieces[:i]), ":".join(pieces[:i]))
            self._sets_found = found
        return {**self._sets_found, **self.sets}

    def _list_sets(self, args: Mapping[str, str]) -> bytes:
        if "resumptionToken" in args:
            _fail("badResumptionToken", "ListSets is never split: this token was not issued.")
        sets = self._all_sets()
        if not sets:
            _fail("noSetHierarchy", "This repository does not support sets.")
        rows = "".join(
            f"<set><setSpec>{_esc(spec)}</setSpec><setName>{_esc(name)}</setName></set>"
            for spec, name in sorted(sets.items())
        )
        return f"<ListSets>{rows}</ListSets>\n".encode()

    def _get_record(self, identifier: str, prefix: str) -> bytes:
        record = self._visible(identifier)
        if record is None:
            _fail("idDoesNotExist", f"No record has the identifier {identifier!r}.")
        if prefix == "marcxml" and record.marcxml is None:
            _fail("cannotDisseminateFormat", f"{identifier} is not available as {prefix}.")
        return b"<GetRecord>" + record.record_xml(self.granularity, prefix) + b"</GetRecord>\n"

    # -- lists and tokens ------------------------------------------------------------

    def _list(self, verb: str, args: Mapping[str, str], now: datetime) -> bytes:
        token = args.get("resumptionToken")
        query = self._decode_token(token, verb, now) if token else self._new_query(verb, args, now)
        view = self._view(query.prefix, query.set_spec)
        low = 0 if query.start is None else bisect.bisect_left(view.stamps, query.start)
        high = bisect.bisect_right(view.stamps, query.until)
        first = low if query.last is None else max(low, bisect.bisect_right(view.keys, query.last))
        if first >= high:
            _fail("noRecordsMatch", "No records match the arguments.")
        end = min(first + self.page_size, high)
        chunk = view.records[first:end]
        if verb == "ListRecords":
            items = [r.record_xml(self.granularity, query.prefix) for r in chunk]
        else:
            items = [r.header_xml(self.granularity) + b"\n" for r in chunk]
        size, cursor = high - low, query.cursor
        tail = b""
        if end < high:
            query.last, query.cursor = view.keys[end - 1], cursor + end - first
            value, expiry = self._encode_token(query, now)
            expires = "" if expiry is None else f' expirationDate="{_iso(expiry)}"'
            tail = (
                f'<resumptionToken{expires} completeListSize="{size}" cursor="{cursor}">'
                f"{value}</resumptionToken>\n"
            ).encode()
        elif query.resumed and self.last_page_token == "empty":
            tail = f'<resumptionToken completeListSize="{size}" cursor="{cursor}"/>\n'.encode()
        name = verb.encode()
        return b"".join([b"<", name, b">\n", *items, tail, b"</", name, b">\n"])

    def _new_query(self, verb: str, args: Mapping[str, str], now: datetime) -> _Query:
        prefix = self._check_prefix(args["metadataPrefix"])
        bounds: dict[str, tuple[int, str]] = {}
        for name in ("from", "until"):
            if name in args:
                bounds[name] = self._parse_bound(args[name], upper=name == "until")
        if len({kind for _, kind in bounds.values()}) > 1:
            _fail("badArgument", "from and until must have the same granularity.")
        start = bounds["from"][0] if "from" in bounds else None
        until = bounds["until"][0] if "until" in bounds else int(now.timestamp())
        if start is not None and "until" in bounds and start > until:
            _fail("badArgument", "from is later than until.")
        set_spec = args.get("set")
        if set_spec is not None:
            if not self._all_sets():
                _fail("noSetHierarchy", "This repository does not support sets.")
            if not _SETSPEC_RE.fullmatch(set_spec):
                _fail("badArgument", f"Not a valid setSpec: {set_spec!r}.")
        return _Query(verb, prefix, set_spec, start, until)

    def _parse_bound(self, value: str, *, upper: bool) -> tuple[int, str]:
        if _SECOND_RE.fullmatch(value):
            if self.granularity == DAYS:
                _fail("badArgument", "This repository supports day granularity only.")
            fmt, kind = "%Y-%m-%dT%H:%M:%SZ", "seconds"
        elif _DAY_RE.fullmatch(value):
            fmt, kind = "%Y-%m-%d", "day"
        else:
            _fail("badArgument", f"Not a valid datestamp: {value!r}.")
        try:
            moment = datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            _fail("badArgument", f"Not a valid datestamp: {value!r}.")
        ts = int(moment.timestamp())
        return (ts + 86399 if kind == "day" and upper else ts), kind

    def _encode_token(self, query: _Query, now: datetime) -> tuple[str, int | None]:
        expiry = None
        if self.token_lifetime is not None:
            expiry = int(now.timestamp() + self.token_lifetime)
        state = {
            "v": query.verb,
            "p": query.prefix,
            "s": query.set_spec,
            "f": query.start,
            "u": query.until,
            "k": list(query.last or ()),
            "c": query.cursor,
            "g": self._generation,
            "x": expiry,
        }
        raw = _TOKEN_MAGIC + json.dumps(state, separators=(",", ":")).encode()
        if len(raw) % 3 == 0:
            raw += b" "  # leave a remainder so the token always ends with "=" padding
        return base64.b64encode(raw).decode("ascii"), expiry

    def _decode_token(self, token: str, verb: str, now: datetime) -> _Query:
        try:
            raw = base64.b64decode(token.encode("ascii"), validate=True)
            if not raw.startswith(_TOKEN_MAGIC):
                raise ValueError("not one of our tokens")
            data = json.loads(raw[len(_TOKEN_MAGIC) :])
            last = data["k"]
            query = _Query(
                verb=_typed(data["v"], str),
                prefix=_typed(data["p"], str),
                set_spec=_typed(data["s"], str, None),
                start=_typed(data["f"], int, None),
                until=_typed(data["u"], int),
                cursor=_typed(data["c"], int),
                last=(_typed(last[0], int), _typed(last[1], str)),
                resumed=True,
            )
            generation, expiry = _typed(data["g"], int), _typed(data["x"], int, None)
        except (ValueError, KeyError, TypeError, IndexError):
            _fail("badResumptionToken", "The resumptionToken is not valid.")
        if generation != self._generation or query.verb != verb:
            _fail("badResumptionToken", "The resumptionToken is no longer valid.")
        if expiry is not None and now.timestamp() > expiry:
            _fail("badResumptionToken", "The resumptionToken has expired.")
        return query


def _typed(value: Any, kind: type[Any], *alternatives: None) -> Any:
    if value is None and alternatives:
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TypeError(f"expected {kind.__name__}")
    return value


Quirk = Callable[[Request], Response | None]
Transform = Callable[[Request, bytes], bytes]


class OAIServer:
    """Serve a ``Repository`` over HTTP on a background thread.

    Attributes:
        repository: what is served.
        quirk: called with every request before normal handling; a ``Response`` it returns
            is sent as is, ``None`` lets the request through.
        transform: applied to the body of every normal response.
        error_status: HTTP status for responses carrying an OAI error (the spec says 200).
        requests: the OAI arguments (first values) of every request received, in order.
        received: every ``Request`` received, in order.
    """

    def __init__(
        self,
        repository: Repository,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        error_status: int = 200,
    ) -> None:
        """Prepare (but do not start) a server for ``repository`` on ``host:port``."""
        self.repository = repository
        self.host = host
        self.port = port
        self.error_status = error_status
        self.quirk: Quirk | None = None
        self.transform: Transform | None = None
        self.requests: list[dict[str, str]] = []
        self.received: list[Request] = []
        self._log_lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """The OAI base URL, e.g. ``http://127.0.0.1:40123/oai``."""
        return f"http://{self.host}:{self.port}{self.repository.base_path}"

    def start(self) -> Self:
        """Bind the port and start serving; returns the server itself."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = _HTTPServer((self.host, self.port), _Handler)
        httpd.oai = self
        self.port = int(httpd.server_address[1])
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"oai-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        logger.debug("demo OAI server listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        """Stop serving and release the port (stalled responses are cut short)."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def render(self, request: Request) -> bytes:
        """Return the normal body for a request, before ``transform``."""
        return self.repository.render(request.multi or request.params, self.base_url)

    def respond(self, request: Request) -> Response:
        """Return the normal response for a request (``transform`` and ``error_status`` applied)."""
        if request.path != self.repository.base_path:
            return Response(404, b"Not Found\n", content_type="text/plain; charset=utf-8")
        response = self.repository.respond(request.multi or request.params, self.base_url)
        if response.oai_errors:
            response.status = self.error_status
        if self.transform is not None:
            response.body = self.transform(request, response.body)
        return response

    def handle(self, request: Request) -> Response:
        """Log a request, give the quirk its chance, then answer normally."""
        with self._log_lock:
            request.index = len(self.received)
            self.received.append(request)
            self.requests.append(dict(request.params))
        if self.quirk is not None:
            canned = self.quirk(request)
            if canned is not None:
                return canned
        return self.respond(request)

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; return early (``True``) when the server is stopping."""
        return self._stopping.wait(seconds)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    oai: OAIServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in separate writes: without this, Nagle's algorithm and
    # the client's delayed ACK hold every small response back by about 40 ms
    disable_nagle_algorithm = True
    server: _HTTPServer

    def do_GET(self) -> None:
        self._serve(urllib.parse.urlsplit(self.path).query)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._serve(self.rfile.read(length).decode("utf-8", "replace"))

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("demo OAI server: " + format, *args)

    def _serve(self, query: str) -> None:
        multi = urllib.parse.parse_qs(query, keep_blank_values=True)
        request = Request(
            params={k: v[0] for k, v in multi.items()},
            multi=multi,
            method=self.command,
            path=urllib.parse.urlsplit(self.path).path,
            headers=dict(self.headers.items()),
        )
        oai = self.server.oai
        try:
            response = oai.handle(request)
        except Exception:
            logger.exception("demo OAI server failed on %s", self.path)
            response = Response(
                500, b"Internal Server Error\n", content_type="text/plain; charset=utf-8"
            )
        try:
            self._send(response, oai)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True

    def _send(self, response: Response, oai: OAIServer) -> None:
        if response.delay and oai.wait(response.delay):
            response = Response(drop=True)
        if response.drop:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(response.status)
        if response.content_type is not None:
            self.send_header("Content-Type", response.content_type)
        names = {name.lower() for name in response.headers}
        for name, value in response.headers.items():
            self.send_header(name, value)
        if "content-length" not in names:
            self.send_header("Content-Length", str(len(response.body)))
        if response.headers or response.stall:  # canned: do not reuse the connection
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        body = response.body
        if response.stall:
            self.wfile.write(body[: response.stall_after])
            self.wfile.flush()
            oai.wait(response.stall)
            body = body[response.stall_after :]
        self.wfile.write(body)
