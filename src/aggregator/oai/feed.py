"""The network's OAI-PMH feed: the six verbs answered from the store."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine

from aggregator.config import Settings
from aggregator.errors import OAIRequestError
from aggregator.normalize.vocab import TYPES
from aggregator.oai import naming
from aggregator.oai.formats import (
    BY_PREFIX,
    MARC21,
    OAI_DC,
    ORIGINALS,
    MetadataFormat,
    format_of_namespace,
    root_namespace,
)
from aggregator.oai.protocol import (
    ENVELOPE_TAIL,
    SETSPEC_RE,
    check_args,
    check_prefix,
    check_range,
    envelope_head,
    error_xml,
    escape,
    fail,
    format_datestamp,
    parse_bound,
    request_element,
)
from aggregator.oai.readahead import ReadAhead, Rendered
from aggregator.oai.render import RecordWriter
from aggregator.oai.tokens import TokenCodec, load_secret
from aggregator.store import feed as store
from aggregator.store.db import connect, reader
from aggregator.store.models import utcnow

__all__ = ["Answer", "Feed"]

CATALOGUE_SECONDS = 30.0  # members, sources and their formats: read at most this often
POLITE_EVERY = 25  # records a page made ahead writes between two yields to other threads
PAGES_FOLDER = "oai-pages"  # under data_dir: list pages made ahead (see readahead.py)
_DC_SET = (
    '<setDescription><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/oai_dc/ '
    'http://www.openarchives.org/OAI/2.0/oai_dc.xsd">')


@dataclass(frozen=True, slots=True)
class Answer:
    """A response: its head (declaration, responseDate, request), the rest in pieces
    (written as they come) or already rendered (a page made ahead), its OAI errors."""

    head: str
    body: Iterable[str] = ()
    errors: tuple[str, ...] = ()
    ready: Rendered | None = None


@dataclass(frozen=True, slots=True)
class _Catalogue:
    """The members and sources the feed names, read together."""

    members: dict[str, store.FeedMember]
    sources: dict[int, store.FeedSource]
    namespaces: dict[int, str]
    read_at: float


class Feed:
    """Answers OAI-PMH requests for the whole network from the store.

    Every response's ``responseDate`` comes from the store's change clock (see
    :func:`aggregator.store.feed.stamp`), so a harvester that sends it back as ``from``
    never misses a change; lists page on ``change_seq`` with stateless signed tokens.
    """

    def __init__(self, settings: Settings, engine: Engine) -> None:
        """Prepare the feed (reads or creates the token secret; opens nothing else)."""
        self._settings = settings
        self._writer = engine
        self._reader = reader(engine)
        self._codec = TokenCodec(load_secret(settings))
        self._lock = threading.Lock()
        self._catalogue: _Catalogue | None = None
        self._ahead = ReadAhead(Path(settings.data_dir) / PAGES_FOLDER, self._made_ahead)
        self.base_url = settings.public_root + "/oai"

    # -- the request ---------------------------------------------------------------

    def answer(self, multi: Mapping[str, Sequence[str]]) -> Answer:
        """Answer one request's arguments (every value of every argument).

        OAI errors are answers too; only a store failure raises.
        """
        args = {name: values[0] for name, values in multi.items() if values}
        when = utcnow()
        ready: Rendered | None = None
        body: Iterable[str] = ()
        try:
            verb = check_args(multi)
            if verb.startswith("List") and "resumptionToken" in args:
                token = args["resumptionToken"]
                state = self._codec.decode(token, when.timestamp())  # expired, altered?
                ready = self._ahead.take(verb, token)
                if ready is None:
                    page, issued = self._resume(verb, state, when)
                    body = [page]
                else:
                    issued = ready.next_token
                self._ahead.schedule(verb, issued)
            else:
                when, high = store.stamp(self._writer)
                body = self._dispatch(verb, args, when, high)
        except OAIRequestError as error:
            text = error_xml(error, args, self.base_url, format_datestamp(when))
            return Answer(text, errors=(error.code,))
        head = envelope_head(format_datestamp(when)) + request_element(
            args, self.base_url, echo=True)
        return Answer(head, body, ready=ready)

    def refuse(self, message: str) -> Answer:
        """A ``badArgument`` answer for a request that could not even be read."""
        error = OAIRequestError("badArgument", message)
        return Answer(error_xml(error, {}, self.base_url, format_datestamp(utcnow())),
                      errors=(error.code,))

    def _made_ahead(self, verb: str, token: str) -> tuple[str, str | None] | None:
        """The page a token asks for, made before it is asked for (``None``: an error)."""
        when = utcnow()
        try:
            return self._resume(verb, self._codec.decode(token, when.timestamp()), when,
                                polite=True)
        except OAIRequestError:
            return None

    def _dispatch(self, verb: str, args: Mapping[str, str], when: datetime,
                  high: int) -> Iterable[str]:
        if verb.startswith("List") and verb != "ListSets" and verb != "ListMetadataFormats":
            return self._list(verb, args, when, high)
        if verb == "Identify":
            body = self._identify(when)
        elif verb == "ListMetadataFormats":
            body = self._metadata_formats(args.get("identifier"))
        elif verb == "ListSets":
            body = self._sets()
        else:
            body = self._get_record(args["identifier"], args["metadataPrefix"])
        return chain(body, [ENVELOPE_TAIL])

    # -- what the feed names: members, sources, formats ------------------------------

    def _read_catalogue(self, *, fresh: bool = False) -> _Catalogue:
        with self._lock:
            known = self._catalogue
            if known is not None and not fresh and (
                    time.monotonic() - known.read_at < CATALOGUE_SECONDS):
                return known
            with connect(self._reader) as conn:
                members = store.load_members(conn)
                heads = store.sample_heads(conn)
            namespaces = {sid: ns for sid, head in heads.items()
                          if (ns := root_namespace(head)) is not None}
            sources = {s.id: s for m in members for s in m.sources}
            for sid, source in sources.items():
                # No live record left to read it from (a removed member, everything
                # deleted): the prefix harvested, so its tombstones stay in that format.
                fmt = BY_PREFIX.get(source.metadata_prefix)
                if sid not in namespaces and fmt in ORIGINALS:
                    namespaces[sid] = fmt.namespace
            self._catalogue = _Catalogue({m.slug: m for m in members}, sources, namespaces,
                                         time.monotonic())
            return self._catalogue

    def _writer_for(self, rows: Sequence[store.FeedRow]) -> RecordWriter:
        catalogue = self._read_catalogue()
        if any(row.source_id not in catalogue.sources for row in rows):
            catalogue = self._read_catalogue(fresh=True)  # a source added since
        return RecordWriter(self._settings.repository_id, self._settings.public_root,
                            catalogue.sources, catalogue.namespaces)

    def _offered(self) -> list[MetadataFormat]:
        """The formats the feed offers: ours, and the originals some source gives."""
        present = {format_of_namespace(ns) for ns in self._read_catalogue().namespaces.values()}
        return [OAI_DC, MARC21, *(f for f in ORIGINALS if f in present)]

    def _format(self, prefix: str) -> MetadataFormat:
        fmt = BY_PREFIX.get(check_prefix(prefix))
        if fmt is None or fmt not in self._offered():
            fail("cannotDisseminateFormat", f"The feed does not offer {prefix!r}: see "
                                            "ListMetadataFormats.")
        return fmt

    # -- Identify, ListMetadataFormats, ListSets, GetRecord ---------------------------

    def _identify(self, when: datetime) -> Iterator[str]:
        settings = self._settings
        with connect(self._reader) as conn:
            earliest = store.earliest_change(conn) or when
        catalogue = self._read_catalogue()
        admin = settings.contact_email or f"postmaster@{urlsplit(self.base_url).hostname}"
        sample = naming.record_identifier(settings.repository_id,
                                          next(iter(catalogue.members), "member"), "1")
        parts = [
            f"<Identify><repositoryName>{escape(settings.network_name)}</repositoryName>",
            f"<baseURL>{escape(self.base_url)}</baseURL><protocolVersion>2.0</protocolVersion>",
            f"<adminEmail>{escape(admin)}</adminEmail>",
            f"<earliestDatestamp>{format_datestamp(min(earliest, when))}</earliestDatestamp>",
            "<deletedRecord>persistent</deletedRecord>",
            "<granularity>YYYY-MM-DDThh:mm:ssZ</granularity><compression>gzip</compression>",
            '<description><oai-identifier xmlns="http://www.openarchives.org/OAI/2.0/'
            'oai-identifier" xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/'
            'oai-identifier http://www.openarchives.org/OAI/2.0/oai-identifier.xsd">'
            f"<scheme>oai</scheme><repositoryIdentifier>{settings.repository_id}"
            "</repositoryIdentifier><delimiter>:</delimiter>"
            f"<sampleIdentifier>{escape(sample)}</sampleIdentifier></oai-identifier>"
            "</description>",
        ]
        friends = dict.fromkeys(
            source.base_url for member in catalogue.members.values()
            if member.status == "active" for source in member.sources
            if source.status == "active")
        if friends:
            parts.append(
                '<description><friends xmlns="http://www.openarchives.org/OAI/2.0/friends/" '
                'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/friends/ '
                'http://www.openarchives.org/OAI/2.0/friends.xsd">'
                + "".join(f"<baseURL>{escape(url)}</baseURL>" for url in friends)
                + "</friends></description>")
        if settings.network_logo:
            parts.append(
                '<description><branding xmlns="http://www.openarchives.org/OAI/2.0/branding/" '
                'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/branding/ '
                'http://www.openarchives.org/OAI/2.0/branding.xsd"><collectionIcon>'
                f"<url>{escape(settings.network_logo)}</url>"
                f"<link>{escape(settings.public_root)}/</link>"
                f"<title>{escape(settings.network_name)}</title></collectionIcon></branding>"
                "</description>")
        parts.append("</Identify>\n")
        return iter(["".join(parts)])

    def _lookup(self, identifier: str) -> store.FeedRow:
        parsed = naming.parse_identifier(self._settings.repository_id, identifier)
        slug = None if parsed is None else parsed[0].partition(".")[0]
        member = None if slug is None else self._read_catalogue().members.get(slug)
        source = None if member is None or parsed is None else next(
            (s for s in member.sources if s.label == parsed[0]), None)
        if parsed is None or source is None:
            fail("idDoesNotExist", f"No record of this feed has the identifier {identifier!r}.")
        with connect(self._reader) as conn:
            row = store.find(conn, [source.id], parsed[1])
        if row is None:
            fail("idDoesNotExist", f"No record of this feed has the identifier {identifier!r}.")
        return row

    def _metadata_formats(self, identifier: str | None) -> Iterator[str]:
        if identifier is not None:
            row = self._lookup(identifier)
            formats = self._writer_for([row]).formats_of(row)
        else:
            formats = self._offered()
        if not formats:  # every record has oai_dc: kept for the protocol's sake
            fail("noMetadataFormats", "This record has no metadata format.")
        rows = "".join(
            f"<metadataFormat><metadataPrefix>{f.prefix}</metadataPrefix><schema>{f.schema}"
            f"</schema><metadataNamespace>{f.namespace}</metadataNamespace></metadataFormat>"
            for f in formats)
        return iter([f"<ListMetadataFormats>{rows}</ListMetadataFormats>\n"])

    def _get_record(self, identifier: str, prefix: str) -> Iterator[str]:
        fmt = self._format(prefix)
        row = self._lookup(identifier)
        text = self._writer_for([row]).record(row, fmt)
        if text is None:
            fail("cannotDisseminateFormat", f"{identifier} is not available as {prefix!r}.")
        return iter([f"<GetRecord>{text}</GetRecord>\n"])

    def _sets(self) -> Iterator[str]:
        return self._set_list(self._read_catalogue())  # read now, written as it goes

    def _set_list(self, catalogue: _Catalogue) -> Iterator[str]:
        network = self._settings.network_name
        yield "<ListSets>"
        yield _set(naming.MEMBER, f"Members of {network}",
                   f"Every record of {network}, by the member holding it.")
        for member in catalogue.members.values():
            spec = f"{naming.MEMBER}:{member.slug}"
            place = ", ".join(p for p in (member.city, member.province) if p)
            about = f"Records held by {member.name}" + (f" ({place})" if place else "") + "."
            yield _set(spec, member.name, about, member.homepage)
            names: dict[str, str | None] = {}
            for source in member.sources:
                for own, name in source.set_names.items():
                    if name or own not in names:
                        names[own] = name
            for own in sorted(names):
                yield _set(f"{spec}:{naming.encode_spec(own)}", names[own] or own, None)
        yield _set(naming.TYPE, "Works by type", f"Every record of {network} with a known type.")
        for work_type in TYPES:
            yield _set(naming.type_spec(work_type), work_type,
                       f"Records of type {work_type} held by members of {network}.")
        yield "</ListSets>\n"

    # -- the lists -------------------------------------------------------------------

    def _selection(self, fmt: MetadataFormat, set_arg: str | None) -> store.Selection:
        catalogue = self._read_catalogue()
        sources: set[int] | None = None
        if fmt not in (OAI_DC, MARC21):
            sources = {sid for sid, ns in catalogue.namespaces.items()
                       if format_of_namespace(ns) is fmt}
        if set_arg is None:
            return store.Selection(None if sources is None else tuple(sorted(sources)))
        if not SETSPEC_RE.fullmatch(set_arg):
            fail("badArgument", f"Not a valid setSpec: {set_arg!r}.")
        wanted = naming.read_set(set_arg)
        if not wanted.known:
            fail("noRecordsMatch", f"The feed has no set {set_arg!r}: see ListSets.")
        if wanted.member is not None:
            member = catalogue.members.get(wanted.member)
            if member is None:
                fail("noRecordsMatch", f"The feed has no set {set_arg!r}: see ListSets.")
            own = {source.id for source in member.sources}
            sources = own if sources is None else sources & own
        return store.Selection(None if sources is None else tuple(sorted(sources)),
                               member_set=wanted.member_set, work_type=wanted.work_type)

    def _list(self, verb: str, args: Mapping[str, str], when: datetime,
              high: int) -> list[str]:
        # every argument's syntax first: a badArgument is answered without echoing them
        prefix = check_prefix(args["metadataPrefix"])
        start = parse_bound(args["from"], upper=False) if "from" in args else None
        end = parse_bound(args["until"], upper=True) if "until" in args else None
        check_range(start, end)
        if "set" in args and not SETSPEC_RE.fullmatch(args["set"]):
            fail("badArgument", f"Not a valid setSpec: {args['set']!r}.")
        fmt = self._format(prefix)
        selection = self._selection(fmt, args.get("set"))
        with connect(self._reader) as conn:
            after, upto = 0, high
            if start is not None:
                found = store.seq_from(conn, start.moment)
                after = high if found is None else found
            if end is not None:
                upto = min(upto, store.seq_until(conn, end.moment))
            total = store.count(conn, selection, after, upto) if after < upto else 0
        if not total:
            fail("noRecordsMatch", "No record matches the arguments.")
        state = {"v": verb, "p": fmt.prefix, "s": args.get("set"), "a": after, "u": upto,
                 "c": 0, "n": total}
        page, issued = self._page(verb, fmt, selection, state, when, resumed=False)
        self._ahead.schedule(verb, issued)
        return [page]

    def _resume(self, verb: str, state: dict[str, Any], when: datetime, *,
                polite: bool = False) -> tuple[str, str | None]:
        try:
            fmt = BY_PREFIX[state["p"]]
            if state["v"] != verb or not all(isinstance(state[k], int) and state[k] >= 0
                                             for k in "aucn"):
                raise ValueError(state)
            set_arg = state["s"]
            if set_arg is not None and not isinstance(set_arg, str):
                raise ValueError(state)
        except (KeyError, TypeError, ValueError):
            fail("badResumptionToken", f"This resumptionToken is not for {verb}.")
        return self._page(verb, fmt, self._selection(fmt, set_arg), state, when, resumed=True,
                          polite=polite)

    def _page(self, verb: str, fmt: MetadataFormat, selection: store.Selection,
              state: dict[str, Any], when: datetime, *, resumed: bool, polite: bool = False
              ) -> tuple[str, str | None]:
        """Read and write one page of a list (the response after its head); what comes
        after goes into the token, which is returned too.

        ``polite`` (a page made ahead, in a background thread) lets the other threads
        run after every ``POLITE_EVERY`` records: a thread sending a response would
        otherwise wait for the interpreter lock up to 5 ms at a time while this one
        writes XML. (Yielding after every record cost 80 µs a record on a busy machine:
        each yield may give the core away.)
        """
        size = self._settings.oai_page_size
        headers_only = verb == "ListIdentifiers"
        items: list[str] = []
        after, more = int(state["a"]), True
        while not items and more:  # records with no such format are passed over
            with connect(self._reader) as conn:
                rows = store.page(conn, selection, after, int(state["u"]), size + 1,
                                  fields=not headers_only, xml=not headers_only and (
                                      fmt is not OAI_DC))
            more = len(rows) > size
            rows = rows[:size]
            if rows:
                after = rows[-1].change_seq
            writer = self._writer_for(rows)
            for row in rows:
                if headers_only:
                    text = writer.header(row) if fmt in writer.formats_of(row) else None
                else:
                    text = writer.record(row, fmt)
                if text is not None:
                    items.append(text)
                if polite and len(items) % POLITE_EVERY == 0:
                    time.sleep(0)
        if not items:
            fail("noRecordsMatch", "No record matches the arguments (any more).")
        cursor, total = int(state["c"]), int(state["n"])
        token = None
        if more:
            expires = int(when.timestamp()) + self._settings.oai_token_hours * 3600
            token = self._codec.encode({**state, "a": after, "c": cursor + len(items),
                                        "x": expires})
            tail = (f'<resumptionToken expirationDate="{_epoch_datestamp(expires)}" '
                    f'completeListSize="{total}" cursor="{cursor}">{token}</resumptionToken>')
        elif resumed:
            tail = f'<resumptionToken completeListSize="{total}" cursor="{cursor}"/>'
        else:
            tail = ""
        items.append(f"{tail}</{verb}>\n{ENVELOPE_TAIL}")
        return f"<{verb}>\n" + "\n".join(items), token


def _epoch_datestamp(seconds: int) -> str:
    return format_datestamp(datetime.fromtimestamp(seconds, UTC))


def _set(spec: str, name: str, about: str | None, homepage: str | None = None) -> str:
    description = ""
    if about or homepage:
        description = (_DC_SET + (f"<dc:description>{escape(about)}</dc:description>"
                                  if about else "")
                       + (f"<dc:identifier>{escape(homepage)}</dc:identifier>"
                          if homepage else "")
                       + "</oai_dc:dc></setDescription>")
    return (f"<set><setSpec>{spec}</setSpec><setName>{escape(name)}</setName>"
            f"{description}</set>\n")
