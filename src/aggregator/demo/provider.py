"""The demo OAI-PMH data provider: a repository's records, identity and protocol logic."""

from __future__ import annotations

import bisect
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from aggregator.demo.index import RecordIndex, View
from aggregator.demo.messages import Response
from aggregator.demo.samples import (
    MARCXML,
    OAI_DC,
    SECONDS,
    RecordList,
    SampleRecord,
    iso_seconds,
    stamp,
)
from aggregator.demo.tokens import DemoTokens, ListQuery
from aggregator.errors import OAIRequestError
from aggregator.oai.protocol import (
    ENVELOPE_TAIL,
    SETSPEC_RE,
    Bound,
    check_args,
    check_prefix,
    check_range,
    envelope_head,
    error_xml,
    escape,
    fail,
    parse_bound,
    request_element,
)

_SAMPLE_ID_RE = re.compile(
    r"oai:[a-zA-Z][a-zA-Z0-9\-]*(\.[a-zA-Z][a-zA-Z0-9\-]*)+:[a-zA-Z0-9\-_.!~*'();/?:@&=+$,%]+"
)


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
        self._tokens = DemoTokens()
        self._manual = 0
        self._index_of = RecordIndex()

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
            return self._index().by_id.get(identifier)

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
            for record in self._index().all.records:
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
            return [OAI_DC, MARCXML] if self._index().has_marc else [OAI_DC]

    def _index(self) -> RecordIndex:
        self._index_of.refresh(self._records, self._manual, self.deleted_record)
        return self._index_of

    def _view(self, prefix: str, set_spec: str | None) -> View:
        return self._index().view(prefix, set_spec)

    def _visible(self, identifier: str) -> SampleRecord | None:
        return self._index_of.visible(identifier, self.deleted_record)

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
        response_date = iso_seconds(int(now.timestamp()))
        try:
            verb = check_args(multi)
            with self.lock:
                body = self._dispatch(verb, args, base_url, now)
        except OAIRequestError as err:
            xml = error_xml(err, args, base_url, response_date)
            return Response(body=xml.encode(), oai_errors=(err.code,))
        head = envelope_head(response_date) + request_element(args, base_url, echo=True)
        return Response(body=head.encode() + body + ENVELOPE_TAIL.encode())

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
        if check_prefix(prefix) not in {f[0] for f in self.formats}:
            fail("cannotDisseminateFormat", f"Metadata format {prefix!r} is not supported.")
        return prefix

    def _identify(self, base_url: str) -> bytes:
        earliest = self.earliest_datestamp
        if earliest is None:
            stamps = self._index_of.all.stamps
            first = datetime.fromtimestamp(stamps[0] if stamps else 0, UTC)
            earliest = stamp(first, self.granularity)
        parts = [
            f"<Identify><repositoryName>{escape(self.name)}</repositoryName>",
            f"<baseURL>{escape(base_url)}</baseURL><protocolVersion>2.0</protocolVersion>",
            f"<adminEmail>{escape(self.admin_email)}</adminEmail>",
            f"<earliestDatestamp>{escape(earliest)}</earliestDatestamp>",
            f"<deletedRecord>{escape(self.deleted_record)}</deletedRecord>",
            f"<granularity>{escape(self.granularity)}</granularity>",
        ]
        if self.repository_identifier is not None:
            rid = escape(self.repository_identifier)
            records = self._index_of.all.records
            sample = records[0].identifier if records else ""
            if not _SAMPLE_ID_RE.fullmatch(sample):
                sample = f"oai:{self.repository_identifier}:1"
            parts.append(
                "<description><oai-identifier "
                'xmlns="http://www.openarchives.org/OAI/2.0/oai-identifier" '
                'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/oai-identifier '
                'http://www.openarchives.org/OAI/2.0/oai-identifier.xsd">'
                f"<scheme>oai</scheme><repositoryIdentifier>{rid}</repositoryIdentifier>"
                f"<delimiter>:</delimiter><sampleIdentifier>{escape(sample)}</sampleIdentifier>"
                "</oai-identifier></description>"
            )
        parts.append("</Identify>\n")
        return "".join(parts).encode()

    def _list_formats(self, identifier: str | None) -> bytes:
        formats = self.formats
        if identifier is not None:
            record = self._visible(identifier)
            if record is None:
                fail("idDoesNotExist", f"No record has the identifier {identifier!r}.")
            if record.marcxml is None:
                formats = [OAI_DC]
        rows = "".join(
            f"<metadataFormat><metadataPrefix>{p}</metadataPrefix><schema>{s}</schema>"
            f"<metadataNamespace>{n}</metadataNamespace></metadataFormat>"
            for p, s, n in formats
        )
        return f"<ListMetadataFormats>{rows}</ListMetadataFormats>\n".encode()

    def _all_sets(self) -> dict[str, str]:
        return {**self._index_of.found_sets(), **self.sets}

    def _list_sets(self, args: Mapping[str, str]) -> bytes:
        if "resumptionToken" in args:  # the protocol allows one; we never issue any
            fail("badResumptionToken", "ListSets is never split: this token was not issued.")
        sets = self._all_sets()
        if not sets:
            fail("noSetHierarchy", "This repository does not support sets.")
        rows = "".join(
            f"<set><setSpec>{escape(spec)}</setSpec><setName>{escape(name)}</setName></set>"
            for spec, name in sorted(sets.items())
        )
        return f"<ListSets>{rows}</ListSets>\n".encode()

    def _get_record(self, identifier: str, prefix: str) -> bytes:
        record = self._visible(identifier)
        if record is None:
            fail("idDoesNotExist", f"No record has the identifier {identifier!r}.")
        if prefix == "marcxml" and record.marcxml is None:
            fail("cannotDisseminateFormat", f"{identifier} is not available as {prefix}.")
        return b"<GetRecord>" + record.record_xml(self.granularity, prefix) + b"</GetRecord>\n"

    # -- lists and tokens ------------------------------------------------------------

    def _list(self, verb: str, args: Mapping[str, str], now: datetime) -> bytes:
        token = args.get("resumptionToken")
        query = (
            self._tokens.decode(token, verb, self._generation, now)
            if token
            else self._new_query(verb, args, now)
        )
        view = self._view(query.prefix, query.set_spec)
        low = 0 if query.start is None else bisect.bisect_left(view.stamps, query.start)
        high = bisect.bisect_right(view.stamps, query.until)
        first = low if query.last is None else max(low, bisect.bisect_right(view.keys, query.last))
        if first >= high:
            fail("noRecordsMatch", "No records match the arguments.")
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
            value, expiry = self._tokens.encode(query, self._generation, self.token_lifetime,
                                                now)
            expires = "" if expiry is None else f' expirationDate="{iso_seconds(expiry)}"'
            tail = (
                f'<resumptionToken{expires} completeListSize="{size}" cursor="{cursor}">'
                f"{value}</resumptionToken>\n"
            ).encode()
        elif query.resumed and self.last_page_token == "empty":
            tail = f'<resumptionToken completeListSize="{size}" cursor="{cursor}"/>\n'.encode()
        name = verb.encode()
        return b"".join([b"<", name, b">\n", *items, tail, b"</", name, b">\n"])

    def _new_query(self, verb: str, args: Mapping[str, str], now: datetime) -> ListQuery:
        prefix = self._check_prefix(args["metadataPrefix"])
        bounds: dict[str, Bound] = {
            name: parse_bound(args[name], upper=name == "until", granularity=self.granularity)
            for name in ("from", "until") if name in args}
        check_range(bounds.get("from"), bounds.get("until"))
        # whole seconds: a day as `until` ends at its last second
        start = int(bounds["from"].moment.timestamp()) if "from" in bounds else None
        until = int(bounds["until"].moment.timestamp() if "until" in bounds
                    else now.timestamp())
        set_spec = args.get("set")
        if set_spec is not None:
            if not self._all_sets():
                fail("noSetHierarchy", "This repository does not support sets.")
            if not SETSPEC_RE.fullmatch(set_spec):
                fail("badArgument", f"Not a valid setSpec: {set_spec!r}.")
        return ListQuery(verb, prefix, set_spec, start, until)
